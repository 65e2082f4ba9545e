import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { deriveKeyPair, type KeyPair } from "../bls/keyPair.js";
import type { Platform } from "../tee/platform.js";
import { normalizePubkey } from "../util/hex.js";
import { settledInLots } from "../util/lots.js";
import { KeyError } from "./errors.js";
import type { KeyProvenance } from "../tee/statement.js";
import { decodeSealedKey, encodeSealedKey, provenanceMetadata, provenanceOf, type SealedKeyMetadata } from "./sealedFormat.js";
import { syncDir, writeSecretFile } from "../util/secretFile.js";

/** An unsealed key; the caller hands it to the KeyRegistry, which zeroes its secret. */
export interface SealedKey extends KeyPair {
  file: string;
  /** The derivation path of the keystore it was imported from, when that had one. */
  path?: string;
  /** From its sealed metadata: what the instance identity states about it. */
  provenance: KeyProvenance;
}

export interface SealedLoadResult {
  keys: SealedKey[];
  errors: { file: string; message: string }[];
}

const FILE_RE = /^(0x[0-9a-f]{96})\.sealed$/;
/** Hidden, so loadAll passes over it; sealed, so the host cannot choose the next value (only roll it back). */
const COUNTER_FILE = ".creation-counter";
const COUNTER_CONTEXT = "key-creation-counter/v1";
/** Files read at once while loading: enough to hide the round trips, far below any open-file limit. */
const READ_AHEAD = 64;

/** The sealing context binds a blob to its key: a blob copied to another key's file will not unseal. */
export const sealContext = (pubkey: string) => `bls-key:${pubkey}`;

/** The secret with its public key; KeyError INVALID_SECRET when it is no BLS secret key. */
export function keyPairOf(secretKey: Uint8Array): KeyPair {
  try {
    return deriveKeyPair(secretKey);
  } catch {
    throw new KeyError("INVALID_SECRET", "secret key is not a valid BLS12-381 secret key (zero or not below r)");
  }
}

/**
 * BLS keys at rest: one file `<dataDir>/keys/<pubkey>.sealed` per key, sealed by the platform,
 * written atomically with mode 0600. What is sealed is the secret and the key's metadata
 * (sealedFormat.ts), so the metadata is as tamper-proof as the key.
 */
export class SealedKeyStore {
  private constructor(
    private readonly platform: Platform,
    readonly dir: string,
  ) {}

  static async open(platform: Platform, dataDir: string): Promise<SealedKeyStore> {
    const dir = join(dataDir, "keys");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new SealedKeyStore(platform, dir);
  }

  private fileOf(pubkey: string): string {
    return join(this.dir, `${pubkey}.sealed`);
  }

  /** Seals and stores the key with its metadata, durably, before returning its canonical public key. */
  async save(secretKey: Uint8Array, metadata: SealedKeyMetadata = {}): Promise<string> {
    const { pubkey } = keyPairOf(secretKey);
    const plaintext = encodeSealedKey(secretKey, metadata);
    let blob: Uint8Array;
    try {
      blob = await this.platform.seal(plaintext, sealContext(pubkey));
    } finally {
      plaintext.fill(0);
    }
    await writeSecretFile(this.fileOf(pubkey), blob);
    return pubkey;
  }

  /**
   * Seals a new key with its origin and the next creation counter (written durably first, so no
   * two keys of this store get the same number unless the host rolls the counter file back).
   */
  async create(secretKey: Uint8Array, what: { path?: string; origin: KeyProvenance["origin"]; deposit?: KeyProvenance["deposit"] }): Promise<{ pubkey: string; provenance: KeyProvenance }> {
    const counter = (await this.readCounter()) + 1;
    const counterBytes = Buffer.alloc(8);
    counterBytes.writeBigUInt64BE(BigInt(counter));
    await writeSecretFile(join(this.dir, COUNTER_FILE), await this.platform.seal(counterBytes, COUNTER_CONTEXT));
    const provenance: KeyProvenance = { origin: what.origin, counter, ...(what.deposit && { deposit: what.deposit }) };
    const pubkey = await this.save(secretKey, { ...(what.path && { path: what.path }), ...provenanceMetadata(provenance) });
    return { pubkey, provenance };
  }

  private async readCounter(): Promise<number> {
    let blob: Buffer;
    try {
      blob = await readFile(join(this.dir, COUNTER_FILE));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw e;
    }
    let plain: Uint8Array;
    try {
      plain = await this.platform.unseal(new Uint8Array(blob), COUNTER_CONTEXT);
    } catch (e) {
      throw new KeyError("SEALED_FILE_INVALID", `${join(this.dir, COUNTER_FILE)}: cannot unseal: ${(e as Error).message}`);
    }
    if (plain.length !== 8) throw new KeyError("SEALED_FILE_INVALID", `${join(this.dir, COUNTER_FILE)}: not a creation counter`);
    return Number(Buffer.from(plain).readBigUInt64BE(0));
  }

  /** Removes the key's file durably; false when there was none. */
  async delete(pubkey: string): Promise<boolean> {
    const file = this.fileOf(normalizePubkey(pubkey));
    try {
      await rm(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
    await syncDir(this.dir);
    return true;
  }

  /** Public keys of the stored files (not unsealed, so not proof that each one loads). */
  async list(): Promise<string[]> {
    return (await readdir(this.dir))
      .map((name) => FILE_RE.exec(name)?.[1])
      .filter((p): p is string => p !== undefined)
      .sort();
  }

  /**
   * Unseals every key file. A file that is not a sealed key, fails to unseal (corrupted, tampered,
   * sealed elsewhere) or holds a secret that is not its name's key is reported and skipped whole.
   */
  async loadAll(): Promise<SealedLoadResult> {
    const result: SealedLoadResult = { keys: [], errors: [] };
    const names = (await readdir(this.dir)).filter((n) => !n.startsWith(".")).sort();
    // A read is several thread-pool round trips; one file after another, they were most of the
    // unsealing of 10,000 keys at start (190 of 380 µs per file). Unsealing stays in name order.
    // Only files named as keys are read: anything else is reported by name, whatever it holds.
    const reads = settledInLots(names, READ_AHEAD, (name) => (FILE_RE.test(name) ? readFile(join(this.dir, name)) : undefined));
    for await (const lot of reads) {
      for (const [name, content] of lot) {
        const file = join(this.dir, name);
        try {
          result.keys.push(await this.loadFile(name, file, content));
        } catch (e) {
          result.errors.push({ file, message: (e as Error).message });
        }
      }
    }
    return result;
  }

  private async loadFile(name: string, file: string, content: PromiseSettledResult<Buffer | undefined>): Promise<SealedKey> {
    const pubkey = FILE_RE.exec(name)?.[1];
    if (pubkey === undefined) {
      throw new KeyError("SEALED_FILE_INVALID", `${file}: not a sealed key file (expected <0x-pubkey>.sealed)`, {
        file,
      });
    }
    let plaintext: Uint8Array;
    let blob: Uint8Array;
    try {
      if (content.status === "rejected") throw content.reason;
      blob = new Uint8Array(content.value!);
      plaintext = await this.platform.unseal(blob, sealContext(pubkey));
    } catch (e) {
      throw new KeyError("SEALED_FILE_INVALID", `${file}: cannot unseal: ${(e as Error).message}`, { file });
    }
    let secretKey: Uint8Array;
    let metadata: SealedKeyMetadata;
    try {
      ({ secretKey, metadata } = decodeSealedKey(plaintext));
    } catch (e) {
      throw new KeyError("SEALED_FILE_INVALID", `${file}: unsealed, but ${(e as Error).message}`, { file });
    }
    let key: KeyPair;
    try {
      key = keyPairOf(secretKey);
    } catch (e) {
      secretKey.fill(0);
      throw new KeyError("SEALED_FILE_INVALID", `${file}: ${(e as Error).message}`, { file });
    }
    if (key.pubkey !== pubkey) {
      secretKey.fill(0);
      throw new KeyError("PUBKEY_MISMATCH", `${file}: unsealed secret belongs to ${key.pubkey}, not ${pubkey}`, { file });
    }
    // Sealed before the state master key existed: re-sealed under it, so that it survives upgrades too.
    if (this.platform.needsReseal?.(blob)) await this.save(secretKey, metadata);
    return { ...key, file, ...(metadata.path !== undefined && { path: metadata.path }), provenance: provenanceOf(metadata) };
  }
}
