import { SignerError } from "../errors.js";

export type TeeErrorCode =
  | "UNSEAL_FAILED"
  | "SEAL_FAILED"
  | "EVIDENCE_FAILED"
  | "NOT_ATTESTED"
  | "PLATFORM_UNAVAILABLE"
  | "INVALID_EVIDENCE"
  | "NOT_ALLOWLISTED"
  | "MIGRATION_DISABLED"
  | "MIGRATION_REFUSED";

/** Failures of the trusted-execution boundary: sealing, unsealing, evidence and its verification. */
export class TeeError extends SignerError<TeeErrorCode> {
  readonly domain = "tee";
}

declare module "../errors.js" {
  interface ErrorCodeRegistry {
    tee: TeeErrorCode;
  }
}
