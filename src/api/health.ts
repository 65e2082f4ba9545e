import { statfs } from "node:fs/promises";
import { basename } from "node:path";
import type { FastifyPluginAsync } from "fastify";

export type Status = "UP" | "DOWN";

export interface CheckResult {
  status: Status;
  data?: Record<string, unknown>;
}

/** One named check of `/healthcheck` (keys loaded, slashing database, platform …). */
export interface HealthCheck {
  id: string;
  run(): Promise<CheckResult>;
}

/**
 * DOWN when the file system holding `dir` has less than `minFreeBytes` free for the signer: the
 * slashing database (SQLite) and sealed keys live there, and once a commit cannot grow the file
 * every block and attestation is refused. Reported before that, so an orchestrator can act first.
 */
export function diskSpaceCheck(dir: string, minFreeBytes: number): HealthCheck {
  return {
    id: "disk-space",
    run: async () => {
      const fs = await statfs(dir);
      const free = fs.bavail * fs.bsize;
      return { status: free >= minFreeBytes ? "UP" : "DOWN", data: { "free-bytes": free, "min-free-bytes": minFreeBytes } };
    },
  };
}

/** At most this many failed files are named in keys-check; `error-count` counts them all. */
export const MAX_FAILED_FILES_LISTED = 20;

/**
 * The keys: how many sign and which files failed to load (sealed keys at start, the keystore
 * directory at its latest scan). One bad file among many is reported here and in the log, not as
 * DOWN: every other key signs, and a 503 would take them all out of a load balancer's rotation.
 * DOWN only when files failed and no key at all could load, when the signer can sign nothing.
 */
export function keysHealthCheck(loaded: () => number, failed: () => ReadonlyArray<{ file: string }>): HealthCheck {
  return {
    id: "keys-check",
    run: async () => {
      const errors = failed();
      const keysLoaded = loaded();
      return {
        status: errors.length > 0 && keysLoaded === 0 ? "DOWN" : "UP",
        data: {
          "keys-loaded": keysLoaded,
          "error-count": errors.length,
          ...(errors.length > 0 && { "failed-files": errors.slice(0, MAX_FAILED_FILES_LISTED).map((e) => basename(e.file)) }),
        },
      };
    },
  };
}

async function runCheck(check: HealthCheck): Promise<{ id: string } & CheckResult> {
  try {
    return { id: check.id, ...(await check.run()) };
  } catch (e) {
    return { id: check.id, status: "DOWN", data: { error: (e as Error).message } };
  }
}

/**
 * `/upcheck` answers while the process serves HTTP; `/healthcheck` reports each check in Web3Signer's
 * shape (`status`, `checks`, `outcome`) and answers 503 when any is DOWN, so orchestrators can act on
 * the status code alone.
 */
export const healthRoutes: FastifyPluginAsync<{ checks: HealthCheck[] }> = async (app, { checks }) => {
  app.get("/upcheck", async (_request, reply) => reply.type("text/plain; charset=utf-8").send("OK"));

  app.get("/healthcheck", async (_request, reply) => {
    const results = await Promise.all(checks.map(runCheck));
    const status: Status = results.every((r) => r.status === "UP") ? "UP" : "DOWN";
    return reply.status(status === "UP" ? 200 : 503).send({ status, checks: results, outcome: status });
  });
};
