import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { SignerError, type ErrorCode } from "../errors.js";

export type AuthCode = "UNAUTHORIZED" | "FORBIDDEN";

/** A privileged request without the API token (401) or with a token or client this route refuses (403). */
export class AuthError extends SignerError<AuthCode> {
  readonly domain = "auth";
}

declare module "../errors.js" {
  interface ErrorCodeRegistry {
    auth: AuthCode;
  }
}

type Status = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 500 | 502 | 503;

/**
 * The one place where domain errors become HTTP statuses, following Web3Signer: 400 for bad input,
 * 404 for an unknown key, 412 when slashing protection or a guard refuses, 503 when the slashing
 * database or the continuity store cannot be reached (nothing is signed without its record), 500
 * for the signer's own failures. Every registered code must appear: the compiler checks it.
 */
export const ERROR_STATUS = {
  // input
  INVALID_INPUT: 400,
  SIGNING_ROOT_MISMATCH: 400,
  UNSUPPORTED: 400,
  // slashing: EIP-3076 refusals, and a request or import for another chain than the database's
  BLOCK_SLOT_NOT_ABOVE_WATERMARK: 412,
  DOUBLE_BLOCK: 412,
  DOUBLE_VOTE: 412,
  SURROUNDING_VOTE: 412,
  SURROUNDED_VOTE: 412,
  SOURCE_BELOW_WATERMARK: 412,
  TARGET_NOT_ABOVE_WATERMARK: 412,
  SOURCE_AFTER_TARGET: 412,
  GENESIS_VALIDATORS_ROOT_MISMATCH: 412,
  // guard: refused for what the signer may have forgotten or must not do yet
  BELOW_STARTUP_FLOOR: 412,
  AHEAD_OF_CLOCK: 412,
  BELOW_RESERVATION: 412,
  // interchange
  INVALID_INTERCHANGE: 400,
  UNSUPPORTED_INTERCHANGE_VERSION: 400,
  // slashing-storage: retry once the database is back
  DATABASE_UNAVAILABLE: 503,
  DATABASE_LOCKED: 503,
  COMMIT_FAILED: 503,
  STORE_CLOSED: 503,
  CONTINUITY_UNAVAILABLE: 503,
  // slashing-identity: stops a start; were one to reach a request, nothing is signed until the operator acts
  SLASHING_DB_MISSING: 503,
  SLASHING_DB_EMPTIED: 503,
  SLASHING_DB_MISMATCH: 503,
  // tee: the platform's own failures, except evidence requests that are malformed
  UNSEAL_FAILED: 500,
  SEAL_FAILED: 500,
  EVIDENCE_FAILED: 500,
  NOT_ATTESTED: 500,
  PLATFORM_UNAVAILABLE: 503,
  INVALID_EVIDENCE: 400,
  // A migration request from a build the release key never listed: the request is refused as such.
  NOT_ALLOWLISTED: 403,
  // A signer started without --release-key hands its state key to nobody. 403, not 503 or 500:
  // nothing failed and no retry helps; the request was understood and the operator's setting refuses it.
  MIGRATION_DISABLED: 403,
  // The successor's side: the predecessor it asked refused; no route throws it, a start or `tee migrate` fails with it.
  MIGRATION_REFUSED: 502,
  // keys: a keystore, password or envelope the caller gave is unusable; IO is ours
  INVALID_KEYSTORE: 400,
  WRONG_PASSWORD: 400,
  MISSING_PASSWORD: 400,
  PUBKEY_MISMATCH: 400,
  INVALID_SECRET: 400,
  SEALED_FILE_INVALID: 500,
  INVALID_ENVELOPE: 400,
  DECRYPT_FAILED: 400,
  IO_FAILED: 500,
  // another process holds the data directory (an offline command beside a running signer)
  DATA_DIR_IN_USE: 409,
  // bls
  KEY_NOT_LOADED: 404,
  WORKER_FAILED: 500,
  // config and cli errors reach HTTP only through settings a request names (e.g. a network file)
  INVALID_CONFIG: 400,
  USAGE: 400,
  // auth
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
} as const satisfies Record<ErrorCode, Status>;

export function statusFor(error: unknown): number {
  if (error instanceof SignerError) return ERROR_STATUS[error.code as ErrorCode];
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) return 400;
  const status = fastifyError.statusCode;
  if (typeof status === "number" && status >= 400 && status < 600) return status;
  return 500;
}

/** Body of every error answer: the beacon-API shape `{code, message}` that consensus clients log. */
export interface ErrorBody {
  code: number;
  message: string;
}

/** The status for `error` and the message a client may see: a 500 says nothing of internals, every other status explains what was wrong with the request. */
export function publicError(error: Error): { status: number; message: string } {
  const status = statusFor(error);
  return { status, message: status === 500 ? "internal error" : error.message };
}

/**
 * The audit line of a request answered 4xx: the route, the status and the message the client got,
 * which names the offending field (`beacon_block/version is …`, `body/pubkeys/0 must match …`), so
 * the log says what was refused and why without a debug level.
 */
export function logRefused(request: FastifyRequest, status: number, message: string): void {
  if (status >= 400 && status < 500) request.log.warn({ reqId: request.id, route: request.routeOptions.url ?? request.url, status, message, remote: request.ip }, "request refused");
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: Error, request, reply) => {
    const { status, message } = publicError(error);
    if (status >= 500 && status !== 503) {
      request.log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, "request failed");
    }
    logRefused(request, status, message);
    const body: ErrorBody = { code: status, message };
    void reply.status(status).type("application/json; charset=utf-8").send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 404, message: `no route for ${request.method} ${request.url}` } satisfies ErrorBody);
  });
}
