import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Platform } from "../tee/platform.js";
import { fromHex, toHex } from "../util/hex.js";
import { KeyError } from "./errors.js";
import { openSealedSecret } from "../tee/sealedSecret.js";

/**
 * Transport encryption: secrets (keystores, passwords) sent to the signer are encrypted to an
 * X25519 key that is generated inside and sealed, so they are readable only inside the signer,
 * whatever terminates TLS on the way. The construction is specified in
 * docs/transport-encryption.md; changing it means a new VERSION.
 *
 * Envelope (base64 in JSON): MAGIC "SSTE" (4) ‖ VERSION 0x01 (1) ‖ ephemeral X25519 public key (32)
 *   ‖ nonce (24) ‖ XChaCha20-Poly1305 ciphertext ‖ tag (16)
 * key = HKDF-SHA256(ikm = X25519(eph, signer), salt = eph_pub ‖ signer_pub, info = INFO, 32 bytes)
 * AAD = MAGIC ‖ VERSION ‖ utf8(purpose)
 */
export const TRANSPORT_ALGORITHM = "x25519-hkdf-sha256-xchacha20poly1305";
export const TRANSPORT_VERSION = 1;
const MAGIC = new Uint8Array([0x53, 0x53, 0x54, 0x45]); // "SSTE"
const INFO = new TextEncoder().encode(`secure-signer/transport/v1 ${TRANSPORT_ALGORITHM}`);
const HEADER = new Uint8Array([...MAGIC, TRANSPORT_VERSION]);
const KEY_LENGTH = 32;
const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;
const MIN_ENVELOPE = HEADER.length + KEY_LENGTH + NONCE_LENGTH + TAG_LENGTH;

/** The purpose label of an encrypted keymanager import request (see api/keymanager.ts). */
export const IMPORT_PURPOSE = "keymanager/import-keystores";

const TRANSPORT_FILE = "transport-key.sealed";
const SEAL_CONTEXT = `transport-key:${TRANSPORT_ALGORITHM}:v${TRANSPORT_VERSION}`;

const utf8 = new TextEncoder();

function aad(purpose: string): Uint8Array {
  return new Uint8Array([...HEADER, ...utf8.encode(purpose)]);
}

function deriveKey(shared: Uint8Array, ephemeralPublic: Uint8Array, signerPublic: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, new Uint8Array([...ephemeralPublic, ...signerPublic]), INFO, 32);
}

function signerKeyBytes(signerPublicKey: Uint8Array | string): Uint8Array {
  if (typeof signerPublicKey === "string") return fromHex(signerPublicKey, "signer transport public key", KEY_LENGTH);
  if (signerPublicKey.length !== KEY_LENGTH) {
    throw new KeyError("INVALID_ENVELOPE", `signer transport public key must be ${KEY_LENGTH} bytes`);
  }
  return signerPublicKey;
}

/**
 * Encrypts `plaintext` so that only the signer holding the transport key for `signerPublicKey`
 * (32-byte X25519, bytes or 0x-hex) can read it, for `purpose`. Runs anywhere: the CLI's
 * `keys encrypt-for-signer` uses it on the operator's machine. Returns the envelope, base64.
 */
export function encryptForSigner(signerPublicKey: Uint8Array | string, plaintext: Uint8Array, purpose: string): string {
  const signerPublic = signerKeyBytes(signerPublicKey);
  const ephemeral = x25519.utils.randomSecretKey();
  const ephemeralPublic = x25519.getPublicKey(ephemeral);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(ephemeral, signerPublic);
  } catch {
    throw new KeyError("INVALID_ENVELOPE", "signer transport public key is a low-order point, refusing to encrypt to it");
  } finally {
    ephemeral.fill(0);
  }
  const key = deriveKey(shared, ephemeralPublic, signerPublic);
  shared.fill(0);
  const nonce = new Uint8Array(randomBytes(NONCE_LENGTH));
  const ciphertext = xchacha20poly1305(key, nonce, aad(purpose)).encrypt(plaintext);
  key.fill(0);
  return Buffer.concat([HEADER, ephemeralPublic, nonce, ciphertext]).toString("base64");
}

/** The signer's side of the transport encryption: an X25519 key pair sealed in the data directory. */
export class TransportKey {
  private constructor(
    private readonly secretKey: Uint8Array,
    /** 32-byte X25519 public key, to publish (GET /eth/v1/transport-key, attestation report data). */
    readonly publicKey: Uint8Array,
  ) {}

  get publicKeyHex(): string {
    return toHex(this.publicKey);
  }

  /**
   * Opens the sealed transport key in `dataDir`, generating and sealing it on first start (created
   * atomically, so concurrent starts agree on one key).
   */
  static async open(platform: Platform, dataDir: string): Promise<TransportKey> {
    const path = join(dataDir, TRANSPORT_FILE);
    let secretKey: Uint8Array;
    try {
      secretKey = await openSealedSecret(platform, path, SEAL_CONTEXT, KEY_LENGTH, () => x25519.utils.randomSecretKey());
    } catch (e) {
      throw new KeyError("SEALED_FILE_INVALID", `${path}: transport key: ${(e as Error).message}`, { file: path });
    }
    return new TransportKey(secretKey, x25519.getPublicKey(secretKey));
  }

  /** Opens an envelope made by encryptForSigner for this key and `purpose`. */
  decrypt(envelope: string, purpose: string): Uint8Array {
    const bytes = new Uint8Array(Buffer.from(envelope, "base64"));
    if (bytes.length < MIN_ENVELOPE || !MAGIC.every((b, i) => bytes[i] === b)) {
      throw new KeyError("INVALID_ENVELOPE", "transport envelope is not base64 of a secure-signer envelope (bad magic or too short)");
    }
    if (bytes[MAGIC.length] !== TRANSPORT_VERSION) {
      throw new KeyError("INVALID_ENVELOPE", `transport envelope version ${bytes[MAGIC.length]} is not supported (expected ${TRANSPORT_VERSION})`);
    }
    let offset = HEADER.length;
    const ephemeralPublic = bytes.subarray(offset, (offset += KEY_LENGTH));
    const nonce = bytes.subarray(offset, (offset += NONCE_LENGTH));
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(this.secretKey, ephemeralPublic);
    } catch {
      throw new KeyError("INVALID_ENVELOPE", "transport envelope's ephemeral key is a low-order point");
    }
    const key = deriveKey(shared, ephemeralPublic, this.publicKey);
    shared.fill(0);
    try {
      return xchacha20poly1305(key, nonce, aad(purpose)).decrypt(bytes.subarray(offset));
    } catch {
      throw new KeyError(
        "INVALID_ENVELOPE",
        `transport envelope failed authentication: not encrypted to this signer's key ${this.publicKeyHex}, ` +
          `not for "${purpose}", or altered`,
      );
    } finally {
      key.fill(0);
    }
  }
}

/** The body of a standard keymanager import request (ethereum/keymanager-APIs). */
export interface ImportRequest {
  keystores: string[];
  passwords: string[];
  /** An EIP-3076 document as text; null (as Lighthouse's client sends) or "" means none. */
  slashing_protection?: string | null;
}

/** Builds the `{transport_encrypted}` body of POST /eth/v1/keystores for the signer's key. */
export function encryptImportRequest(
  signerPublicKey: Uint8Array | string,
  request: ImportRequest,
): { transport_encrypted: string } {
  return { transport_encrypted: encryptForSigner(signerPublicKey, utf8.encode(JSON.stringify(request)), IMPORT_PURPOSE) };
}
