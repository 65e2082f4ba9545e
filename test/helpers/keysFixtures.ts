import { deriveKeyPair, type KeyPair } from "../../src/bls/keyPair.js";
import { create } from "@chainsafe/bls-keystore";
import { SecretKey } from "@chainsafe/blst";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestKey extends KeyPair {
  pubkeyBytes: Uint8Array;
}

export function randomKey(): TestKey {
  const sk = SecretKey.fromKeygen(randomBytes(32));
  const pubkeyBytes = sk.toPublicKey().toBytes();
  return { ...deriveKeyPair(sk.toBytes()), pubkeyBytes };
}

/** An EIP-2335 keystore with deliberately cheap KDF parameters, so tests stay fast. */
export async function cheapKeystore(key: TestKey, password: string, kdf: "pbkdf2" | "scrypt" = "pbkdf2") {
  const salt = randomBytes(32).toString("hex");
  const kdfMod =
    kdf === "pbkdf2"
      ? { function: "pbkdf2" as const, params: { dklen: 32, c: 2, prf: "hmac-sha256" as const, salt } }
      : { function: "scrypt" as const, params: { dklen: 32, n: 16, r: 8, p: 1, salt } };
  return create(password, key.secretKey, key.pubkeyBytes, "m/12381/3600/0/0/0", null, kdfMod);
}

/**
 * An EIP-2335 keystore whose KDF takes about a second: staking-deposit-cli's pbkdf2 (c = 262144),
 * the costliest the signer takes by default, or `factor` times it.
 */
export async function costlyKeystore(key: TestKey, password: string, factor = 1) {
  const kdfMod = { function: "pbkdf2" as const, params: { dklen: 32, c: 262_144 * factor, prf: "hmac-sha256" as const, salt: randomBytes(32).toString("hex") } };
  return create(password, key.secretKey, key.pubkeyBytes, "m/12381/3600/0/0/0", null, kdfMod);
}

/** A fresh directory removed when the test `t` ends. */
export async function tempDir(t: { after(fn: () => Promise<void>): void }, prefix: string): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), `secure-signer-${prefix}-`));
  t.after(() => rm(path, { recursive: true, force: true }));
  return path;
}

export function vectorsUrl(rel: string): URL {
  return new URL(`../../../shared/vectors/${rel}`, import.meta.url);
}
