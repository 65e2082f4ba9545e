import { SignerError } from "../errors.js";

export type CliCode = "USAGE";

/** A command line that names no command, an unknown flag or a missing argument. */
export class UsageError extends SignerError<CliCode> {
  readonly domain = "cli";
}

declare module "../errors.js" {
  interface ErrorCodeRegistry {
    cli: CliCode;
  }
}
