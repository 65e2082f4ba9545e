import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { readOrCreateSecretFile } from "../util/secretFile.js";
import { toHex } from "../util/hex.js";
import { createSealer, type SealFormat, type Sealer } from "./aead.js";
import { TeeError } from "./errors.js";
import { assertReportDataLength } from "./reportData.js";
import type { Evidence, Platform } from "./platform.js";

/** Printed by the composition root at start; this module logs nothing itself. */
export const DEV_PLATFORM_WARNING =
  "TEE platform 'dev': keys are sealed with a secret stored in the data directory, readable by anyone " +
  "with access to that directory; there is no attestation. For development and testing only.";

/** Sealed blobs: the shared context-bound format (aead.ts) under the dev platform's magic and info prefix. */
export const DEV_SEAL_FORMAT: SealFormat = { magic: "SSDV", infoPrefix: "secure-signer/dev-seal/v1/", platform: "dev" };
const SECRET_FILE = "dev-sealing-key";
const SECRET_LENGTH = 32;

class DevPlatform implements Platform {
  readonly name = "dev";
  readonly attested = false;
  private readonly sealer: Sealer;

  constructor(secret: Uint8Array) {
    this.sealer = createSealer(secret, DEV_SEAL_FORMAT);
  }

  async seal(plaintext: Uint8Array, context: string): Promise<Uint8Array> {
    return this.sealer.seal(plaintext, context);
  }

  async unseal(blob: Uint8Array, context: string): Promise<Uint8Array> {
    return this.sealer.unseal(blob, context);
  }

  async evidence(reportData: Uint8Array): Promise<Evidence> {
    assertReportDataLength(reportData);
    return { platform: this.name, format: "none", quote: "", reportData: toHex(reportData) };
  }
}

/**
 * The development platform. Its sealing secret is 32 random bytes in `<dataDir>/dev-sealing-key`
 * (0600), created atomically on first start; every later start, and every concurrent one, reads
 * the same secret, so sealed files survive restarts.
 */
export async function createDevPlatform(dataDir: string): Promise<Platform> {
  const path = join(dataDir, SECRET_FILE);
  let secret: Uint8Array;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    secret = new Uint8Array(await readOrCreateSecretFile(path, () => new Uint8Array(randomBytes(SECRET_LENGTH))));
  } catch (e) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `dev platform cannot use ${path}: ${(e as Error).message}`);
  }
  if (secret.length !== SECRET_LENGTH) {
    throw new TeeError(
      "PLATFORM_UNAVAILABLE",
      `${path} must hold exactly ${SECRET_LENGTH} bytes, has ${secret.length}: not a dev sealing secret`,
    );
  }
  const platform = new DevPlatform(secret);
  secret.fill(0);
  return platform;
}
