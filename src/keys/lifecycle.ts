import type { SigningKeys } from "../bls/signingKeys.js";
import type { DerivationPaths } from "./derivationPaths.js";
import { loadKeystoreDir, readKeystoreDir, type KeystoreDirError, type LoadKeystoreDirOptions } from "./keystoreDir.js";
import type { SealedKeyStore } from "./sealedStore.js";
import type { ImportRequest } from "./transport.js";
import { settledInLots } from "../util/lots.js";

/**
 * Key-lifecycle operations as plain functions, for the CLI (`keys import|list|delete|...`) and the
 * composition root. Each takes its collaborators as arguments; none prints or logs.
 */

export interface SealedImportResult {
  /** Newly sealed keys. */
  imported: string[];
  /** Keys that already had a sealed file (left as they were). */
  existing: string[];
  errors: KeystoreDirError[];
}

/** Decrypts a Teku-layout keystore directory and seals every key not already in the store. */
export async function importKeystoreDirToSealed(
  keystoresDir: string,
  passwordsDir: string,
  sealedStore: SealedKeyStore,
  options: LoadKeystoreDirOptions = {},
): Promise<SealedImportResult> {
  const loaded = await loadKeystoreDir(keystoresDir, passwordsDir, options);
  const present = new Set(await sealedStore.list());
  const result: SealedImportResult = { imported: [], existing: [], errors: loaded.errors };
  for (const key of loaded.keys) {
    try {
      if (present.has(key.pubkey)) result.existing.push(key.pubkey);
      else result.imported.push(await sealedStore.save(key.secretKey, { path: key.path }));
    } catch (e) {
      result.errors.push({ file: key.file, message: `${key.file}: cannot seal: ${(e as Error).message}` });
    } finally {
      key.secretKey.fill(0);
    }
  }
  return result;
}

/**
 * Unseals every stored key into `keys` (at start, or for the CLI's deposit-data and exit), and
 * their derivation paths into `paths` when given. Files that fail are reported and skipped; the
 * secrets are wiped once `keys` holds them.
 */
export async function loadSealedKeys(
  sealedStore: SealedKeyStore,
  keys: SigningKeys,
  paths?: DerivationPaths,
): Promise<{ pubkeys: string[]; errors: KeystoreDirError[] }> {
  const { keys: loaded, errors } = await sealedStore.loadAll();
  return { pubkeys: await addAll(keys, loaded, paths), errors };
}

/** Keys handed to the signing threads at once: one add at a time spent ~0.2 ms per key on round trips. */
const ADD_AHEAD = 64;

/**
 * Adds each secret to `keys` (and its derivation path to `paths`, when given), in order, and wipes
 * every secret, added or not. The first key that cannot be added fails the call; the keys before
 * it, and those added in the same lot, stay added with their paths.
 */
export async function addAll(
  keys: SigningKeys,
  loaded: Array<{ secretKey: Uint8Array; path?: string }>,
  paths?: DerivationPaths,
): Promise<string[]> {
  const pubkeys: string[] = [];
  try {
    for await (const lot of settledInLots(loaded, ADD_AHEAD, (key) => keys.add(key.secretKey))) {
      // Every key of the lot that was added signs, so it gets its path before a failure is thrown.
      for (const [key, added] of lot) if (added.status === "fulfilled") paths?.set(added.value, key.path);
      for (const [, added] of lot) {
        if (added.status === "rejected") throw added.reason;
        pubkeys.push(added.value);
      }
    }
  } finally {
    for (const key of loaded) key.secretKey.fill(0);
  }
  return pubkeys;
}

/**
 * Reads a keystore directory into a keymanager import request, for `keys encrypt-for-signer`
 * (which then calls encryptImportRequest). Keystores are validated but not decrypted: that
 * happens only inside the signer. `slashingProtection` is an EIP-3076 document as text.
 */
export async function importRequestFromDir(
  keystoresDir: string,
  passwordsDir: string,
  slashingProtection?: string,
): Promise<{ request: ImportRequest; files: string[]; errors: KeystoreDirError[] }> {
  const { entries, errors } = await readKeystoreDir(keystoresDir, passwordsDir);
  const request: ImportRequest = { keystores: [], passwords: [] };
  const files: string[] = [];
  for (const { file, text, password } of entries) {
    request.keystores.push(text);
    request.passwords.push(password);
    files.push(file);
  }
  if (slashingProtection !== undefined) request.slashing_protection = slashingProtection;
  return { request, files, errors };
}
