import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { guardSigningRoutes, type Access, type BearerTokens } from "./auth.js";
import { registerErrorHandler } from "./errors.js";
import { eth2Routes, type Eth2Deps } from "./eth2.js";
import { evidenceRoute, type EvidenceDeps } from "./evidence.js";
import { healthRoutes, type HealthCheck } from "./health.js";
import { registerHostAllowlist } from "./hostAllowlist.js";
import { registerJsonBody } from "./jsonBody.js";
import { keymanagerRoutes, type KeymanagerOptions } from "./keymanager.js";
import { metricsRoute, type MetricsRouteOptions } from "./metrics.js";
import { reloadRoute, type Reloads } from "./reload.js";
import { stateMigrationRoute, type StateMigrationDeps } from "./stateMigration.js";
import { REQUEST_VALIDATION } from "./validation.js";

export interface TlsOptions {
  cert: Buffer;
  key: Buffer;
  /** When set, clients must present a certificate issued by one of these CAs (mTLS). */
  clientCa?: Buffer;
}

/**
 * What one client may hold of the server. Without these a body that never finishes holds its
 * connection and its buffered bytes forever, and a few hundred such connections exhaust the
 * process's files and memory (issue 19).
 */
export interface ConnectionLimits {
  /** Longest wait for a request's headers (and, over TLS, for the handshake) once a connection is open. */
  headersTimeoutMs: number;
  /** Longest wait for a whole request, headers and body; then 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** A connection with no request in progress is closed after this long. */
  idleTimeoutMs: number;
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
  /** On close, requests still in progress after this long have their connections closed. */
  shutdownTimeoutMs: number;
}

export interface ServerOptions {
  logger: Logger;
  /** Largest request body accepted; larger ones get 413 before they are parsed. */
  bodyLimit: number;
  limits: ConnectionLimits;
  tls?: TlsOptions;
  /** Host header values (without port) accepted; any other gets 403. `*`, `all` or `any` accepts any. */
  hostAllowlist: string[];
  /** The tokens the routes check (docs/api.md, "Access model"). */
  access: Access;
  /** Whether DEPOSIT may be signed over the API (with the API token). */
  allowDepositSigning: boolean;
  eth2: Eth2Deps;
  health: HealthCheck[];
  metrics: MetricsRouteOptions;
  evidence: EvidenceDeps;
  reload: { reloads: Reloads; operator: BearerTokens };
  stateMigration: StateMigrationDeps;
  keymanager: KeymanagerOptions;
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { limits } = opts;
  // Node checks the header and request timeouts of open connections every this often (30 s by
  // default, which would let a timeout of a few seconds run to half a minute).
  const timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    // Between requests only: no socket inactivity timeout while one is being answered, which would
    // cut off a keymanager import that decrypts for minutes before it answers.
    keepAliveTimeout: limits.idleTimeoutMs,
    // Closing ends the idle connections at once, the others when their answer is sent or when the
    // shutdown timeout (below) ends them.
    forceCloseConnections: "idle",
    http: timeouts,
    // One log line per sign decision comes from the eth2 routes; per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify gives each request a child logger that binds its reqId, and pino makes one in ~2 µs
    // (its redaction is set up again), on every sign request, for lines that are almost never
    // written. Requests log through the process logger; the error handler names the request.
    childLoggerFactory: (logger) => logger,
    ...REQUEST_VALIDATION,
    ...(opts.tls && {
      https: {
        ...timeouts,
        // A client that opens a connection and never completes the handshake is not an HTTP
        // connection yet: none of the timeouts above would end it.
        handshakeTimeout: limits.headersTimeoutMs,
        cert: opts.tls.cert,
        key: opts.tls.key,
        ...(opts.tls.clientCa && { ca: opts.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
      },
    }),
  }) as unknown as FastifyInstance;
  app.server.maxConnections = limits.maxConnections;
  registerErrorHandler(app);
  registerJsonBody(app);
  // On close, Node ends the connections that are idle at that moment; one busy with a request then
  // would sit in keep-alive until its timeout. Answers given while draining close their connection,
  // and whatever is still open after the shutdown timeout is closed, whatever its client does: a
  // request cut short then was either not decided yet or is already on record (nothing is released
  // before its record is durable), so no signature is lost that slashing protection relies on.
  let draining = false;
  app.addHook("preClose", async () => {
    draining = true;
    const timer = setTimeout(() => app.server.closeAllConnections(), limits.shutdownTimeoutMs);
    timer.unref();
    app.server.once("close", () => clearTimeout(timer));
  });
  // Callback-style hooks: an async hook costs a promise per request on the signing path.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (draining) void reply.header("connection", "close");
    done(null, payload);
  });
  registerHostAllowlist(app, opts.hostAllowlist);
  guardSigningRoutes(app, { access: opts.access, allowDeposit: opts.allowDepositSigning });
  // Every route group, each a plugin in a scope of its own (but metrics, whose hook counts them
  // all): the hooks, parsers and error handler above apply to each of them.
  await app.register(healthRoutes, { checks: opts.health });
  await app.register(eth2Routes, opts.eth2);
  await app.register(metricsRoute, opts.metrics);
  await app.register(evidenceRoute, opts.evidence);
  await app.register(reloadRoute, opts.reload);
  await app.register(stateMigrationRoute, opts.stateMigration);
  await app.register(keymanagerRoutes, opts.keymanager);
  return app;
}
