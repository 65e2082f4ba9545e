import Fastify, { type FastifyInstance, type FastifyPluginAsync } from "fastify";
import type { SignerMetrics } from "../metrics/metrics.js";
import { registerHostAllowlist } from "./hostAllowlist.js";

/** Route label of requests no route matched (404s): one series, whatever the URL. */
export const UNMATCHED_ROUTE = "unmatched";

export interface MetricsRouteOptions {
  metrics: SignerMetrics;
  /** False when `/metrics` has a listener of its own (--metrics-port): the hook alone, then. */
  serve: boolean;
}

const plugin: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics, serve }) => {
  app.addHook("onResponse", (request, reply, done) => {
    metrics.countHttpRequest(request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode);
    done();
  });
  if (serve) serveMetrics(app, metrics);
};

/**
 * An `onResponse` hook that counts every answered request by route pattern and status, and, unless
 * `serve` is false, `GET /metrics` in the Prometheus text format. The pattern
 * (`/api/v1/eth2/sign/:identifier`), not the URL, is the label, so the number of series is bounded
 * by the routes, not by the pubkeys asked for.
 *
 * Not encapsulated (fastify's `skip-override`, which fastify-plugin sets): its hook then lands on
 * the instance that registers it and so applies to every route, those of the other plugins too.
 */
export const metricsRoute = Object.assign(plugin, { [Symbol.for("skip-override")]: true });

function serveMetrics(app: FastifyInstance, metrics: SignerMetrics): void {
  app.get("/metrics", async (_request, reply) => {
    const { contentType, body } = await metrics.scrape();
    return reply.type(contentType).send(body);
  });
}

/**
 * `--metrics-port`: `/metrics` alone on a listener of its own, as Web3Signer serves it, so a
 * Prometheus network can reach it without reaching the signing API. Plain HTTP behind its own Host
 * allowlist; nothing on it is secret (counts and latencies).
 */
export async function startMetricsListener(
  metrics: SignerMetrics,
  opts: { host: string; port: number; hostAllowlist: readonly string[] },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  registerHostAllowlist(app, opts.hostAllowlist);
  serveMetrics(app, metrics);
  const url = await app.listen({ host: opts.host, port: opts.port });
  return { url, close: () => app.close() };
}
