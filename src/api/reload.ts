import type { FastifyInstance } from "fastify";

/**
 * Web3Signer's `POST /reload`: starts a reload of the keys and answers 200 at once with an empty
 * body, as Web3Signer does; decrypting new keystores can take seconds each, so the outcome goes to
 * the log and `/healthcheck` instead.
 */
export function registerReloadRoute(app: FastifyInstance, reload: () => void): void {
  void app.register(async (scope) => {
    // The body means nothing, and HTTP clients often send a bare POST as `Content-Type:
    // application/json` with no body, which fastify's JSON parser answers with 400: any body is
    // accepted and left unread (Node discards it once the answer is sent).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null));
    scope.post("/reload", async (_request, reply) => {
      reload();
      return reply.status(200).send();
    });
  });
}
