/** The slashing-protection backends a benchmarked signer runs on, shared by bench/run.ts and bench/ab.ts. */
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { createTestDatabase } from "../test/helpers/slashingPostgres.js";
import { PostgresTlsFront } from "../test/helpers/pgTls.js";
import { makePki } from "../test/helpers/tls.js";

export const BACKENDS = ["sqlite", "postgres", "sqlite+cs"] as const;
export type Backend = (typeof BACKENDS)[number];

/** The PostgreSQL server for the "postgres" and "sqlite+cs" backends; "none" where a bench may skip them. */
export const pgUrl = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const db = await createTestDatabase(pgUrl);
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}

/**
 * SQLite with the continuity store (issue 18's host-proof mode): a PostgreSQL behind TLS with a
 * throwaway CA, as the signer requires it. Each key in the benchmarks signs one epoch above its
 * last on every request, so the default 2-epoch window is renewed every other request per key; a
 * validator client signs once an epoch, so this is that mode's worst case, not its usual cost.
 */
async function withContinuityStore<T>(dir: string, fn: (args: string[]) => Promise<T>): Promise<T> {
  // A directory per call: makePki writes fixed file names, and two signers at once each get a CA.
  const pki = makePki(await mkdtemp(join(dir, "pki-")));
  const front = new PostgresTlsFront(new URL(pgUrl), pki.serverCert, pki.serverKey);
  await front.start();
  try {
    return await withDatabase((url) => fn(["--continuity-store", front.url(new URL(url).pathname.slice(1)), "--continuity-ca", pki.caCert]));
  } finally {
    await front.stop();
  }
}

/**
 * Calls `fn` with the serve flags that put a signer on `backend`, with a database of its own (the
 * SQLite file lives in the signer's data directory; PostgreSQL databases are created fresh and
 * dropped afterwards). `dir` is scratch space for the continuity store's certificates.
 */
export function withBackend<T>(backend: Backend, dir: string, fn: (args: string[]) => Promise<T>): Promise<T> {
  switch (backend) {
    case "sqlite":
      return fn([]);
    case "postgres":
      return withDatabase((url) => fn(["--slashing-db", url]));
    case "sqlite+cs":
      return withContinuityStore(dir, fn);
  }
}
