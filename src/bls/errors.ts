import { SignerError } from "../errors.js";

export type BlsCode = "KEY_NOT_LOADED" | "WORKER_FAILED";

/** The signing threads could not sign: the key is not loaded, or a worker failed. */
export class BlsError extends SignerError<BlsCode> {
  readonly domain = "bls";
}

declare module "../errors.js" {
  interface ErrorCodeRegistry {
    bls: BlsCode;
  }
}
