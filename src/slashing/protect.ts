import type { AttestationVote, BlockProposal, Recorded, SlashingProtectionStore } from "./store.js";

export type SlashableRequest = ({ kind: "block" } & BlockProposal) | ({ kind: "attestation" } & AttestationVote);

export interface ProtectedSignature {
  signature: Uint8Array;
  /** How long the request waited on the database: until decided, plus from the signature being ready until the record was durable. */
  dbMs: number;
}

/**
 * The sign path's one use of a store: decides `request`, computes the signature with `sign` only
 * once the decision is final, and hands it back only once the record is durable. A commit that
 * fails rejects and the signature is dropped, so no caller can release a signature early.
 */
export async function signProtected(
  store: SlashingProtectionStore,
  request: SlashableRequest,
  sign: () => Promise<Uint8Array>,
): Promise<ProtectedSignature> {
  const started = performance.now();
  const recorded: Recorded =
    request.kind === "block" ? await store.checkAndRecordBlock(request) : await store.checkAndRecordAttestation(request);
  const decidedMs = performance.now() - started;
  const signature = await sign();
  const asked = performance.now();
  await recorded.durable();
  return { signature, dbMs: decidedMs + performance.now() - asked };
}
