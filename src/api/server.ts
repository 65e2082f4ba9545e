import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { registerErrorHandler } from "./errors.js";
import { registerEth2Routes, type Eth2Deps } from "./eth2.js";
import { registerHealthRoutes, type HealthCheck } from "./health.js";
import { registerJsonBody } from "./jsonBody.js";
import { SIGN_REQUEST_AJV_OPTIONS } from "../signing/schema.js";

export interface TlsOptions {
  cert: Buffer;
  key: Buffer;
  /** When set, clients must present a certificate issued by one of these CAs (mTLS). */
  clientCa?: Buffer;
}

export interface ServerOptions {
  logger: Logger;
  /** Largest request body accepted; larger ones get 413 before they are parsed. */
  bodyLimit: number;
  tls?: TlsOptions;
  /** Host header values (without port) accepted; any other gets 403. Undefined accepts any. */
  hostAllowlist?: string[];
  eth2: Eth2Deps;
  health: HealthCheck[];
  /** Further route groups (keymanager API, metrics, evidence) registered by the composition root. */
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
}

function hostOf(header: string | undefined): string {
  if (!header) return "";
  // "[::1]:9000" → "::1", "localhost:9000" → "localhost"
  const bracketed = /^\[([^\]]+)\]/.exec(header);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return header.replace(/:\d+$/, "").toLowerCase();
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    // One log line per sign decision comes from the eth2 routes; per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify gives each request a child logger that binds its reqId, and pino makes one in ~2 µs
    // (its redaction is set up again), on every sign request, for lines that are almost never
    // written. Requests log through the process logger; the error handler names the request.
    childLoggerFactory: (logger) => logger,
    ajv: { customOptions: SIGN_REQUEST_AJV_OPTIONS },
    ...(opts.tls && {
      https: {
        cert: opts.tls.cert,
        key: opts.tls.key,
        ...(opts.tls.clientCa && { ca: opts.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
      },
    }),
  }) as unknown as FastifyInstance;
  registerErrorHandler(app);
  registerJsonBody(app);
  // On close, Node ends the connections that are idle at that moment; one busy with a request then
  // would sit in keep-alive until its timeout. Answers given while draining close their connection.
  let draining = false;
  app.addHook("preClose", async () => {
    draining = true;
  });
  // Callback-style hooks: an async hook costs a promise per request on the signing path.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (draining) void reply.header("connection", "close");
    done(null, payload);
  });
  const allow = opts.hostAllowlist;
  if (allow && allow.length > 0 && !allow.includes("*")) {
    app.addHook("onRequest", async (request, reply) => {
      const host = hostOf(request.headers.host);
      if (!allow.includes(host)) {
        await reply.status(403).send({ code: 403, message: `host "${host}" is not in the host allowlist` });
      }
    });
  }
  registerHealthRoutes(app, opts.health);
  registerEth2Routes(app, opts.eth2);
  for (const plugin of opts.plugins ?? []) await plugin(app);
  return app;
}
