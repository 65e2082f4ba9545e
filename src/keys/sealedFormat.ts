import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { firstSchemaError } from "../util/schema.js";
import { MAX_DERIVATION_PATH_LENGTH } from "./derivationPaths.js";

/**
 * What a sealed key file holds once unsealed: the 32-byte secret, then, only when the key has
 * metadata, that metadata as a UTF-8 JSON object. A key without metadata (generated inside, or from
 * a keystore with an empty path) is the secret alone, exactly as every file was written before
 * metadata existed, so those files and these read the same in every version. A file with metadata
 * is one way: a signer from before metadata refuses it (not a valid secret key), as docs/operations.md says.
 */
const SECRET_LENGTH = 32;

const MetadataSchema = Type.Object({
  /** The `path` of the EIP-2335 keystore the key was imported from, when it was not "". */
  path: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_DERIVATION_PATH_LENGTH })),
});
export type SealedKeyMetadata = Static<typeof MetadataSchema>;
const metadataCheck = TypeCompiler.Compile(MetadataSchema);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The plaintext to seal; the caller zeroes it once sealed (it holds the secret). */
export function encodeSealedKey(secretKey: Uint8Array, metadata: SealedKeyMetadata): Uint8Array {
  // "" is how EIP-2335 says a key has no path: such a key is stored with no metadata at all.
  if (!metadata.path) return secretKey.slice();
  if (!metadataCheck.Check(metadata)) {
    throw new Error(`key metadata is invalid (${firstSchemaError(metadataCheck.Errors(metadata))})`);
  }
  const json = Buffer.from(JSON.stringify(metadata), "utf8");
  const plaintext = new Uint8Array(secretKey.length + json.length);
  plaintext.set(secretKey);
  plaintext.set(json, secretKey.length);
  return plaintext;
}

/**
 * Splits an unsealed plaintext into the secret (a buffer of its own) and the metadata; `plaintext`
 * is zeroed unless it is returned as the secret itself. Throws, naming what is wrong, when the
 * plaintext is shorter than a secret or its metadata is not the JSON object written above.
 */
export function decodeSealedKey(plaintext: Uint8Array): { secretKey: Uint8Array; metadata: SealedKeyMetadata } {
  if (plaintext.length === SECRET_LENGTH) return { secretKey: plaintext, metadata: {} };
  try {
    if (plaintext.length < SECRET_LENGTH) {
      throw new Error(`holds ${plaintext.length} bytes, fewer than a ${SECRET_LENGTH}-byte secret key`);
    }
    let metadata: unknown;
    try {
      metadata = JSON.parse(utf8.decode(plaintext.subarray(SECRET_LENGTH)));
    } catch {
      throw new Error("the key's metadata is not UTF-8 JSON");
    }
    if (!metadataCheck.Check(metadata)) {
      throw new Error(`the key's metadata is invalid (${firstSchemaError(metadataCheck.Errors(metadata)) ?? "not an object"})`);
    }
    return { secretKey: plaintext.slice(0, SECRET_LENGTH), metadata };
  } finally {
    plaintext.fill(0);
  }
}
