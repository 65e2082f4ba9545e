/**
 * The slashing-protection storage contract. Every implementation (SQLite, PostgreSQL) makes the
 * EIP-3076 decision of rules.ts atomic per key and durable before any signature is released.
 *
 * Hex strings are canonical: lower-case and 0x-prefixed (util/hex.ts). Slots and epochs are
 * non-negative safe integers, validated at the API boundary.
 */

export interface BlockProposal {
  pubkey: string;
  genesisValidatorsRoot: string;
  slot: number;
  signingRoot: string;
}

export interface AttestationVote {
  pubkey: string;
  genesisValidatorsRoot: string;
  sourceEpoch: number;
  targetEpoch: number;
  signingRoot: string;
}

/**
 * What a successful check hands back. The decision is final once the check promise resolves (the
 * caller may start computing the signature), but the signature must not leave the process before
 * `durable` resolves: it rejects if the record could not be committed, and then the signature is
 * dropped. Backends that commit inside the check resolve `durable` immediately.
 */
export interface Recorded {
  durable: Promise<void>;
}

export interface SlashingProtectionStore {
  /** Rejects with SlashingError when the block is slashable or below the watermark. */
  checkAndRecordBlock(proposal: BlockProposal): Promise<Recorded>;
  /** Rejects with SlashingError when the vote is a double or surround vote or below the watermark. */
  checkAndRecordAttestation(vote: AttestationVote): Promise<Recorded>;
  close(): Promise<void>;
}
