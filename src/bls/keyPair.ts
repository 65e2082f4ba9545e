import { SecretKey } from "@chainsafe/blst";
import { InputError } from "../errors.js";
import { toHex } from "../util/hex.js";

declare const derived: unique symbol;

/**
 * A secret key with its public key, derived from it where the secret enters the signer (unsealing,
 * keystore decryption, key generation). Deriving costs a scalar multiplication, about a tenth of a
 * millisecond: done once per key there, not again by each layer it passes through (at start with
 * 10,000 keys the second derivation was about a second). The brand keeps a pubkey that was not
 * derived from its secret out of SigningKeys, which would sign under the wrong name.
 */
export interface KeyPair {
  readonly pubkey: string;
  /** 32-byte big-endian secret; whoever holds the pair wipes it once SigningKeys has it. */
  readonly secretKey: Uint8Array;
  readonly [derived]: true;
}

/** Derives the public key (canonical 0x-hex) of a 32-byte secret. */
export function deriveKeyPair(secretKey: Uint8Array): KeyPair {
  let pubkey: string;
  try {
    pubkey = toHex(SecretKey.fromBytes(secretKey).toPublicKey().toBytes());
  } catch {
    throw new InputError("INVALID_INPUT", "secret key is not a valid BLS12-381 secret key (zero or not below r)");
  }
  return derivedPair(pubkey, secretKey);
}

/**
 * A pair that deriveKeyPair made in another thread (keystore decryption), rebuilt after crossing
 * the thread boundary, which keeps its fields but not its type.
 */
export function derivedPair(pubkey: string, secretKey: Uint8Array): KeyPair {
  return { pubkey, secretKey } as KeyPair;
}
