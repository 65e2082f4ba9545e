import { SignerError } from "../errors.js";
import type { AttestationRecord, BlockRecord, RuleCode } from "./rules.js";

/** A sign request or import that EIP-3076 forbids, or one for another chain; nothing was recorded. */
export type SlashingCode = RuleCode | "GENESIS_VALIDATORS_ROOT_MISMATCH";

export class SlashingError extends SignerError<SlashingCode, { conflicting?: BlockRecord | AttestationRecord; expected?: string; actual?: string }> {
  readonly domain = "slashing";
}

/**
 * Refusals that come not from a key's history but from what the signer may have forgotten or must
 * not yet do: the restart floor, a message too far ahead of the clock, a slot beyond the window the
 * continuity store reserved for this instance. Nothing was recorded.
 */
export type GuardCode = "BELOW_STARTUP_FLOOR" | "AHEAD_OF_CLOCK" | "BELOW_RESERVATION";

export class GuardError extends SignerError<GuardCode> {
  readonly domain = "guard";
}

/** The interchange file itself is unusable; nothing was imported. */
export type InterchangeCode = "INVALID_INTERCHANGE" | "UNSUPPORTED_INTERCHANGE_VERSION";

export class InterchangeError extends SignerError<InterchangeCode> {
  readonly domain = "interchange";
}

/**
 * The slashing database (or the continuity store) could not answer or could not commit. Unlike
 * SlashingError this says nothing about the request: the same request may succeed once it is back.
 */
export type StorageCode = "DATABASE_UNAVAILABLE" | "DATABASE_LOCKED" | "COMMIT_FAILED" | "STORE_CLOSED" | "CONTINUITY_UNAVAILABLE";

export class StorageError extends SignerError<StorageCode> {
  readonly domain = "slashing-storage";
}

/**
 * The slashing database is not the one this data directory recorded: gone, emptied or another one
 * (identity.ts). The signer does not start on it.
 */
export type IdentityCode = "SLASHING_DB_MISSING" | "SLASHING_DB_EMPTIED" | "SLASHING_DB_MISMATCH";

export class IdentityError extends SignerError<IdentityCode, { location: string; expected?: string; actual?: string }> {
  readonly domain = "slashing-identity";
}

declare module "../errors.js" {
  interface ErrorCodeRegistry {
    slashing: SlashingCode;
    guard: GuardCode;
    interchange: InterchangeCode;
    "slashing-storage": StorageCode;
    "slashing-identity": IdentityCode;
  }
}
