import type { FastifyError, FastifyInstance } from "fastify";
import { SignerError } from "../errors.js";

/**
 * The one place where domain errors become HTTP statuses, following Web3Signer: 400 for bad input,
 * 404 for an unknown key, 412 when slashing protection refuses, 503 when the slashing database
 * cannot be reached (nothing is signed without its record).
 */
const STATUS_BY_DOMAIN: Record<string, number> = {
  input: 400,
  config: 400,
  keys: 400,
  interchange: 400,
  slashing: 412,
  "slashing-storage": 503,
};

const STATUS_BY_CODE: Record<string, number> = {
  KEY_NOT_LOADED: 404,
  IO_FAILED: 500,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
};

export function statusFor(error: unknown): number {
  if (error instanceof SignerError) {
    return STATUS_BY_CODE[error.code] ?? STATUS_BY_DOMAIN[error.domain] ?? 500;
  }
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

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: Error, request, reply) => {
    const { status, message } = publicError(error);
    if (status >= 500 && status !== 503) {
      request.log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, "request failed");
    }
    const body: ErrorBody = { code: status, message };
    void reply.status(status).type("application/json; charset=utf-8").send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 404, message: `no route for ${request.method} ${request.url}` } satisfies ErrorBody);
  });
}
