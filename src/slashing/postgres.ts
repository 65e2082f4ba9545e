/**
 * Slashing protection in PostgreSQL, safe for any number of signer processes sharing the
 * database: every check-and-record runs in a transaction holding a transaction-scoped advisory lock
 * on the key, so requests for one key are serialised across processes while other keys run in
 * parallel. Sign requests share transactions in batches (postgresBatch.ts); `durable()` settles
 * when their batch has committed.
 */
import pg from "pg";
import { SignerError } from "../errors.js";
import { SlashingError, StorageError } from "./errors.js";
import { buildInterchange, parseInterchange, type Interchange } from "./interchange.js";
import { groupStates, mergeAsync } from "./merge.js";
import { endFailedTransaction, LOCK_SEED, num, PostgresSignBatcher, ValidatorIds } from "./postgresBatch.js";
import type {
  DatabaseIdentity,
  AttestationVote,
  BlockProposal,
  ImportSummary,
  PruneSummary,
  Recorded,
  SlashingObserver,
  SlashingProtection,
  StoreHealth,
} from "./store.js";
import { migratePostgres } from "./migrations.js";
import { DATABASE_ID_KEY, newDatabaseId } from "./databaseId.js";
import { DEFAULT_DB_TIMEOUT_MS, guardObserver, healthOf } from "./store.js";
import { validateProposal, validateVote } from "./validate.js";
import { ZERO_ROOT_HEX } from "../util/hex.js";

export interface PostgresStoreOptions {
  /** Binds a new database to this chain at once (otherwise the first sign request or import does). */
  genesisValidatorsRoot?: string;
  /** Schema holding the tables, created if missing (default: public). */
  schema?: string;
  /** Connections kept open (default 10). */
  poolSize?: number;
  /** How long to wait for a connection or a query before answering DATABASE_UNAVAILABLE (default DEFAULT_DB_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Told of each sign batch and of requests whose key was locked by another session (metrics). */
  observer?: SlashingObserver;
}

/** Serialises migrations of concurrent starting processes (an arbitrary constant). */
const MIGRATION_LOCK = 3076_0001;

const GVR_KEY = "genesis_validators_root";

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

type Client = pg.PoolClient;

export class PostgresSlashingStore implements SlashingProtection {
  /**
   * Once committed the chain never changes, so it is cached; until then it is read in each
   * transaction (under READ COMMITTED a read before our own write only sees committed values).
   */
  private gvr: string | null = null;
  private binding: Promise<void> = Promise.resolve();

  private readonly ids = new ValidatorIds();
  private readonly batcher: PostgresSignBatcher;

  /** Set in open(), before the store is handed out. */
  identity!: DatabaseIdentity;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
    observer: SlashingObserver | undefined,
  ) {
    this.batcher = new PostgresSignBatcher((fn) => this.withClient(fn), this.ids, timeoutMs, guardObserver(observer));
  }

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresSlashingStore> {
    const schema = options.schema ?? "public";
    if (!SCHEMA_RE.test(schema)) {
      throw new StorageError("DATABASE_UNAVAILABLE", `schema name "${schema}" must be a lower-case SQL identifier`);
    }
    const timeout = options.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: timeout,
      query_timeout: timeout,
      statement_timeout: timeout,
      // A connection lost inside a transaction leaves the server holding that transaction's key
      // locks until it notices (TCP keepalive: hours); this ends such a transaction soon instead.
      // Ours never idle between statements for more than a moment.
      idle_in_transaction_session_timeout: 2 * timeout,
      options: `-c search_path=${schema}`,
    });
    // A connection dropped by the server must not crash the process: an idle one is discarded by
    // the pool, a busy one fails its query (handled in withClient) and is destroyed on release.
    pool.on("error", () => undefined);
    pool.on("connect", (client) => client.on("error", () => undefined));
    const store = new PostgresSlashingStore(pool, timeout, options.observer);
    try {
      await store.transaction(async (c) => {
        await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        const created = await migratePostgres(c, "postgres", "slashing_meta", `slashing database schema ${schema}`);
        // Several instances may open a new database at once; the migration lock orders them, and
        // the first one's id is the one all of them read.
        await c.query("INSERT INTO slashing_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", [DATABASE_ID_KEY, newDatabaseId()]);
        const id = (await c.query<{ value: string }>("SELECT value FROM slashing_meta WHERE key = $1", [DATABASE_ID_KEY])).rows[0]!.value;
        store.identity = { id, created };
        if (options.genesisValidatorsRoot !== undefined) await store.bindChain(c, options.genesisValidatorsRoot);
      });
      if (options.genesisValidatorsRoot !== undefined) store.gvr = options.genesisValidatorsRoot;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return store;
  }

  // Each copies the request before its first await: what is checked is what is recorded, whatever
  // the caller does with its object meanwhile.
  async checkAndRecordBlock(request: BlockProposal): Promise<Recorded> {
    const proposal = { ...request };
    validateProposal(proposal);
    await this.ensureChain(proposal.genesisValidatorsRoot);
    return this.batcher.submit({ kind: "block", proposal });
  }

  async checkAndRecordAttestation(request: AttestationVote): Promise<Recorded> {
    const vote = { ...request };
    validateVote(vote);
    await this.ensureChain(vote.genesisValidatorsRoot);
    return this.batcher.submit({ kind: "attestation", vote });
  }

  async importInterchange(json: unknown): Promise<ImportSummary> {
    const parsed = parseInterchange(json);
    const gvr = parsed.genesisValidatorsRoot;
    // Sorted, so two concurrent imports cannot deadlock on each other's key locks.
    const pubkeys = parsed.keys.map((k) => k.pubkey).sort();
    // Before the transaction: a key's id is committed at once (ValidatorIds), even if the import fails.
    const ids = new Map((await this.withClient((c) => this.ids.resolve(c, pubkeys))).map((id, i) => [pubkeys[i]!, id]));
    return this.transaction(async (c) => {
      await this.bindChain(c, gvr);
      for (const pubkey of pubkeys) await lockKey(c, pubkey);
      return mergeAsync(parsed, async (w) => {
        switch (w.kind) {
          case "watermarks":
            return (await c.query(
              `INSERT INTO slashing_watermarks AS w (validator_id, max_slot, max_source, max_target) VALUES ($1, $2, $3, $4)
               ON CONFLICT (validator_id) DO UPDATE SET
                 max_slot = GREATEST(w.max_slot, EXCLUDED.max_slot),
                 max_source = GREATEST(w.max_source, EXCLUDED.max_source),
                 max_target = GREATEST(w.max_target, EXCLUDED.max_target)`,
              [ids.get(w.key.pubkey), w.key.maxSlot, w.key.maxSource, w.key.maxTarget],
            )).rowCount ?? 0;
          case "block":
            return (await c.query(
              "INSERT INTO signed_blocks (validator_id, slot, signing_root, imported) VALUES ($1, $2, decode(substr($3, 3), 'hex'), true) ON CONFLICT DO NOTHING",
              [ids.get(w.pubkey), w.block.slot, w.block.signingRoot],
            )).rowCount ?? 0;
          case "attestation":
            return (await c.query(
              `INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root, imported)
               VALUES ($1, $2, $3, decode(substr($4, 3), 'hex'), true) ON CONFLICT DO NOTHING`,
              [ids.get(w.pubkey), w.attestation.sourceEpoch, w.attestation.targetEpoch, w.attestation.signingRoot],
            )).rowCount ?? 0;
        }
      });
    });
  }

  async exportInterchange(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): Promise<Interchange> {
    await this.batcher.settled();
    const exported = await this.transaction(async (c) => {
      // One snapshot for the whole export.
      await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const bound = await this.boundChain(c);
      const gvr = genesisValidatorsRoot?.toLowerCase() ?? bound;
      if (gvr === null) return { gvr: ZERO_ROOT_HEX, states: [] };
      if (bound !== null) assertChain(bound, gvr);
      const keys = pubkeys?.map((k) => k.toLowerCase()) ?? null;
      // Every row is of the one chain the database is bound to, checked above.
      const ofKeys = "JOIN slashing_validators v ON v.id = validator_id WHERE ($1::text[] IS NULL OR v.pubkey = ANY($1))";
      const w = await c.query<{ pubkey: string; max_slot: string | null; max_source: string | null; max_target: string | null }>(
        `SELECT v.pubkey, max_slot, max_source, max_target FROM slashing_watermarks ${ofKeys} ORDER BY v.pubkey`,
        [keys],
      );
      const blocks = await c.query<{ pubkey: string; slot: string; signing_root: string | null }>(
        `SELECT v.pubkey, slot, '0x' || encode(signing_root, 'hex') AS signing_root FROM signed_blocks ${ofKeys} ORDER BY v.pubkey, slot`,
        [keys],
      );
      const atts = await c.query<{ pubkey: string; source_epoch: string; target_epoch: string; signing_root: string | null }>(
        `SELECT v.pubkey, source_epoch, target_epoch, '0x' || encode(signing_root, 'hex') AS signing_root
         FROM signed_attestations ${ofKeys} ORDER BY v.pubkey, target_epoch`,
        [keys],
      );
      const states = groupStates(
        w.rows.map((r) => ({ pubkey: r.pubkey, maxSlot: num(r.max_slot), maxSource: num(r.max_source), maxTarget: num(r.max_target) })),
        blocks.rows.map((b) => ({ pubkey: b.pubkey, slot: Number(b.slot), signingRoot: b.signing_root })),
        atts.rows.map((a) => ({
          pubkey: a.pubkey,
          sourceEpoch: Number(a.source_epoch),
          targetEpoch: Number(a.target_epoch),
          signingRoot: a.signing_root,
        })),
      );
      return { gvr, states };
    });
    return buildInterchange(exported.gvr, exported.states);
  }

  /** Safe without key locks: watermarks only rise, so a record below one is never needed again. */
  prune(): Promise<PruneSummary> {
    return this.transaction(async (c) => {
      const b = await c.query(
        "DELETE FROM signed_blocks s USING slashing_watermarks w WHERE w.validator_id = s.validator_id AND s.slot < w.max_slot",
      );
      const a = await c.query(
        "DELETE FROM signed_attestations s USING slashing_watermarks w WHERE w.validator_id = s.validator_id AND s.target_epoch < w.max_target",
      );
      return { blocks: b.rowCount ?? 0, attestations: a.rowCount ?? 0 };
    });
  }

  health(): Promise<StoreHealth> {
    return healthOf("postgres", () => this.withClient((c) => c.query("SELECT 1")));
  }

  async close(): Promise<void> {
    this.batcher.close();
    await this.pool.end();
  }

  private async ensureChain(gvr: string): Promise<void> {
    if (this.gvr !== null) return assertChain(this.gvr, gvr);
    // One at a time until the chain is bound, so that requests still reach the batcher in the
    // order they came (and one transaction binds it, not one per request).
    const bound = this.binding.then(async () => {
      if (this.gvr !== null) return assertChain(this.gvr, gvr);
      await this.transaction((c) => this.bindChain(c, gvr));
      this.gvr = gvr;
    });
    this.binding = bound.catch(() => undefined);
    return bound;
  }

  private async boundChain(c: Client): Promise<string | null> {
    if (this.gvr !== null) return this.gvr;
    const r = await c.query<{ value: string }>("SELECT value FROM slashing_meta WHERE key = $1", [GVR_KEY]);
    this.gvr = r.rows[0]?.value ?? null;
    return this.gvr;
  }

  /** A database serves one chain: the first genesis_validators_root stored wins, across processes. */
  private async bindChain(c: Client, gvr: string): Promise<void> {
    let bound = await this.boundChain(c);
    if (bound === null) {
      await c.query("INSERT INTO slashing_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", [GVR_KEY, gvr]);
      const r = await c.query<{ value: string }>("SELECT value FROM slashing_meta WHERE key = $1", [GVR_KEY]);
      bound = r.rows[0]!.value;
    }
    assertChain(bound, gvr);
  }

  private async transaction<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    return this.withClient(async (c) => {
      await c.query("BEGIN");
      try {
        const result = await fn(c);
        await c.query("COMMIT");
        return result;
      } catch (e) {
        await endFailedTransaction(c, e);
        throw e;
      }
    });
  }

  private async withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    let client: Client;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw unavailable(e, this.timeoutMs);
    }
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (e) {
      if (e instanceof SignerError) throw e;
      broken = e as Error;
      throw unavailable(e, this.timeoutMs);
    } finally {
      // A connection that failed mid-query is destroyed, not reused.
      client.release(broken);
    }
  }
}

/** Takes `pubkey`'s lock until the transaction ends: how each store, and anything writing around it, serialises one key. */
export async function lockKey(c: pg.ClientBase, pubkey: string): Promise<void> {
  await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", [pubkey, LOCK_SEED]);
}

function assertChain(bound: string, gvr: string): void {
  if (bound !== gvr) {
    throw new SlashingError(
      "GENESIS_VALIDATORS_ROOT_MISMATCH",
      `genesis_validators_root ${gvr} differs from ${bound}, the chain this slashing database protects`,
      { expected: bound, actual: gvr },
    );
  }
}

/**
 * Connection trouble (no SQLSTATE, class 08), an operator or timeout cancelling the statement
 * (class 57: a statement_timeout is 57014) and exhausted resources (class 53) are
 * DATABASE_UNAVAILABLE; any other SQL error, e.g. a constraint refusing a row, is COMMIT_FAILED.
 */
function unavailable(e: unknown, timeoutMs: number): StorageError {
  const sqlstate = (e as { code?: unknown }).code;
  const message = (e as Error).message;
  const connection = typeof sqlstate !== "string" || !/^[0-9A-Z]{5}$/.test(sqlstate) || /^(08|57|53)/.test(sqlstate);
  // The operator needs to know which wait ran out and what sets it. A query that outlived it (the
  // client's read timeout or the server's statement_timeout) most often waited for a key's lock.
  const flag = `gave up after ${timeoutMs} ms, --slashing-db-timeout-ms`;
  const waited = /Query read timeout|statement timeout/i.test(message)
    ? ` (${flag}; another signer instance or an import may hold a key's lock)`
    : /timeout exceeded when trying to connect/i.test(message)
      ? ` (${flag})`
      : "";
  return connection
    ? new StorageError("DATABASE_UNAVAILABLE", `slashing database (PostgreSQL) unavailable: ${message}${waited}`)
    : new StorageError("COMMIT_FAILED", `slashing database (PostgreSQL) refused the write: ${message}`, { sqlstate });
}

export function openPostgresStore(url: string, options?: PostgresStoreOptions): Promise<PostgresSlashingStore> {
  return PostgresSlashingStore.open(url, options);
}
