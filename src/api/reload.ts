import type { FastifyInstance } from "fastify";

/**
 * Web3Signer's `POST /reload`: starts a reload of the keys and answers 200 at once with an empty
 * body, as Web3Signer does; decrypting new keystores can take seconds each, so the outcome goes to
 * the log and `/healthcheck` instead.
 */
export function registerReloadRoute(app: FastifyInstance, reload: () => void): void {
  app.post("/reload", async (_request, reply) => {
    reload();
    return reply.status(200).send();
  });
}
