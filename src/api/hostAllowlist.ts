import type { FastifyInstance } from "fastify";

/** Entries of a Host allowlist that accept any Host, as Web3Signer spells them. */
const ANY_HOST = new Set(["*", "all", "any"]);

function hostOf(header: string | undefined): string {
  if (!header) return "";
  // "[::1]:9000" → "::1", "localhost:9000" → "localhost"
  const bracketed = /^\[([^\]]+)\]/.exec(header);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return header.replace(/:\d+$/, "").toLowerCase();
}

/** Requests whose Host header is not in `allow` are answered 403 (DNS rebinding), unless `allow` holds `*`. */
export function registerHostAllowlist(app: FastifyInstance, allow: readonly string[]): void {
  if (allow.some((h) => ANY_HOST.has(h))) return;
  app.addHook("onRequest", async (request, reply) => {
    const host = hostOf(request.headers.host);
    if (!allow.includes(host)) {
      await reply.status(403).send({ code: 403, message: `host "${host}" is not in the host allowlist` });
    }
  });
}
