import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createSecretFile, readOrCreateSecretFile, writeSecretFile } from "../util/secretFile.js";
import { createSealer, type SealFormat, type Sealer } from "./aead.js";
import { TeeError } from "./errors.js";
import type { Platform } from "./platform.js";

/**
 * The state master key: 32 random bytes made inside the TEE on first start and sealed by the
 * platform, under which every other secret (BLS keys, the transport key) is sealed. The platform's
 * own key then protects one blob, so an upgrade, a TCB recovery or a move to another machine hands
 * over this one key (migration.ts) instead of re-sealing every file, and the Gramine encrypted
 * data mount can be keyed from it rather than from a seal key that changes with every build.
 */
export const STATE_SEAL_FORMAT: SealFormat = { magic: "SSMK", infoPrefix: "secure-signer/state-seal/v1/", platform: "state-key" };
export const MASTER_KEY_BYTES = 32;
const MASTER_CONTEXT = "state-master-key/v1";
/** Gramine's encrypted-files keys are 128-bit. */
const FS_KEY_BYTES = 16;
const utf8 = new TextEncoder();
const MAGIC = utf8.encode(STATE_SEAL_FORMAT.magic);

const underMasterKey = (blob: Uint8Array) => blob.length >= MAGIC.length && MAGIC.every((b, i) => blob[i] === b);

export interface StateKey {
  /** The platform with sealing moved under the master key; blobs the platform sealed itself still open. */
  readonly platform: Platform;
  /** How this start got the key: made now, unsealed, or unsealed under an older TCB and re-sealed. */
  readonly origin: "created" | "unsealed" | "resealed";
  /** The master key itself, only for handing it to an attested successor (migration.ts). */
  exportForMigration(): Uint8Array;
  /** The 16-byte key of Gramine's encrypted data mount, derived so it follows the master key through upgrades. */
  encryptedFsKey(): Uint8Array;
}

function layered(base: Platform, sealer: Sealer): Platform {
  return {
    name: base.name,
    attested: base.attested,
    async seal(plaintext, context) {
      return sealer.seal(plaintext, context);
    },
    async unseal(blob, context) {
      return underMasterKey(blob) ? sealer.unseal(blob, context) : base.unseal(blob, context);
    },
    needsReseal: (blob) => !underMasterKey(blob),
    evidence: (reportData) => base.evidence(reportData),
    ...(base.close && { close: () => base.close!() }),
  };
}

function fromMasterKey(base: Platform, master: Uint8Array, origin: StateKey["origin"]): StateKey {
  const key = master.slice();
  return {
    platform: layered(base, createSealer(key, STATE_SEAL_FORMAT)),
    origin,
    exportForMigration: () => key.slice(),
    encryptedFsKey: () => hkdf(sha256, key, undefined, utf8.encode("secure-signer/gramine-encrypted-fs/v1"), FS_KEY_BYTES),
  };
}

async function unsealMaster(base: Platform, blob: Uint8Array): Promise<{ master: Uint8Array; resealed: boolean }> {
  try {
    return { master: await base.unseal(blob, MASTER_CONTEXT), resealed: false };
  } catch (current) {
    if (!base.unsealPrevious) throw current;
    try {
      return { master: await base.unsealPrevious(blob, MASTER_CONTEXT), resealed: true };
    } catch {
      throw current;
    }
  }
}

/**
 * Opens the sealed master key in `file`, making it on first start (atomically, so concurrent starts
 * agree on one). Sealed under an older TCB of this enclave, it is re-sealed under the current one
 * and the file rewritten; sealed by another build, it does not open and the new build must get it
 * by migration from the old one.
 */
export async function openStateKey(base: Platform, file: string): Promise<StateKey> {
  let blob: Uint8Array;
  let created = false;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    blob = new Uint8Array(
      await readOrCreateSecretFile(file, async () => {
        created = true;
        const fresh = new Uint8Array(randomBytes(MASTER_KEY_BYTES));
        try {
          return await base.seal(fresh, MASTER_CONTEXT);
        } finally {
          fresh.fill(0);
        }
      }),
    );
  } catch (e) {
    if (e instanceof TeeError) throw e;
    throw new TeeError("PLATFORM_UNAVAILABLE", `cannot use the state key file ${file}: ${(e as Error).message}`, { path: file });
  }
  let opened;
  try {
    opened = await unsealMaster(base, blob);
  } catch (e) {
    throw new TeeError(
      "UNSEAL_FAILED",
      `${file}: the state master key does not open on this ${base.name} platform (${(e as Error).message}); ` +
        `a new enclave build gets it by migration from the one that made it (docs/tee.md, "Upgrades")`,
      { path: file },
    );
  }
  if (opened.master.length !== MASTER_KEY_BYTES) {
    throw new TeeError("UNSEAL_FAILED", `${file}: the state master key must be ${MASTER_KEY_BYTES} bytes, has ${opened.master.length}`, { path: file });
  }
  if (opened.resealed) await writeSecretFile(file, await base.seal(opened.master, MASTER_CONTEXT));
  const state = fromMasterKey(base, opened.master, created ? "created" : opened.resealed ? "resealed" : "unsealed");
  opened.master.fill(0);
  return state;
}

/**
 * Seals a master key received by migration under this platform into `file`. Refuses when the file
 * exists: a second key would orphan every secret sealed under the first.
 */
export async function installStateKey(base: Platform, file: string, master: Uint8Array): Promise<StateKey> {
  if (master.length !== MASTER_KEY_BYTES) {
    throw new TeeError("UNSEAL_FAILED", `a migrated state master key must be ${MASTER_KEY_BYTES} bytes, has ${master.length}`);
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const blob = await base.seal(master, MASTER_CONTEXT);
  if (!(await createSecretFile(file, blob))) {
    throw new TeeError("SEAL_FAILED", `${file} already holds a state master key: move it away to install the migrated one`, { path: file });
  }
  return fromMasterKey(base, master, "unsealed");
}

/**
 * Hands Gramine the encrypted data mount's key by writing it to the mount's key pseudo-file
 * (`/dev/attestation/keys/<key_name>`); until then every file under the mount is unreadable.
 */
export async function provideEncryptedFsKey(state: StateKey, keyFile: string): Promise<void> {
  const key = state.encryptedFsKey();
  try {
    await writeFile(keyFile, key);
  } catch (e) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `cannot set the encrypted data mount's key at ${keyFile}: ${(e as Error).message}`, { path: keyFile });
  } finally {
    key.fill(0);
  }
}
