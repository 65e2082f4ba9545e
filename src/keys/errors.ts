import { SignerError } from "../errors.js";

export type KeyErrorCode =
  | "INVALID_KEYSTORE"
  | "WRONG_PASSWORD"
  | "MISSING_PASSWORD"
  | "PUBKEY_MISMATCH"
  | "INVALID_SECRET"
  | "SEALED_FILE_INVALID"
  | "INVALID_ENVELOPE"
  | "DECRYPT_FAILED"
  | "IO_FAILED"
  | "DATA_DIR_IN_USE";

/** Key lifecycle failures: keystore import, sealed key files, transport envelopes, key generation. */
export class KeyError extends SignerError<KeyErrorCode> {
  readonly domain = "keys";
}

declare module "../errors.js" {
  interface ErrorCodeRegistry {
    keys: KeyErrorCode;
  }
}
