/**
 * The PostgreSQL backend for the shared slashing suites. Each run creates its own database with a
 * random name (dropped in cleanup), so parallel runs never collide; each store gets a fresh schema
 * in it, which is much cheaper than a database per store.
 * URL of the server: SECURE_SIGNER_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { lockKey, openPostgresStore } from "../../src/slashing/postgres.js";
import type { SlashingProtection } from "../../src/slashing/store.js";
import type { Backend, OpenOptions } from "./slashingBackends.js";

export const ADMIN_URL = process.env.SECURE_SIGNER_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Creates a database with a random name on the server of `adminUrl`; `drop` removes it, closing
 * whatever is still connected.
 */
export async function createTestDatabase(adminUrl = ADMIN_URL): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `slashing_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Another session on the database at `url` that can hold a key's lock, as a signer instance
 * signing that key or an import holds it. `end` closes its connection.
 */
export async function keyLockHolder(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    hold: async (pubkey: string) => {
      await client.query("BEGIN");
      await lockKey(client, pubkey);
    },
    release: async () => {
      await client.query("COMMIT");
    },
    /** Resolves once another session waits for an advisory lock in this database: the held one, in a test. */
    waitedFor: async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await client.query<{ waiting: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS waiting`,
        );
        if (r.rows[0]!.waiting) return;
        if (Date.now() > deadline) throw new Error("no session waited for the held lock");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    end: () => client.end(),
  };
}

export async function postgresBackend(): Promise<Backend> {
  const db = await createTestDatabase();
  let n = 0;
  const schemas = new WeakMap<SlashingProtection, string>();
  const open = async (schema: string, options: OpenOptions): Promise<SlashingProtection> => {
    const store = await openPostgresStore(db.url, { ...options, schema, poolSize: 4 });
    schemas.set(store, schema);
    return store;
  };
  return {
    name: "postgres",
    fresh: (options = {}) => open(`s${n++}`, options),
    reopen: (store, options = {}) => open(schemas.get(store)!, options),
    cleanup: () => db.drop(),
  };
}
