import { randomBytes } from "node:crypto";
import pg from "pg";
import type { ContinuityStore, ReservationRequest, ReservationResult } from "./continuity.js";
import {
  EMPTY_ROW,
  reserveAttestation,
  reserveBlock,
  type AttestationGrant,
  type BlockGrant,
  type ContinuityRow,
} from "./continuityRules.js";
import { StorageError } from "./errors.js";
import { migratePostgres } from "./migrations.js";
import { healthOf, type StoreHealth } from "./store.js";

export interface PostgresContinuityOptions {
  /** PEM of the CA the server's certificate must chain to; the host name must match it (verify-full). */
  ca: string | Buffer;
  genesisValidatorsRoot: string;
  /** How far past a vote's target a new or extended attestation grant reaches. */
  windowEpochs: number;
  /** Longest wait for a connection or a statement before a reservation fails (503). */
  timeoutMs: number;
}

// Serialises schema creation between instances starting together; any constant other stores do not use.
const MIGRATION_LOCK = 30760;

/**
 * The connection settings, from the URL's parts only. Settings that could weaken TLS (sslmode,
 * sslrootcert, …) are refused rather than ignored: the host must not be able to turn verification
 * off or point it at another CA through the URL it passes in.
 */
function connectionConfig(url: string, options: PostgresContinuityOptions): pg.PoolConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StorageError("CONTINUITY_UNAVAILABLE", "the continuity store URL is not a URL (postgres://user[:password]@host[:port]/database)");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new StorageError("CONTINUITY_UNAVAILABLE", `the continuity store must be postgres://…, got ${u.protocol}`);
  }
  if ([...u.searchParams.keys()].length > 0) {
    throw new StorageError(
      "CONTINUITY_UNAVAILABLE",
      `the continuity store URL takes no parameters (got ${[...u.searchParams.keys()].join(", ")}): TLS is always on, verified against --continuity-ca`,
    );
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port ? Number(u.port) : 5432,
    ...(u.username && { user: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres",
    ssl: { ca: options.ca, rejectUnauthorized: true },
    max: 4,
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    idle_in_transaction_session_timeout: 2 * options.timeoutMs,
    application_name: "secure-signer-continuity",
  };
}

interface DbRow {
  pubkey: string;
  block_holder: string | null;
  block_fence: string;
  max_slot: string | null;
  att_holder: string | null;
  att_fence: string;
  max_target: string | null;
  max_source: string | null;
}

const num = (v: string | null): number | null => (v === null ? null : Number(v));

function fromDb(r: DbRow): ContinuityRow {
  return {
    blockHolder: r.block_holder,
    blockFence: Number(r.block_fence),
    maxSlot: num(r.max_slot),
    attHolder: r.att_holder,
    attFence: Number(r.att_fence),
    maxTarget: num(r.max_target),
    maxSource: num(r.max_source),
  };
}

function unavailable(e: unknown, what: string): StorageError {
  if (e instanceof StorageError) return e;
  return new StorageError("CONTINUITY_UNAVAILABLE", `continuity store: ${what} failed: ${(e as Error).message}`);
}

export class PostgresContinuityStore implements ContinuityStore {
  readonly holder = randomBytes(16).toString("hex");

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresContinuityOptions,
  ) {}

  static async open(url: string, options: PostgresContinuityOptions): Promise<PostgresContinuityStore> {
    const pool = new pg.Pool(connectionConfig(url, options));
    // A dropped connection must not crash the process; the next reservation reconnects.
    pool.on("error", () => undefined);
    pool.on("connect", (client) => client.on("error", () => undefined));
    const store = new PostgresContinuityStore(pool, options);
    try {
      await store.transaction(async (c) => {
        await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
        await migratePostgres(c, "continuity", "continuity_meta", "continuity store", "CONTINUITY_UNAVAILABLE");
      });
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw unavailable(e, "opening");
    }
    return store;
  }

  /**
   * Locks the batch's rows (in pubkey order, so two instances cannot deadlock), decides each
   * request in order with continuityRules.ts, writes the rows that changed and commits: the
   * grants are returned only once they are durable on the server.
   */
  async reserve(batch: readonly ReservationRequest[]): Promise<ReservationResult[]> {
    const gvr = this.options.genesisValidatorsRoot;
    const pubkeys = [...new Set(batch.map((r) => r.pubkey))].sort();
    try {
      return await this.transaction(async (c) => {
        await c.query(
          "INSERT INTO continuity_reservations (gvr, pubkey) SELECT $1, k FROM unnest($2::text[]) AS k ORDER BY k ON CONFLICT DO NOTHING",
          [gvr, pubkeys],
        );
        const locked = await c.query<DbRow>(
          "SELECT pubkey, block_holder, block_fence, max_slot, att_holder, att_fence, max_target, max_source FROM continuity_reservations WHERE gvr = $1 AND pubkey = ANY($2::text[]) ORDER BY pubkey FOR UPDATE",
          [gvr, pubkeys],
        );
        const rows = new Map<string, ContinuityRow>(locked.rows.map((r) => [r.pubkey, fromDb(r)]));
        const before = new Map(rows);
        const blockGrants = new Map<string, BlockGrant | undefined>();
        const attGrants = new Map<string, AttestationGrant | undefined>();
        const results = batch.map((r): ReservationResult => {
          const row = rows.get(r.pubkey) ?? EMPTY_ROW;
          if (r.kind === "block") {
            const current = blockGrants.has(r.pubkey) ? blockGrants.get(r.pubkey) : r.current;
            const d = reserveBlock(row, this.holder, current, r.slot);
            if ("refused" in d) return d;
            rows.set(r.pubkey, d.row);
            blockGrants.set(r.pubkey, d.grant);
            return { grant: d.grant };
          }
          const current = attGrants.has(r.pubkey) ? attGrants.get(r.pubkey) : r.current;
          const d = reserveAttestation(row, this.holder, current, r.source, r.target, this.options.windowEpochs);
          if ("refused" in d) return d;
          rows.set(r.pubkey, d.row);
          attGrants.set(r.pubkey, d.grant);
          return { grant: d.grant };
        });
        const changed = [...rows].filter(([k, row]) => row !== before.get(k));
        if (changed.length > 0) {
          const col = <T>(f: (row: ContinuityRow) => T) => changed.map(([, row]) => f(row));
          await c.query(
            `UPDATE continuity_reservations AS r SET
               block_holder = u.block_holder, block_fence = u.block_fence, max_slot = u.max_slot,
               att_holder = u.att_holder, att_fence = u.att_fence, max_target = u.max_target, max_source = u.max_source,
               updated_at = now()
             FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
               AS u(pubkey, block_holder, block_fence, max_slot, att_holder, att_fence, max_target, max_source)
             WHERE r.gvr = $1 AND r.pubkey = u.pubkey`,
            [
              gvr,
              changed.map(([k]) => k),
              col((r) => r.blockHolder),
              col((r) => r.blockFence),
              col((r) => r.maxSlot),
              col((r) => r.attHolder),
              col((r) => r.attFence),
              col((r) => r.maxTarget),
              col((r) => r.maxSource),
            ],
          );
        }
        return results;
      });
    } catch (e) {
      throw unavailable(e, "a reservation");
    }
  }

  health(): Promise<StoreHealth> {
    return healthOf("postgres", () => this.pool.query("SELECT 1"));
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken = false;
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      return out;
    } catch (e) {
      // A connection that failed mid-transaction is dropped rather than rolled back with another wait.
      broken = true;
      throw e;
    } finally {
      c.release(broken);
    }
  }
}
