import { SecretKey } from "@chainsafe/blst";
import { randomBytes } from "node:crypto";
import { InputError } from "../errors.js";
import type { KeyRegistry } from "./registry.js";
import { keyPairOf, type SealedKeyStore } from "./sealedStore.js";

/**
 * Keys generated inside are independent: 32 bytes of IKM from the OS CSPRNG through the BLS
 * KeyGen of the IETF BLS signature draft (HKDF-mod-r, as blst implements it).
 *
 * Why not EIP-2333 children of one sealed seed: a seed's only benefit is a mnemonic backup, and a
 * backup that can leave the enclave defeats keeping keys inside it; without one, the seed is just a
 * single secret whose compromise (one leaked sealed blob) yields every key, past and future. With
 * independent keys a leaked blob yields one key. Backup here means exporting a keystore, a decision
 * made per key.
 */
export function generateSecretKey(): Uint8Array {
  const ikm = randomBytes(32);
  try {
    return SecretKey.fromKeygen(ikm).toBytes();
  } finally {
    ikm.fill(0);
  }
}

export const MAX_KEYGEN_COUNT = 1000;

/**
 * Generates `count` keys; each is sealed (durably) before it is installed in `registry`, so a
 * key that could sign always survives a restart. Returns the public keys in generation order.
 * The secrets never leave this function.
 */
export async function generateKeys(
  count: number,
  deps: { sealedStore: SealedKeyStore; registry?: KeyRegistry },
): Promise<string[]> {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_KEYGEN_COUNT) {
    throw new InputError("INVALID_INPUT", `count must be an integer from 1 to ${MAX_KEYGEN_COUNT}, got ${count}`);
  }
  const pubkeys: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = keyPairOf(generateSecretKey());
    try {
      await deps.sealedStore.save(key.secretKey);
      await deps.registry?.install([key], "sealed");
      pubkeys.push(key.pubkey);
    } finally {
      key.secretKey.fill(0);
    }
  }
  return pubkeys;
}
