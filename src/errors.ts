/**
 * Every domain throws a subclass of SignerError with a stable `code`. Only `api/` maps codes to HTTP
 * statuses (api/errors.ts); the CLI prints `message`. `context` carries structured detail (the
 * conflicting record, the offending field) for logs and tests; it never holds secrets.
 */
export abstract class SignerError<Code extends string = string> extends Error {
  abstract readonly domain: string;
  constructor(
    readonly code: Code,
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that is malformed or inconsistent: the caller's fault, nothing was changed. */
export class InputError extends SignerError<"INVALID_INPUT" | "SIGNING_ROOT_MISMATCH" | "UNSUPPORTED"> {
  readonly domain = "input";
}
