import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { KeyPair } from "../bls/keyPair.js";
import { KeyError, type KeyErrorCode } from "./errors.js";
import { decryptKeystores, type DecryptJob } from "./decryptPool.js";
import { parseKeystoreJson, type Keystore } from "./keystore.js";

/** A decrypted keystore; the caller hands it to the KeyRegistry or the sealed store, and zeroes its secret. */
export interface LoadedKeystore extends KeyPair {
  /** Path of the keystore file. */
  file: string;
  /** The keystore's derivation `path` ("" when the key was not derived from a seed). */
  path: string;
}

export interface KeystoreDirError {
  file: string;
  message: string;
  /** Why decryption refused the keystore; absent when it was not decrypted, or held a key already loaded. */
  code?: KeyErrorCode;
}

export interface KeystoreDirResult {
  keys: LoadedKeystore[];
  errors: KeystoreDirError[];
}

export interface LoadKeystoreDirOptions {
  /** A keystore whose KDF costs more than this many times the standard is refused undecrypted (parseKeystore). */
  maxKdfCost: number;
  /** Called after each keystore is decrypted or refused; `done` counts both. */
  onProgress?: (done: number, total: number, file: string) => void;
  /** Decryption threads; see DecryptOptions.workers. */
  workers?: number;
}

/** A keystore file of a Teku-layout directory with its password, parsed but not decrypted. */
export interface KeystoreDirEntry {
  file: string;
  text: string;
  keystore: Keystore;
  password: string;
}

/**
 * Reads a Teku-layout keystore directory: every `NAME.json` in `keystoresDir` with the content of
 * `NAME.txt` in `passwordsDir`, less one trailing line break (the one editors and `echo` add; any
 * other whitespace is part of the password). A file that cannot be read, is not an EIP-2335
 * keystore or has a KDF costlier than `maxKdfCost` allows is reported in `errors`.
 */
export async function readKeystoreDir(
  keystoresDir: string,
  passwordsDir: string,
  maxKdfCost: number,
): Promise<{ entries: KeystoreDirEntry[]; errors: KeystoreDirError[] }> {
  let names: string[];
  try {
    names = (await readdir(keystoresDir, { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith(".json") && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    throw new KeyError("IO_FAILED", `cannot read keystore directory ${keystoresDir}: ${(e as Error).message}`, {
      dir: keystoresDir,
    });
  }
  const entries: KeystoreDirEntry[] = [];
  const errors: KeystoreDirError[] = [];
  for (const name of names) {
    const file = join(keystoresDir, name);
    try {
      const text = await readFile(file, "utf8");
      const keystore = parseKeystoreJson(text, file, maxKdfCost);
      const password = await readPassword(join(passwordsDir, basename(name, ".json") + ".txt"), file);
      entries.push({ file, text, keystore, password });
    } catch (e) {
      errors.push({ file, message: (e as Error).message });
    }
  }
  return { entries, errors };
}

/**
 * Loads and decrypts a Teku-layout keystore directory (readKeystoreDir, then
 * decryptKeystoreEntries). Each keystore that cannot be loaded (unreadable, not JSON, not
 * EIP-2335, wrong or missing password, pubkey not matching the secret, a key already loaded from
 * another file) is reported in `errors` and skipped; it never stops the others.
 */
export async function loadKeystoreDir(
  keystoresDir: string,
  passwordsDir: string,
  options: LoadKeystoreDirOptions,
): Promise<KeystoreDirResult> {
  const { entries, errors } = await readKeystoreDir(keystoresDir, passwordsDir, options.maxKdfCost);
  const total = entries.length + errors.length;
  let done = 0;
  for (const { file } of errors) options.onProgress?.(++done, total, file);
  const decrypted = await decryptKeystoreEntries(entries, {
    workers: options.workers,
    onResult: (file) => options.onProgress?.(++done, total, file),
  });
  return { keys: decrypted.keys, errors: [...errors, ...decrypted.errors] };
}

export interface DecryptEntriesOptions {
  /** Decryption threads; see DecryptOptions.workers. */
  workers?: number;
  /** Called after each entry is decrypted or refused. */
  onResult?: (file: string) => void;
  /** Keys loaded from other files already (pubkey → file): an entry holding one is a duplicate. */
  loaded?: ReadonlyMap<string, string>;
}

/**
 * Decrypts entries of readKeystoreDir. Each that cannot be loaded (wrong password, pubkey not
 * matching the secret, a key already loaded from another file) is reported in `errors` and
 * skipped; it never stops the others. A reload decrypts only the entries it does not recognise.
 */
export async function decryptKeystoreEntries(
  entries: KeystoreDirEntry[],
  options: DecryptEntriesOptions = {},
): Promise<KeystoreDirResult> {
  const jobs: DecryptJob[] = entries.map(({ file, keystore, password }) => ({ keystore, password, source: file }));

  const results = await decryptKeystores(jobs, {
    workers: options.workers,
    onResult: (index) => options.onResult?.(jobs[index]!.source),
  });

  const keys: LoadedKeystore[] = [];
  const errors: KeystoreDirError[] = [];
  const seen = new Map(options.loaded);
  for (const [index, result] of results.entries()) {
    const file = jobs[index]!.source;
    if (!result.ok) {
      errors.push({ file, message: result.error.message, code: result.error.code });
      continue;
    }
    const { key } = result;
    const first = seen.get(key.pubkey);
    if (first !== undefined) {
      key.secretKey.fill(0);
      errors.push({ file, message: `${file}: key ${key.pubkey} is already loaded from ${first}` });
      continue;
    }
    seen.set(key.pubkey, file);
    keys.push({ ...key, file, path: jobs[index]!.keystore.path });
  }
  return { keys, errors };
}

async function readPassword(path: string, keystoreFile: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (e as Error).message;
    throw new KeyError("MISSING_PASSWORD", `${keystoreFile}: password file ${path} ${reason}`, {
      source: keystoreFile,
    });
  }
  return text.replace(/\r?\n$/, "");
}
