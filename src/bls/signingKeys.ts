import type { KeyPair } from "./keyPair.js";

/**
 * The set of BLS keys the signer can use. Secret keys enter here as bytes and never come back out:
 * there is deliberately no accessor for them. Implemented by bls/pool.ts (worker threads).
 */
export interface SigningKeys {
  /**
   * Adds a key and returns its public key. Idempotent, also for adds of one key at once. The secret
   * is copied before add returns, so the caller may zero its bytes without waiting.
   */
  add(key: KeyPair): Promise<string>;
  /** Removes the key; false when it was not loaded. */
  remove(pubkey: string): Promise<boolean>;
  has(pubkey: string): boolean;
  /** Canonical hex public keys, in the order they were added. */
  pubkeys(): string[];
  /** Signs `message` (a 32-byte signing root) with the key of `pubkey`; 96-byte compressed signature. */
  sign(pubkey: string, message: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}
