import { createHash, timingSafeEqual } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InputError } from "../errors.js";
import { ensureApiToken } from "./apiToken.js";
import { AuthError } from "./errors.js";

/**
 * Who may ask for what (docs/api.md, "Access model"): the bearer tokens the API checks. The API
 * token (`<data-dir>/api-token.txt`) grants every route; the optional signing token grants only the
 * duty requests a validator client sends. Every privileged route checks through `require` here, so
 * there is one comparison and one pair of answers (401 without a token, 403 with a wrong one).
 */

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** The token a request presents in `Authorization: Bearer <token>`, if any. */
function presented(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header === undefined ? undefined : /^Bearer +(\S+)\s*$/i.exec(header)?.[1];
}

/** A set of accepted bearer tokens, compared by digest; `label` names them in messages ("API token"). */
export class BearerTokens {
  private readonly digests: Buffer[];

  constructor(
    readonly label: string,
    tokens: string[],
  ) {
    this.digests = tokens.map(digest);
  }

  /** Throws AuthError unless the request presents one of the tokens; `what` names what was asked for. */
  require(request: FastifyRequest, what: string): void {
    const token = presented(request);
    if (token === undefined) {
      throw new AuthError("UNAUTHORIZED", `missing Authorization: Bearer <token> header: ${what} needs the ${this.label}`);
    }
    const d = digest(token);
    // Comparing digests keeps each comparison constant-time whatever the presented token's length;
    // every accepted token is compared, so the time does not say which one nearly matched.
    let ok = false;
    for (const accepted of this.digests) ok = timingSafeEqual(d, accepted) || ok;
    if (!ok) throw new AuthError("FORBIDDEN", `invalid ${this.label}`);
  }
}

/** The two levels of access the API grants, from the tokens `serve` was given. */
export interface Access {
  /** The API token only: keys, reload, slashing import/export, DEPOSIT. */
  operator: BearerTokens;
  /** Duty requests (sign, publicKeys) when a signing token is set: it or the API token. Undefined: open. */
  signing?: BearerTokens;
}

export async function openAccess(apiTokenFile: string, signingTokenFile?: string): Promise<Access> {
  const apiToken = await ensureApiToken(apiTokenFile);
  const operator = new BearerTokens("API token", [apiToken]);
  if (!signingTokenFile) return { operator };
  const signingToken = await ensureApiToken(signingTokenFile);
  if (signingToken === apiToken) {
    throw new InputError("INVALID_INPUT", `${signingTokenFile} holds the API token: the signing token must differ, or validator clients could change keys`);
  }
  return { operator, signing: new BearerTokens("signing token (or the API token)", [signingToken, apiToken]) };
}

/** Prefix of the signing API's routes (sign, publicKeys): what a validator client calls. */
const SIGNING_ROUTES = "/api/v1/eth2/";

function isDeposit(body: unknown): boolean {
  const type = (body as { type?: unknown } | null | undefined)?.type;
  return typeof type === "string" && type.toUpperCase() === "DEPOSIT";
}

type Hook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/** Runs `check` as a callback-style hook: an async hook costs a promise per request on the signing path. */
const hook =
  (check: (request: FastifyRequest) => void): Hook =>
  (request, _reply, done) => {
    try {
      check(request);
    } catch (e) {
      done(e as Error);
      return;
    }
    done();
  };

const withHook = (existing: Hook | Hook[] | undefined, added: Hook): Hook[] => [...(existing === undefined ? [] : [existing].flat()), added];

/**
 * The signing API's gate, at the API boundary so that it holds whatever the routes do: with a
 * signing token, every request needs it (or the API token) before its body is read; DEPOSIT, which
 * no validator client sends and which decides who owns a validator's stake, is refused unless
 * `allowDeposit`, and then needs the API token. Registered before the routes (onRoute sees only
 * routes added after it).
 */
export function guardSigningRoutes(app: FastifyInstance, opts: { access: Access; allowDeposit: boolean }): void {
  const { operator, signing } = opts.access;
  const authenticate = signing && hook((request) => signing.require(request, "the signing API"));
  const gateDeposit = hook((request) => {
    if (!isDeposit(request.body)) return;
    if (!opts.allowDeposit) {
      throw new AuthError("FORBIDDEN", "DEPOSIT signing over the API is off: start serve with --allow-deposit-signing (and send the API token) to allow it");
    }
    operator.require(request, "DEPOSIT signing");
  });
  app.addHook("onRoute", (route) => {
    if (!route.url.startsWith(SIGNING_ROUTES)) return;
    if (authenticate) route.onRequest = withHook(route.onRequest as Hook | Hook[] | undefined, authenticate);
    route.preHandler = withHook(route.preHandler as Hook | Hook[] | undefined, gateDeposit);
  });
}

/**
 * Who made a request, for the audit trail of key changes: the remote address and the credential it
 * passed (the keymanager API takes only the API token), plus the TLS client certificate's subject
 * and fingerprint when one was presented (--tls-client-ca). Never the token itself.
 */
export function callerOf(request: FastifyRequest): { remote: string; auth: string; tlsClient?: string } {
  const socket = request.raw.socket as Partial<TLSSocket>;
  const cert = socket.getPeerCertificate?.();
  return {
    remote: request.ip,
    auth: "api-token",
    ...(cert && cert.fingerprint256 && { tlsClient: `${cert.subject?.CN ?? "?"} ${cert.fingerprint256}` }),
  };
}
