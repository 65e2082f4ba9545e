/**
 * What slashing protection checks of a message, and the guards that may refuse it before its
 * record. The signing domain derives a SlashingCheck from each slashable message (signing/plan.ts)
 * and calls the guards; slashing imports nothing of signing, so the sign path runs one way.
 */
export type SlashingCheck =
  | { kind: "block"; slot: number }
  | { kind: "attestation"; sourceEpoch: number; targetEpoch: number };

/**
 * A refusal that is not the key's own history: the clock bound, the restart floor, the continuity
 * reservation. It runs after the chain check and before anything is recorded, and throws to refuse;
 * it returns a promise only when it must wait (e.g. to reserve a window in the continuity store),
 * so the common path costs no extra turn.
 */
export interface SignGuard {
  check(pubkey: string, check: SlashingCheck): void | Promise<void>;
}
