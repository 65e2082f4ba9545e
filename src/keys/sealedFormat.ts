import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { firstSchemaError } from "../util/schema.js";
import type { KeyProvenance } from "../tee/statement.js";
import { fromHex, toHex } from "../util/hex.js";
import { MAX_DERIVATION_PATH_LENGTH } from "./derivationPaths.js";

/**
 * What a sealed key file holds once unsealed: the 32-byte secret, then, only when the key has
 * metadata, that metadata as a UTF-8 JSON object. A key without metadata (sealed before origins and
 * counters were kept) is the secret alone, exactly as every file was written before
 * metadata existed, so those files and these read the same in every version. A file with metadata
 * is one way: a signer from before metadata refuses it (not a valid secret key), as docs/operations.md says.
 */
const SECRET_LENGTH = 32;

const Hex = (bytes: number) => Type.String({ pattern: `^0x[0-9a-f]{${bytes * 2}}$` });
const MetadataSchema = Type.Object({
  /** The `path` of the EIP-2335 keystore the key was imported from, when it was not "". */
  path: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_DERIVATION_PATH_LENGTH })),
  /**
   * Written "generated" by keygen alone, so an imported key can never be stated generated
   * (tee/statement.ts); absent (every key sealed before origins existed) reads as imported.
   */
  origin: Type.Optional(Type.Union([Type.Literal("generated"), Type.Literal("imported")])),
  /** The sealed store's creation counter when the key was sealed. */
  counter: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  /** A generated key's deposit, signed inside at keygen. */
  deposit: Type.Optional(
    Type.Object({ withdrawal_credentials: Hex(32), amount: Type.Integer({ minimum: 1 }), fork_version: Hex(4), deposit_data_root: Hex(32) }),
  ),
});
export type SealedKeyMetadata = Static<typeof MetadataSchema>;
const metadataCheck = TypeCompiler.Compile(MetadataSchema);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The plaintext to seal; the caller zeroes it once sealed (it holds the secret). */
export function encodeSealedKey(secretKey: Uint8Array, metadata: SealedKeyMetadata): Uint8Array {
  // "" is how EIP-2335 says a key has no path: a key with nothing else to say is stored alone.
  const { path, ...rest } = metadata;
  if (!path && Object.keys(rest).length === 0) return secretKey.slice();
  if (!path) metadata = rest;
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

/** What a key's statement says about it: only metadata written by keygen says "generated". */
export function provenanceOf(metadata: SealedKeyMetadata): KeyProvenance {
  if (metadata.origin !== "generated") return { origin: "imported", counter: metadata.counter ?? 0 };
  const d = metadata.deposit;
  return {
    origin: "generated",
    counter: metadata.counter ?? 0,
    ...(d && {
      deposit: {
        withdrawalCredentials: fromHex(d.withdrawal_credentials, "withdrawal_credentials", 32),
        amountGwei: d.amount,
        forkVersion: fromHex(d.fork_version, "fork_version", 4),
        depositDataRoot: fromHex(d.deposit_data_root, "deposit_data_root", 32),
      },
    }),
  };
}

/** The metadata fields that keep `provenance`. */
export function provenanceMetadata(p: KeyProvenance): SealedKeyMetadata {
  const d = p.deposit;
  return {
    origin: p.origin,
    ...(p.counter > 0 && { counter: p.counter }),
    ...(d && {
      deposit: {
        withdrawal_credentials: toHex(d.withdrawalCredentials),
        amount: d.amountGwei,
        fork_version: toHex(d.forkVersion),
        deposit_data_root: toHex(d.depositDataRoot),
      },
    }),
  };
}
