import { gcm } from "@noble/ciphers/aes.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createSecretFile } from "../keys/secretFile.js";
import { toHex } from "../util/hex.js";
import { TeeError } from "./errors.js";
import type { Evidence, Platform } from "./platform.js";

/** Printed by the composition root at start; this module logs nothing itself. */
export const DEV_PLATFORM_WARNING =
  "TEE platform 'dev': keys are sealed with a secret stored in the data directory, readable by anyone " +
  "with access to that directory; there is no attestation. For development and testing only.";

/**
 * Blob: MAGIC (4) ‖ VERSION (1) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16).
 * The key is HKDF-SHA256(sealing secret, salt = none, info = INFO_PREFIX ‖ context), so each
 * context has its own key and a blob unsealed under another context fails authentication; the
 * header and context are also the AAD, so neither can be altered without detection.
 */
const MAGIC = new Uint8Array([0x53, 0x53, 0x44, 0x56]); // "SSDV"
const VERSION = 1;
const HEADER_LENGTH = MAGIC.length + 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const INFO_PREFIX = "secure-signer/dev-seal/v1/";
const SECRET_FILE = "dev-sealing-key";
const SECRET_LENGTH = 32;

const utf8 = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

class DevPlatform implements Platform {
  readonly name = "dev";
  readonly attested = false;

  constructor(private readonly secret: Uint8Array) {}

  private keyFor(context: string): Uint8Array {
    return hkdf(sha256, this.secret, undefined, utf8.encode(INFO_PREFIX + context), 32);
  }

  async seal(plaintext: Uint8Array, context: string): Promise<Uint8Array> {
    const header = concat(MAGIC, new Uint8Array([VERSION]));
    const nonce = new Uint8Array(randomBytes(NONCE_LENGTH));
    const key = this.keyFor(context);
    try {
      const sealed = gcm(key, nonce, concat(header, utf8.encode(context))).encrypt(plaintext);
      return concat(header, nonce, sealed);
    } catch (e) {
      throw new TeeError("SEAL_FAILED", `dev platform could not seal for ${context}: ${(e as Error).message}`);
    } finally {
      key.fill(0);
    }
  }

  async unseal(blob: Uint8Array, context: string): Promise<Uint8Array> {
    if (blob.length < HEADER_LENGTH + NONCE_LENGTH + TAG_LENGTH || !MAGIC.every((b, i) => blob[i] === b)) {
      throw new TeeError("UNSEAL_FAILED", `not a dev-platform sealed blob (bad length or magic) for ${context}`);
    }
    if (blob[MAGIC.length] !== VERSION) {
      throw new TeeError("UNSEAL_FAILED", `unsupported dev sealed blob version ${blob[MAGIC.length]} for ${context}`);
    }
    const header = blob.subarray(0, HEADER_LENGTH);
    const nonce = blob.subarray(HEADER_LENGTH, HEADER_LENGTH + NONCE_LENGTH);
    const key = this.keyFor(context);
    try {
      return gcm(key, nonce, concat(header, utf8.encode(context))).decrypt(blob.subarray(HEADER_LENGTH + NONCE_LENGTH));
    } catch {
      throw new TeeError(
        "UNSEAL_FAILED",
        `sealed blob for ${context} failed authentication: tampered, or sealed for another context or sealing key`,
      );
    } finally {
      key.fill(0);
    }
  }

  async evidence(reportData: Uint8Array): Promise<Evidence> {
    if (reportData.length !== 64) {
      throw new TeeError("EVIDENCE_FAILED", `report data must be 64 bytes, got ${reportData.length}`);
    }
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
    const fresh = new Uint8Array(randomBytes(SECRET_LENGTH));
    await createSecretFile(path, fresh);
    fresh.fill(0);
    secret = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `dev platform cannot use ${path}: ${(e as Error).message}`);
  }
  if (secret.length !== SECRET_LENGTH) {
    throw new TeeError(
      "PLATFORM_UNAVAILABLE",
      `${path} must hold exactly ${SECRET_LENGTH} bytes, has ${secret.length}: not a dev sealing secret`,
    );
  }
  return new DevPlatform(secret);
}
