import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createDevPlatform, DEV_PLATFORM_WARNING } from "./dev.js";
import { TeeError } from "./errors.js";
import { createGraminePlatform, type GramineOptions } from "./gramine.js";
import type { Platform } from "./platform.js";
import { createSimulatedSgxPlatform, simulatedAttestationKey } from "./simulatedSgx.js";
import { openStateKey, provideEncryptedFsKey, type StateKey } from "./stateKey.js";
import { createTsmPlatform, type TsmOptions } from "./tsm.js";
import { readOrCreateSecretFile } from "../util/secretFile.js";

export type PlatformKind = "dev" | "gramine-sgx" | "tsm" | "simulated-sgx";
export const PLATFORM_KINDS: readonly PlatformKind[] = ["dev", "gramine-sgx", "tsm", "simulated-sgx"];

/**
 * The simulated SGX platform (simulatedSgx.ts) for tests of enclave upgrades with real processes:
 * processes given the same CPU secret file are one machine, and each build its own MRENCLAVE.
 * Like dev it is not attested, so --require-attested refuses it.
 */
export interface SimulatedSgxSettings {
  /** 32 random bytes, created (0600) on first use: the simulated CPU's fused secret. */
  cpuSecretFile: string;
  /** 32 bytes hex: the simulated build. */
  mrenclave: string;
}

export const SIMULATED_SGX_WARNING =
  "TEE platform 'simulated-sgx': sealing keys derive from a CPU secret in a plain file and evidence is signed " +
  "with a key derived from it; nothing is attested. For tests of enclave upgrades only.";

/** What the composition root and the CLI print when the platform is not attested. */
export function unattestedWarning(name: string): string {
  return name === "simulated-sgx" ? SIMULATED_SGX_WARNING : DEV_PLATFORM_WARNING;
}

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
  /** Required for "simulated-sgx". */
  simulatedSgx?: SimulatedSgxSettings;
}

/**
 * The one place a Platform is chosen; the composition root calls it once at start. What it returns
 * seals under the state master key, which the chosen platform seals.
 */
export async function createPlatform(kind: PlatformKind, opts: PlatformOptions): Promise<Platform> {
  return (await openPlatformState(kind, opts)).platform;
}

/** As createPlatform, with the state key itself: a running predecessor hands it to its successor (migration.ts). */
export async function openPlatformState(kind: PlatformKind, opts: PlatformOptions): Promise<StateKey> {
  const base = await createBasePlatform(kind, opts);
  try {
    const state = await openStateKey(base, stateKeyFileOf(opts));
    if (opts.encryptedFsKeyFile) await provideEncryptedFsKey(state, opts.encryptedFsKeyFile);
    return state;
  } catch (e) {
    await base.close?.();
    throw e;
  }
}

export const STATE_KEY_FILE = "state-key.sealed";

export const stateKeyFileOf = (opts: Pick<PlatformOptions, "dataDir" | "stateKeyFile">): string => opts.stateKeyFile ?? join(opts.dataDir, STATE_KEY_FILE);

/**
 * The platform itself, without the state key: only for installing a migrated one (stateKey.ts,
 * installStateKey); everything else seals under the state key, through createPlatform.
 */
export async function createBasePlatform(kind: PlatformKind, opts: PlatformOptions): Promise<Platform> {
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
    case "simulated-sgx":
      if (opts.requireAttested) {
        throw new TeeError("NOT_ATTESTED", `platform "simulated-sgx" is a test platform, not attested, and attestation is required`, { kind });
      }
      if (!opts.simulatedSgx) {
        throw new TeeError("PLATFORM_UNAVAILABLE", `platform "simulated-sgx" needs a CPU secret file and an MRENCLAVE`, { kind });
      }
      return createSimulatedSgxPlatform({ ...SIMULATED_BUILD, cpuSecret: await simulatedCpuSecret(opts.simulatedSgx.cpuSecretFile), mrenclave: opts.simulatedSgx.mrenclave.toLowerCase() });
    default:
      throw new TeeError("PLATFORM_UNAVAILABLE", `unknown TEE platform "${String(kind)}" (one of ${PLATFORM_KINDS.join(", ")})`, { kind });
  }
}

/** What the simulated builds share besides their CPU: one signer, product and TCB; only MRENCLAVE differs between builds. */
const SIMULATED_BUILD = { mrsigner: `0x${"5a".repeat(32)}`, isvprodid: 1, isvsvn: 1, cpusvn: 1, policy: "mrenclave" } as const;

async function simulatedCpuSecret(file: string): Promise<Uint8Array> {
  let secret: Uint8Array;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    secret = new Uint8Array(await readOrCreateSecretFile(file, () => new Uint8Array(randomBytes(32))));
  } catch (e) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `simulated-sgx cannot use the CPU secret file ${file}: ${(e as Error).message}`, { path: file });
  }
  if (secret.length !== 32) throw new TeeError("PLATFORM_UNAVAILABLE", `${file} must hold exactly 32 bytes, has ${secret.length}: not a simulated CPU secret`, { path: file });
  return secret;
}

/** The simulated quoting key of the CPU in `file`: what a simulated-sgx signer trusts in a peer on its own machine. */
export async function simulatedQuotingKey(file: string): Promise<Uint8Array> {
  const secret = await simulatedCpuSecret(file);
  const { secretKey, publicKey } = simulatedAttestationKey(secret);
  secret.fill(0);
  secretKey.fill(0);
  return publicKey;
}
