/**
 * The schema migrations of each slashing database, kept as versioned SQL files under
 * migrations/<set>/ (V00001__what.sql, …): file N brings a database from version N-1 to N. Each
 * backend runs the pending ones in its own transaction, with its own client, and records the new
 * version; what is pending, and whether the recorded version can be used at all, is decided here.
 */
import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";
import { StorageError, type StorageCode } from "./errors.js";

export type MigrationSet = "sqlite" | "postgres" | "continuity";

const FILE_RE = /^V(\d{5})__[a-z0-9_]+\.sql$/;

/** The set's migration scripts in version order; a gap in the numbering is a packaging fault, refused. */
export function migrationScripts(set: MigrationSet): string[] {
  const dir = new URL(`./migrations/${set}/`, import.meta.url);
  const files = readdirSync(dir).filter((f) => FILE_RE.test(f)).sort();
  files.forEach((f, i) => {
    if (Number(FILE_RE.exec(f)![1]) !== i + 1) throw new Error(`migration ${set}/${f} is out of sequence (expected version ${i + 1})`);
  });
  return files.map((f) => readFileSync(new URL(f, dir), "utf8"));
}

/** What a database at `recorded` version still needs: the scripts to run, in order, and the version they reach. */
export interface MigrationPlan {
  pending: string[];
  version: number;
}

/**
 * A database written by a newer signer is refused rather than opened: its tables may hold records
 * this one would not see, and lowering its version would make the newer signer migrate it again.
 */
export function migrationPlan(
  set: MigrationSet,
  recorded: string | undefined,
  /** How the refusal names the database, e.g. "slashing database /data/x.sqlite". */
  database: string,
  code: StorageCode = "DATABASE_UNAVAILABLE",
): MigrationPlan {
  const scripts = migrationScripts(set);
  const version = recorded === undefined ? 0 : /^\d+$/.test(recorded) ? Number(recorded) : NaN;
  if (!Number.isSafeInteger(version)) {
    throw new StorageError(code, `${database} has an unreadable schema version (${recorded})`);
  }
  if (version > scripts.length) {
    throw new StorageError(
      code,
      `${database} has schema version ${recorded}, newer than this signer's ${scripts.length}; run a signer at least as new as the one that wrote it`,
    );
  }
  return { pending: scripts.slice(version), version: scripts.length };
}

/** How long the PostgreSQL runner waits for one migration script before giving up (client side). */
const MIGRATION_TIMEOUT_MS = 30 * 60_000;

/**
 * The PostgreSQL runner, for both sets kept there: inside the caller's transaction, which holds the
 * migration lock, so that of several processes starting at once one migrates and the others then
 * find the version recorded. `meta` is the set's key/value table of the same shape in either.
 * True when the database had no schema before: it is new.
 */
export async function migratePostgres(
  c: pg.ClientBase,
  set: "postgres" | "continuity",
  meta: "slashing_meta" | "continuity_meta",
  database: string,
  code: StorageCode = "DATABASE_UNAVAILABLE",
): Promise<boolean> {
  const exists = await c.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [meta]);
  const recorded = exists.rows[0]!.present
    ? (await c.query<{ value: string }>(`SELECT value FROM ${meta} WHERE key = 'schema_version'`)).rows[0]?.value
    : undefined;
  const plan = migrationPlan(set, recorded, database, code);
  if (plan.pending.length === 0) return false;
  // A migration may copy every record: on a long history that takes longer than the sign path's
  // timeouts allow one statement (300k attestations took 2 s here), so they are lifted for it.
  await c.query("SET LOCAL statement_timeout = 0");
  for (const sql of plan.pending) await c.query({ text: sql, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig);
  await c.query(`CREATE TABLE IF NOT EXISTS ${meta} (key text PRIMARY KEY, value text NOT NULL)`);
  await c.query(
    `INSERT INTO ${meta} (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [String(plan.version)],
  );
  return recorded === undefined;
}
