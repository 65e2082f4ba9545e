import { gcm } from "@noble/ciphers/aes.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { randomBytes } from "node:crypto";
import { TeeError } from "./errors.js";

/**
 * Context-bound sealing shared by the platforms; only where the secret comes from differs.
 *
 * Blob: MAGIC (4) ‖ VERSION (1) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16).
 * Key = HKDF-SHA256(secret, salt = none, info = infoPrefix ‖ context): a blob unsealed under another
 * context fails authentication. AAD = MAGIC ‖ VERSION ‖ context, so neither can be altered unnoticed.
 * A distinct magic and info prefix per platform keeps one platform's blobs from opening on another
 * even if the secrets were equal. This is the dev platform's format (src/tee/dev.ts) generalised:
 * with magic "SSDV" and info prefix "secure-signer/dev-seal/v1/" it produces the same blobs.
 */
export interface SealFormat {
  /** Four ASCII bytes naming the platform, e.g. "SSGS". */
  magic: string;
  /** HKDF info prefix, versioned, e.g. "secure-signer/gramine-seal/v1/". */
  infoPrefix: string;
  /** Platform name for error messages. */
  platform: string;
}

export interface Sealer {
  seal(plaintext: Uint8Array, context: string): Uint8Array;
  unseal(blob: Uint8Array, context: string): Uint8Array;
}

const VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const utf8 = new TextEncoder();

/** `secret` is copied; the caller may zero its own copy. */
export function createSealer(secret: Uint8Array, format: SealFormat): Sealer {
  const magic = utf8.encode(format.magic);
  if (magic.length !== 4) throw new Error(`seal magic must be 4 ASCII bytes, got "${format.magic}"`);
  const header = concatBytes(magic, new Uint8Array([VERSION]));
  const ikm = secret.slice();
  const keyFor = (context: string) => hkdf(sha256, ikm, undefined, utf8.encode(format.infoPrefix + context), 32);

  return {
    seal(plaintext, context) {
      const nonce = new Uint8Array(randomBytes(NONCE_LENGTH));
      const key = keyFor(context);
      try {
        return concatBytes(header, nonce, gcm(key, nonce, concatBytes(header, utf8.encode(context))).encrypt(plaintext));
      } catch (e) {
        throw new TeeError("SEAL_FAILED", `${format.platform} platform could not seal for ${context}: ${(e as Error).message}`);
      } finally {
        key.fill(0);
      }
    },
    unseal(blob, context) {
      if (blob.length < header.length + NONCE_LENGTH + TAG_LENGTH || !magic.every((b, i) => blob[i] === b)) {
        throw new TeeError("UNSEAL_FAILED", `not a ${format.platform}-platform sealed blob (bad length or magic) for ${context}`);
      }
      if (blob[magic.length] !== VERSION) {
        throw new TeeError("UNSEAL_FAILED", `unsupported ${format.platform} sealed blob version ${blob[magic.length]} for ${context}`);
      }
      const nonce = blob.subarray(header.length, header.length + NONCE_LENGTH);
      const key = keyFor(context);
      try {
        return gcm(key, nonce, concatBytes(header, utf8.encode(context))).decrypt(blob.subarray(header.length + NONCE_LENGTH));
      } catch {
        throw new TeeError(
          "UNSEAL_FAILED",
          `sealed blob for ${context} failed authentication: tampered, or sealed for another context or ${format.platform} sealing key`,
        );
      } finally {
        key.fill(0);
      }
    },
  };
}
