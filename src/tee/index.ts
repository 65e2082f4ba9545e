import { join } from "node:path";
import { createDevPlatform } from "./dev.js";
import { TeeError } from "./errors.js";
import { createGraminePlatform, type GramineOptions } from "./gramine.js";
import type { Platform } from "./platform.js";
import { openStateKey, provideEncryptedFsKey } from "./stateKey.js";
import { createTsmPlatform, type TsmOptions } from "./tsm.js";

export type PlatformKind = "dev" | "gramine-sgx" | "tsm";
export const PLATFORM_KINDS: readonly PlatformKind[] = ["dev", "gramine-sgx", "tsm"];

export interface PlatformOptions {
  /** Where the dev platform keeps its sealing secret. */
  dataDir: string;
  /** Refuse to start on a platform whose evidence a third party cannot verify (the dev platform). */
  requireAttested?: boolean;
  gramine?: GramineOptions;
  /** Required for "tsm": there is no hardware sealing key to fall back on. */
  tsm?: TsmOptions;
  /** The platform-sealed state master key (stateKey.ts); default `<dataDir>/state-key.sealed`. */
  stateKeyFile?: string;
  /** Gramine: the encrypted data mount's key pseudo-file, written from the master key before the data directory is touched. */
  encryptedFsKeyFile?: string;
}

/**
 * The one place a Platform is chosen; the composition root calls it once at start. What it returns
 * seals under the state master key, which the chosen platform seals.
 */
export async function createPlatform(kind: PlatformKind, opts: PlatformOptions): Promise<Platform> {
  const base = await createBasePlatform(kind, opts);
  try {
    const state = await openStateKey(base, opts.stateKeyFile ?? join(opts.dataDir, STATE_KEY_FILE));
    if (opts.encryptedFsKeyFile) await provideEncryptedFsKey(state, opts.encryptedFsKeyFile);
    return state.platform;
  } catch (e) {
    await base.close?.();
    throw e;
  }
}

export const STATE_KEY_FILE = "state-key.sealed";

async function createBasePlatform(kind: PlatformKind, opts: PlatformOptions): Promise<Platform> {
  switch (kind) {
    case "dev":
      // Checked before anything is created, so a refused start leaves no dev sealing secret behind.
      if (opts.requireAttested) {
        throw new TeeError("NOT_ATTESTED", `platform "dev" is not attested and attestation is required: use gramine-sgx or tsm`, { kind });
      }
      return createDevPlatform(opts.dataDir);
    case "gramine-sgx":
      return createGraminePlatform(opts.gramine ?? {});
    case "tsm":
      if (!opts.tsm) {
        throw new TeeError("PLATFORM_UNAVAILABLE", `platform "tsm" needs a released sealing key file (tsm.sealing.keyFile)`, { kind });
      }
      return createTsmPlatform(opts.tsm);
    default:
      throw new TeeError("PLATFORM_UNAVAILABLE", `unknown TEE platform "${String(kind)}" (one of ${PLATFORM_KINDS.join(", ")})`, { kind });
  }
}
