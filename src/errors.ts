/**
 * Every domain throws a subclass of SignerError with a stable `code`. Only `api/` maps codes to HTTP
 * statuses (api/errors.ts); the CLI prints `message`. `context` carries structured detail (the
 * conflicting record, the offending field) for logs and tests; it never holds secrets.
 *
 * Each domain registers its codes by augmenting ErrorCodeRegistry in its own errors.ts
 * (`declare module "../errors.js" { interface ErrorCodeRegistry { slashing: SlashingCode } }`).
 * A class whose codes are not registered does not compile, and the status table in api/errors.ts
 * is `satisfies Record<ErrorCode, …>`, so a new code cannot reach a client without a deliberate status.
 */
export interface ErrorCodeRegistry {
  input: InputCode;
}

export type ErrorCode = ErrorCodeRegistry[keyof ErrorCodeRegistry];

/** Structured detail of an error; each class narrows it per code where callers read it. */
export type ErrorContext = Readonly<Record<string, unknown>>;

export abstract class SignerError<Code extends ErrorCode = ErrorCode, Context extends object = ErrorContext> extends Error {
  abstract readonly domain: keyof ErrorCodeRegistry;
  constructor(
    readonly code: Code,
    message: string,
    readonly context: Context = {} as Context,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export type InputCode = "INVALID_INPUT" | "SIGNING_ROOT_MISMATCH" | "UNSUPPORTED";

/** Input that is malformed or inconsistent: the caller's fault, nothing was changed. */
export class InputError extends SignerError<InputCode, { field?: string; claimed?: string; computed?: string; network?: string; preset?: string; activePreset?: string; file?: string; line?: number }> {
  readonly domain = "input";
}
