import type { FastifyInstance } from "fastify";

/** Entries of a Host allowlist that accept any Host, as Web3Signer spells them. */
const ANY_HOST = new Set(["*", "all", "any"]);

/** "[::1]:9000" → "::1", "localhost:9000" → "localhost"; without regular expressions, as every request asks. */
function hostOf(header: string | undefined): string {
  if (!header) return "";
  if (header.charCodeAt(0) === 0x5b /* [ */) {
    const close = header.indexOf("]");
    if (close > 1) return header.slice(1, close).toLowerCase();
  }
  const colon = header.lastIndexOf(":");
  return (colon >= 0 && isPort(header, colon + 1) ? header.slice(0, colon) : header).toLowerCase();
}

function isPort(text: string, from: number): boolean {
  if (from >= text.length) return false;
  for (let at = from; at < text.length; at++) {
    const c = text.charCodeAt(at);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Requests whose Host header is not in `allow` are answered 403 (DNS rebinding), unless `allow` holds `*`. */
export function registerHostAllowlist(app: FastifyInstance, allow: readonly string[]): void {
  if (allow.some((h) => ANY_HOST.has(h))) return;
  const allowed = new Set(allow);
  // Callback-style: an async hook costs a promise per request on the signing path.
  app.addHook("onRequest", (request, reply, done) => {
    const host = hostOf(request.headers.host);
    if (allowed.has(host)) return done();
    void reply.status(403).send({ code: 403, message: `host "${host}" is not in the host allowlist` });
  });
}
