import type { FastifyInstance } from "fastify";
import type { SignerMetrics } from "./metrics.js";

/** Route label of requests no route matched (404s): one series, whatever the URL. */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * `GET /metrics` in the Prometheus text format, and an `onResponse` hook that counts every answered
 * request by route pattern and status. The pattern (`/api/v1/eth2/sign/:identifier`), not the URL,
 * is the label, so the number of series is bounded by the routes, not by the pubkeys asked for.
 *
 * Register it on the root instance: the hook then applies to every route, including those of
 * encapsulated plugins (the keymanager API).
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: SignerMetrics): void {
  app.addHook("onResponse", (request, reply, done) => {
    metrics.countHttpRequest(request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode);
    done();
  });

  app.get("/metrics", async (_request, reply) => {
    const { contentType, body } = await metrics.scrape();
    return reply.type(contentType).send(body);
  });
}
