import { loadKeystoreDir, readKeystoreDir, type KeystoreDirError, type LoadKeystoreDirOptions } from "./keystoreDir.js";
import type { SealedKeyStore } from "./sealedStore.js";
import type { ImportRequest } from "./transport.js";

/**
 * Key-lifecycle operations as plain functions, for the CLI (`keys import|encrypt-for-signer`).
 * Each takes its collaborators as arguments; none prints or logs.
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
  options: LoadKeystoreDirOptions,
): Promise<SealedImportResult> {
  const loaded = await loadKeystoreDir(keystoresDir, passwordsDir, options);
  const present = new Set(await sealedStore.list());
  const result: SealedImportResult = { imported: [], existing: [], errors: loaded.errors };
  for (const key of loaded.keys) {
    try {
      if (present.has(key.pubkey)) result.existing.push(key.pubkey);
      else result.imported.push((await sealedStore.create(key.secretKey, { ...(key.path && { path: key.path }), origin: "imported" })).pubkey);
    } catch (e) {
      result.errors.push({ file: key.file, message: `${key.file}: cannot seal: ${(e as Error).message}` });
    } finally {
      key.secretKey.fill(0);
    }
  }
  return result;
}

/**
 * Reads a keystore directory into a keymanager import request, for `keys encrypt-for-signer`
 * (which then calls encryptImportRequest). Keystores are validated, against the KDF bound the
 * signer is expected to apply, but not decrypted: that happens only inside the signer.
 * `slashingProtection` is an EIP-3076 document as text.
 */
export async function importRequestFromDir(
  keystoresDir: string,
  passwordsDir: string,
  maxKdfCost: number,
  slashingProtection?: string,
): Promise<{ request: ImportRequest; files: string[]; errors: KeystoreDirError[] }> {
  const { entries, errors } = await readKeystoreDir(keystoresDir, passwordsDir, maxKdfCost);
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
