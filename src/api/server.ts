import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { registerErrorHandler } from "./errors.js";
import { registerEth2Routes, type Eth2Deps } from "./eth2.js";
import { registerHealthRoutes, type HealthCheck } from "./health.js";

export interface ServerOptions {
  logger: Logger;
  /** Largest request body accepted; larger ones get 413 before they are parsed. */
  bodyLimit: number;
  eth2: Eth2Deps;
  health: HealthCheck[];
  /** Further route groups (keymanager API, metrics, evidence) registered by the composition root. */
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    // One log line per sign decision comes from the eth2 routes; per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false, allowUnionTypes: true } },
  });
  registerErrorHandler(app);
  registerHealthRoutes(app, opts.health);
  registerEth2Routes(app, opts.eth2);
  for (const plugin of opts.plugins ?? []) await plugin(app);
  return app;
}
