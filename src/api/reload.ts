import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { Coalesced } from "../util/coalesced.js";
import type { BearerTokens } from "./auth.js";

/** Web3Signer's reload states, as `GET /reload` names them. */
export type ReloadState = "idle" | "running" | "completed" | "completed_with_errors" | "failed";

export interface ReloadReport {
  status: ReloadState;
  /** ISO-8601 time the latest reload started or, once done, finished. */
  lastOperationTime?: string;
  lastError?: string;
}

/**
 * Reloads of the keystore directory and the state of the latest one. `task` resolves with the
 * number of keystores that failed to load, or rejects when the directory could not be reloaded at
 * all. POST /reload starts one only when none runs (Web3Signer answers 409 otherwise); SIGHUP, which
 * cannot be answered, queues one more instead (Coalesced).
 */
export class Reloads {
  private report: ReloadReport = { status: "idle" };
  private readonly runs: Coalesced;
  private pending = 0;

  constructor(task: () => Promise<number>) {
    this.runs = new Coalesced(async () => {
      this.report = { status: "running", lastOperationTime: new Date().toISOString() };
      let next: ReloadReport;
      try {
        const failed = await task();
        next = failed === 0 ? { status: "completed" } : { status: "completed_with_errors", lastError: `${failed} keystore(s) failed to load` };
      } catch (e) {
        next = { status: "failed", lastError: (e as Error).message };
      }
      this.report = { ...next, lastOperationTime: new Date().toISOString() };
    });
  }

  get running(): boolean {
    return this.pending > 0;
  }

  status(): ReloadReport {
    return this.report;
  }

  /** Settles once a reload begun after the call has finished (SIGHUP, RunningSigner.reload). */
  request(): Promise<void> {
    this.pending++;
    return this.runs.request().finally(() => this.pending--);
  }

  /** Starts a reload unless one is running or queued; whether it did. */
  tryStart(): boolean {
    if (this.running) return false;
    void this.request();
    return true;
  }

  idle(): Promise<void> {
    return this.runs.idle();
  }
}

const Accepted = Type.Object({ status: Type.Literal("accepted"), message: Type.String() });
const Conflict = Type.Object({ status: Type.Literal("error"), message: Type.String() });
const Status = Type.Object({
  status: Type.Union(["idle", "running", "completed", "completed_with_errors", "failed"].map((s) => Type.Literal(s))),
  lastOperationTime: Type.Optional(Type.String()),
  lastError: Type.Optional(Type.String()),
});

/**
 * Web3Signer's `/reload` (its contract since December 2025): `POST` starts a reload and answers
 * 202 at once, or 409 while one runs; `GET` reports the latest one. Decrypting keystores takes
 * seconds each, so the outcome goes to `GET /reload`, the log and `/healthcheck`. A reload makes
 * the signer decrypt again every keystore that may load now, so POST needs the API token: a loop of
 * them from anyone who can reach the port would keep the CPU busy (issue 19). GET, like
 * /healthcheck, says only how the latest one went.
 */
export const reloadRoute: FastifyPluginAsyncTypebox<{ reloads: Reloads; operator: BearerTokens }> = async (app, opts) => {
  // The body means nothing, and HTTP clients often send a bare POST as `Content-Type:
  // application/json` with no body, which fastify's JSON parser answers with 400: any body is
  // accepted and left unread (Node discards it once the answer is sent). The plugin's own scope
  // keeps this from the other routes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));
  app.post(
    "/reload",
    {
      schema: { response: { 202: Accepted, 409: Conflict } },
      onRequest: async (request) => opts.operator.require(request, "POST /reload"),
    },
    async (_request, reply) => {
      if (!opts.reloads.tryStart()) {
        return reply.status(409).send({ status: "error", message: "a reload is already running; try again once GET /reload no longer says running" });
      }
      return reply.status(202).send({ status: "accepted", message: "reload started; GET /reload reports its outcome" });
    },
  );
  app.get("/reload", { schema: { response: { 200: Status } } }, async () => opts.reloads.status());
};
