import { createHash } from "node:crypto";
import type { Exclusive } from "../util/exclusive.js";
import { serverWorkers } from "./decryptPool.js";
import type { KeyErrorCode } from "./errors.js";
import {
  decryptKeystoreEntries,
  readKeystoreDir,
  type KeystoreDirEntry,
  type KeystoreDirError,
  type LoadedKeystore,
} from "./keystoreDir.js";
import type { KeyRegistry } from "./registry.js";

export interface KeystoreDirKeysOptions {
  keystoresDir: string;
  passwordsDir: string;
  /** Where the directory's keys are installed, with the origin "keystore-dir". */
  registry: KeyRegistry;
  /** Shared with the keymanager, so that a reload's changes never interleave with an import or delete. */
  mutations: Exclusive;
  /** A keystore whose KDF costs more than this many times the standard is refused undecrypted (parseKeystore). */
  maxKdfCost: number;
}

/** What one scan of the directory changed, counted in keys (not files). */
export interface KeystoreDirReload {
  /** Keys the directory now provides that it did not before. */
  added: number;
  /** Keys it no longer provides; they stopped signing unless sealed in the data directory. */
  removed: number;
  unchanged: number;
  /**
   * Keystores decrypted by this scan (new, changed, or failing before for a reason that may pass);
   * the rest were recognised, as loaded or as refused.
   */
  decrypted: number;
  errors: KeystoreDirError[];
}

/** What recognises a loaded keystore file without decrypting it again. */
interface LoadedFile {
  pubkey: string;
  fingerprint: string;
}

/** What recognises a refused keystore file without decrypting it again, and the refusal it repeats. */
interface RefusedFile {
  fingerprint: string;
  error: KeystoreDirError;
}

/**
 * Refusals that the same keystore with the same password would get again: each follows from those
 * two alone once the KDF has run. The others are decrypted again: a crashed worker (DECRYPT_FAILED)
 * or a KDF that threw (INVALID_KEYSTORE, e.g. out of memory) may succeed next time, and a key
 * already loaded from another file (no code) must load from this one once that file goes.
 */
const LASTING: ReadonlySet<KeyErrorCode> = new Set<KeyErrorCode>(["WRONG_PASSWORD", "PUBKEY_MISMATCH", "INVALID_SECRET"]);

/**
 * Covers the password too, so that a changed password file is tried again, as a restart would. It
 * stays in this process's memory, which holds the secret keys themselves. The content, not mtime
 * and size: every scan reads both files anyway, so hashing them costs next to nothing beside one
 * KDF, while an mtime misses a rewrite within its granularity and one that restores it (cp -p,
 * rsync -t, tar), which would leave a fixed keystore refused or a replaced one signing.
 */
function fingerprintOf(entry: KeystoreDirEntry): string {
  return createHash("sha256").update(entry.text).update("\0").update(entry.password).digest("hex");
}

/**
 * The keys of `--keystores-dir`, kept in step with the directory: each reload() leaves the signer
 * with the directory keys a restart would load. Only keystores whose file or password changed (or
 * that appeared, or failed before for a reason that may pass) are decrypted, since each costs a
 * deliberately slow KDF; one refused for good is reported again as it was.
 * Reloads must not overlap (the composition root runs them through a Coalesced).
 */
export class KeystoreDirKeys {
  /** Keystore file → the key it holds, for every file whose key is loaded. */
  private loaded = new Map<string, LoadedFile>();
  /** Keystore file → its lasting refusal, for every file refused for one of the LASTING reasons. */
  private refused = new Map<string, RefusedFile>();
  private latestErrors: readonly KeystoreDirError[] = [];

  constructor(private readonly opts: KeystoreDirKeysOptions) {}

  /** Failures of the latest scan only: fixing a keystore and reloading clears its error. */
  get errors(): readonly KeystoreDirError[] {
    return this.latestErrors;
  }

  /**
   * Scans the directory and applies the difference. Throws when the directory cannot be read (the
   * keys then stay as they were) or a key cannot be added or removed; `errors` then holds that one
   * failure, and the next reload starts again from the keys loaded before.
   */
  async reload(onProgress?: (done: number, total: number) => void): Promise<KeystoreDirReload> {
    try {
      const result = await this.scan(onProgress);
      this.latestErrors = result.errors;
      return result;
    } catch (e) {
      this.latestErrors = [{ file: this.opts.keystoresDir, message: (e as Error).message }];
      throw e;
    }
  }

  /** `onProgress` counts the keystores this scan decrypts (new or changed files), as each finishes. */
  private async scan(onProgress?: (done: number, total: number) => void): Promise<KeystoreDirReload> {
    const { keystoresDir, passwordsDir } = this.opts;
    const read = await readKeystoreDir(keystoresDir, passwordsDir, this.opts.maxKdfCost);
    const next = new Map<string, LoadedFile>();
    const nextRefused = new Map<string, RefusedFile>();
    const stillRefused: KeystoreDirError[] = [];
    const fresh: KeystoreDirEntry[] = [];
    const fingerprints = new Map<string, string>();
    const recognised = new Map<string, string>();
    for (const entry of read.entries) {
      const fingerprint = fingerprintOf(entry);
      const before = this.loaded.get(entry.file);
      const refusedBefore = this.refused.get(entry.file);
      if (before?.fingerprint === fingerprint) {
        next.set(entry.file, before);
        recognised.set(before.pubkey, entry.file);
      } else if (refusedBefore?.fingerprint === fingerprint) {
        nextRefused.set(entry.file, refusedBefore);
        stillRefused.push(refusedBefore.error);
      } else {
        fresh.push(entry);
        fingerprints.set(entry.file, fingerprint);
      }
    }
    let done = 0;
    const decrypted = await decryptKeystoreEntries(fresh, {
      workers: serverWorkers(fresh.map((e) => e.keystore)),
      loaded: recognised,
      onResult: () => onProgress?.(++done, fresh.length),
    });
    try {
      for (const key of decrypted.keys) next.set(key.file, { pubkey: key.pubkey, fingerprint: fingerprints.get(key.file)! });
      for (const error of decrypted.errors) {
        if (error.code && LASTING.has(error.code)) nextRefused.set(error.file, { fingerprint: fingerprints.get(error.file)!, error });
      }
      const before = new Set([...this.loaded.values()].map((f) => f.pubkey));
      const after = new Set([...next.values()].map((f) => f.pubkey));
      const removed = [...before].filter((p) => !after.has(p));
      const added = decrypted.keys.filter((k) => !before.has(k.pubkey));
      await this.opts.mutations.run(() => this.apply(removed, added));
      this.loaded = next;
      this.refused = nextRefused;
      return {
        added: added.length,
        removed: removed.length,
        unchanged: after.size - added.length,
        decrypted: fresh.length,
        errors: [...read.errors, ...stillRefused, ...decrypted.errors],
      };
    } finally {
      for (const key of decrypted.keys) key.secretKey.fill(0);
    }
  }

  private async apply(removed: string[], added: LoadedKeystore[]): Promise<void> {
    // A removed key that is sealed as well (imported or generated) stays, as at the next start.
    await this.opts.registry.release(removed, "keystore-dir");
    await this.opts.registry.install(added, "keystore-dir");
  }
}
