import { SignerError } from "../errors.js";
import type { RuleCode } from "./rules.js";

/** A sign request or import that EIP-3076 forbids, or one for another chain; nothing was recorded. */
export type SlashingCode = RuleCode | "GENESIS_VALIDATORS_ROOT_MISMATCH";

export class SlashingError extends SignerError<SlashingCode> {
  readonly domain = "slashing";
}

/** The interchange file itself is unusable; nothing was imported. */
export type InterchangeCode = "INVALID_INTERCHANGE" | "UNSUPPORTED_INTERCHANGE_VERSION";

export class InterchangeError extends SignerError<InterchangeCode> {
  readonly domain = "interchange";
}

/**
 * The slashing database could not answer or could not commit. Unlike SlashingError this says
 * nothing about the request: the same request may succeed once the database is back.
 */
export type StorageCode = "DATABASE_UNAVAILABLE" | "DATABASE_LOCKED" | "COMMIT_FAILED" | "STORE_CLOSED";

export class StorageError extends SignerError<StorageCode> {
  readonly domain = "slashing-storage";
}
