/**
 * The synchronous SQLite side of slashing protection. It runs on the thread that owns the single
 * database connection (sqliteWorker.ts): it reads a key's history for the store, which decides in
 * memory (sqlite.ts), and writes the records the store decided, a batch per transaction.
 *
 * Deciding from memory is only valid because this connection is the only writer: the file is
 * opened with `locking_mode=EXCLUSIVE`, so a second signer process on the same file fails to open.
 */
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { SignerError } from "../errors.js";
import { SlashingError, StorageError } from "./errors.js";
import type { KeyState, ParsedInterchange } from "./interchange.js";
import { groupStates, merge } from "./merge.js";
import type { AttestationRecord, BlockRecord } from "./rules.js";
import type { DatabaseIdentity, ImportSummary, PruneSummary } from "./store.js";
import { DATABASE_ID_KEY, newDatabaseId } from "./databaseId.js";
import { migrationPlan } from "./migrations.js";
import { ZERO_ROOT_HEX } from "../util/hex.js";

/** Size of the health check's write (see ping). */
const HEALTH_PROBE_BYTES = 64 * 1024;

/** A signed message the store decided to allow, to be written under the database's chain. */
export type SignRecord =
  | { kind: "block"; pubkey: string; slot: number; signingRoot: string }
  | { kind: "attestation"; pubkey: string; sourceEpoch: number; targetEpoch: number; signingRoot: string };

/** Everything on record for one key: its watermarks row (if any) and the records still kept. */
export interface StoredHistory {
  watermarks: { maxSlot: number | null; maxSource: number | null; maxTarget: number | null } | null;
  blocks: BlockRecord[];
  attestations: AttestationRecord[];
}

/** Domain errors pass through; anything else the database threw is an infrastructure failure. */
function storageError(e: unknown, what: string): SignerError {
  if (e instanceof SignerError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new StorageError("DATABASE_UNAVAILABLE", `slashing database failed while ${what}: ${message}`);
}

export class SqliteEngine {
  private readonly db: Database.Database;
  private gvr: string | null;
  private readonly validatorIds = new Map<string, number>();
  private readonly stmt;

  readonly identity: DatabaseIdentity;

  constructor(readonly path: string, genesisValidatorsRoot?: string) {
    let created: boolean;
    try {
      this.db = new Database(path, { timeout: 0 });
    } catch (e) {
      throw storageError(e, `opening ${path}`);
    }
    try {
      // EXCLUSIVE before WAL: the WAL index then lives in heap memory and the file lock taken by
      // the first write below is held until close, so a second process cannot open the file.
      this.db.pragma("locking_mode = EXCLUSIVE");
      this.db.pragma("journal_mode = WAL");
      // FULL: every commit is fsynced before `durable` resolves, so a record survives power loss.
      this.db.pragma("synchronous = FULL");
      // A checkpoint copies every page changed since the last one back into the file. Each commit
      // changes one page per key it records, and the same few hundred pages over and over, so
      // checkpointing every ~40 MB of WAL instead of SQLite's 4 MB copies each page once for many
      // commits: a quarter less CPU per record, for a WAL file that stays at that size.
      this.db.pragma("wal_autocheckpoint = 10000");
      created = this.migrate();
    } catch (e) {
      this.db.close();
      if ((e as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
        throw new StorageError("DATABASE_LOCKED", `slashing database ${path} is in use by another signer process`);
      }
      throw storageError(e, `opening ${path}`);
    }
    this.stmt = {
      getMeta: this.db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
      setMeta: this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)"),
      validatorId: this.db.prepare<[string], { id: number }>("SELECT id FROM validators WHERE pubkey = ?"),
      addValidator: this.db.prepare("INSERT INTO validators (pubkey) VALUES (?)"),
      watermarks: this.db.prepare<[number], { max_slot: number | null; max_source: number | null; max_target: number | null }>(
        "SELECT max_slot, max_source, max_target FROM watermarks WHERE validator_id = ?",
      ),
      blocks: this.db.prepare<[number], { slot: number; signing_root: string | null }>(
        "SELECT slot, signing_root FROM signed_blocks WHERE validator_id = ? ORDER BY slot",
      ),
      attestations: this.db.prepare<[number], { source_epoch: number; target_epoch: number; signing_root: string | null }>(
        "SELECT source_epoch, target_epoch, signing_root FROM signed_attestations WHERE validator_id = ? ORDER BY target_epoch",
      ),
      // The export's reads, of every key or of those in a JSON array of pubkeys.
      exportWatermarks: this.db.prepare<{ keys: string | null }, { pubkey: string; max_slot: number | null; max_source: number | null; max_target: number | null }>(
        `SELECT v.pubkey, w.max_slot, w.max_source, w.max_target FROM watermarks w JOIN validators v ON v.id = w.validator_id
         WHERE @keys IS NULL OR v.pubkey IN (SELECT value FROM json_each(@keys)) ORDER BY v.pubkey`,
      ),
      exportBlocks: this.db.prepare<{ keys: string | null }, { pubkey: string; slot: number; signing_root: string | null }>(
        `SELECT v.pubkey, b.slot, b.signing_root FROM signed_blocks b JOIN validators v ON v.id = b.validator_id
         WHERE @keys IS NULL OR v.pubkey IN (SELECT value FROM json_each(@keys)) ORDER BY v.pubkey, b.slot`,
      ),
      exportAttestations: this.db.prepare<{ keys: string | null }, { pubkey: string; source_epoch: number; target_epoch: number; signing_root: string | null }>(
        `SELECT v.pubkey, a.source_epoch, a.target_epoch, a.signing_root FROM signed_attestations a JOIN validators v ON v.id = a.validator_id
         WHERE @keys IS NULL OR v.pubkey IN (SELECT value FROM json_each(@keys)) ORDER BY v.pubkey, a.target_epoch`,
      ),
      insertBlock: this.db.prepare(
        "INSERT INTO signed_blocks (validator_id, slot, signing_root, imported) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      insertAttestation: this.db.prepare(
        "INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root, imported) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      raiseWatermarks: this.db.prepare(
        `INSERT INTO watermarks (validator_id, max_slot, max_source, max_target) VALUES (?, ?, ?, ?)
         ON CONFLICT (validator_id) DO UPDATE SET
           max_slot = max(coalesce(max_slot, excluded.max_slot), coalesce(excluded.max_slot, max_slot)),
           max_source = max(coalesce(max_source, excluded.max_source), coalesce(excluded.max_source, max_source)),
           max_target = max(coalesce(max_target, excluded.max_target), coalesce(excluded.max_target, max_target))`,
      ),
      pruneBlocks: this.db.prepare(
        "DELETE FROM signed_blocks WHERE slot < (SELECT max_slot FROM watermarks w WHERE w.validator_id = signed_blocks.validator_id)",
      ),
      pruneAttestations: this.db.prepare(
        "DELETE FROM signed_attestations WHERE target_epoch < (SELECT max_target FROM watermarks w WHERE w.validator_id = signed_attestations.validator_id)",
      ),
      ping: this.db.prepare("INSERT INTO meta (key, value) VALUES ('health_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    };
    this.gvr = this.stmt.getMeta.get("genesis_validators_root")?.value ?? null;
    this.identity = { id: this.databaseId(), created };
    if (genesisValidatorsRoot !== undefined) this.bindGenesisValidatorsRoot(genesisValidatorsRoot);
  }

  /**
   * Brings the file to the newest schema (migrations/sqlite/) in one transaction, so a new file
   * passes through every migration and each is exercised on every fresh database; a newer file than
   * this signer knows is refused. True when the file had no schema at all: a new (or emptied) database.
   */
  private migrate(): boolean {
    return this.db.transaction(() => {
      const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").get() !== undefined;
      const row = hasMeta ? this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get() : undefined;
      const plan = migrationPlan("sqlite", row?.value, `slashing database ${this.path}`);
      if (plan.pending.length === 0) return false;
      for (const sql of plan.pending) this.db.exec(sql);
      this.db
        .prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .run(String(plan.version));
      return row === undefined;
    })();
  }

  /**
   * The id this database was given when first opened (by this signer version or a later one). It
   * is checkpointed into the main file at once, so that a WAL lost after a crash cannot take it along.
   */
  private databaseId(): string {
    const recorded = this.stmt.getMeta.get(DATABASE_ID_KEY)?.value;
    if (recorded !== undefined) return recorded;
    const id = newDatabaseId();
    this.stmt.setMeta.run(DATABASE_ID_KEY, id);
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    return id;
  }

  /**
   * A key's row id, read once and then remembered; with `create`, added when the key has none (only
   * inside a write, whose rollback forgets every id, since SQLite may hand a rolled-back id out again).
   */
  private validatorId(pubkey: string, create: true): number;
  private validatorId(pubkey: string, create: false): number | undefined;
  private validatorId(pubkey: string, create: boolean): number | undefined {
    const cached = this.validatorIds.get(pubkey);
    if (cached !== undefined) return cached;
    let id = this.stmt.validatorId.get(pubkey)?.id;
    if (id === undefined && create) id = Number(this.stmt.addValidator.run(pubkey).lastInsertRowid);
    if (id !== undefined) this.validatorIds.set(pubkey, id);
    return id;
  }

  /**
   * A database serves one chain: the first genesis_validators_root it sees (from the open options,
   * a sign request or an import) is stored, and anything for another one is refused.
   */
  private bindGenesisValidatorsRoot(gvr: string): void {
    this.assertChain(gvr);
    if (this.gvr === null) {
      this.stmt.setMeta.run("genesis_validators_root", gvr);
      this.gvr = gvr;
    }
  }

  private assertChain(gvr: string): void {
    if (this.gvr !== null && this.gvr !== gvr) {
      throw new SlashingError(
        "GENESIS_VALIDATORS_ROOT_MISMATCH",
        `genesis_validators_root ${gvr} differs from ${this.gvr}, the chain this slashing database protects`,
        { expected: this.gvr, actual: gvr },
      );
    }
  }

  /**
   * Runs `fn` in one transaction, refusing to when a failed rollback has left the connection inside
   * one: better-sqlite3 would then nest it as a savepoint, whose release writes nothing to disk, and
   * a commit would be reported durable without being so. A connection in that state stays refused.
   * A chain binding made inside `fn` is undone with the rest when it throws.
   */
  private write<T>(fn: () => T): T {
    if (this.db.inTransaction) {
      throw new StorageError("DATABASE_UNAVAILABLE", `slashing database ${this.path} is stuck in a transaction that could not be rolled back; restart the signer`);
    }
    const boundBefore = this.gvr;
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      this.gvr = boundBefore;
      this.validatorIds.clear();
      throw e;
    }
  }

  /** One key's watermarks row and records, as the file holds them. */
  private stored(pubkey: string): StoredHistory {
    const id = this.validatorId(pubkey, false);
    if (id === undefined) return { watermarks: null, blocks: [], attestations: [] };
    const w = this.stmt.watermarks.get(id);
    return {
      watermarks: w ? { maxSlot: w.max_slot, maxSource: w.max_source, maxTarget: w.max_target } : null,
      blocks: this.stmt.blocks.all(id).map((b) => ({ slot: b.slot, signingRoot: b.signing_root })),
      attestations: this.stmt.attestations.all(id).map((a) => ({
        sourceEpoch: a.source_epoch,
        targetEpoch: a.target_epoch,
        signingRoot: a.signing_root,
      })),
    };
  }

  /** The chain the database is bound to, or null before its first record or import. */
  get boundChain(): string | null {
    return this.gvr;
  }

  loadHistory(pubkey: string, gvr: string): StoredHistory {
    try {
      this.assertChain(gvr);
      return this.stored(pubkey);
    } catch (e) {
      throw storageError(e, "reading the key's history");
    }
  }

  /**
   * Writes a batch of decided records in one transaction, binding the database to `gvr` first if
   * it is not bound yet. All or nothing: on failure nothing of the batch, binding included, stays.
   */
  commitRecords(gvr: string, records: SignRecord[]): void {
    try {
      this.write(() => {
        this.bindGenesisValidatorsRoot(gvr);
        for (const r of records) {
          const id = this.validatorId(r.pubkey, true);
          const info =
            r.kind === "block"
              ? this.stmt.insertBlock.run(id, r.slot, r.signingRoot, 0)
              : this.stmt.insertAttestation.run(id, r.sourceEpoch, r.targetEpoch, r.signingRoot, 0);
          // The store's decision and the constraints disagree: never release a signature on that.
          if (info.changes !== 1) throw new Error(`record for ${r.pubkey} was not inserted`);
        }
      });
    } catch (e) {
      if (e instanceof SignerError) throw e;
      throw new StorageError("COMMIT_FAILED", `slashing database could not commit ${records.length} record(s): ${(e as Error).message}`);
    }
  }

  /** Merges an already validated file (the main thread parses it, to keep TypeBox off this thread). */
  importInterchange(parsed: ParsedInterchange): ImportSummary {
    try {
      return this.write(() => {
        this.bindGenesisValidatorsRoot(parsed.genesisValidatorsRoot);
        return merge(parsed, (w) => {
          switch (w.kind) {
            case "watermarks": {
              const k = w.key;
              return this.stmt.raiseWatermarks.run(this.validatorId(k.pubkey, true), k.maxSlot, k.maxSource, k.maxTarget).changes;
            }
            case "block":
              return this.stmt.insertBlock.run(this.validatorId(w.pubkey, true), w.block.slot, w.block.signingRoot, 1).changes;
            case "attestation": {
              const a = w.attestation;
              return this.stmt.insertAttestation.run(this.validatorId(w.pubkey, true), a.sourceEpoch, a.targetEpoch, a.signingRoot, 1).changes;
            }
          }
        });
      });
    } catch (e) {
      throw storageError(e, "importing an interchange file");
    }
  }

  /** What is on record for export, in the order the file will list it, and the chain it is for. */
  exportStates(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): { genesisValidatorsRoot: string; states: KeyState[] } {
    if (genesisValidatorsRoot === undefined && this.gvr === null) return { genesisValidatorsRoot: ZERO_ROOT_HEX, states: [] };
    const gvr = genesisValidatorsRoot ?? this.gvr!;
    this.assertChain(gvr);
    try {
      // As on PostgreSQL: each key once, in pubkey order, whatever the list named.
      const keys = pubkeys === undefined ? null : JSON.stringify(pubkeys);
      const states = groupStates(
        this.stmt.exportWatermarks.all({ keys }).map((r) => ({ pubkey: r.pubkey, maxSlot: r.max_slot, maxSource: r.max_source, maxTarget: r.max_target })),
        this.stmt.exportBlocks.all({ keys }).map((b) => ({ pubkey: b.pubkey, slot: b.slot, signingRoot: b.signing_root })),
        this.stmt.exportAttestations.all({ keys }).map((a) => ({
          pubkey: a.pubkey,
          sourceEpoch: a.source_epoch,
          targetEpoch: a.target_epoch,
          signingRoot: a.signing_root,
        })),
      );
      return { genesisValidatorsRoot: gvr, states };
    } catch (e) {
      throw storageError(e, "exporting");
    }
  }

  prune(): PruneSummary {
    try {
      return this.write(() => ({
        blocks: this.stmt.pruneBlocks.run().changes,
        attestations: this.stmt.pruneAttestations.run().changes,
      }));
    } catch (e) {
      throw storageError(e, "pruning");
    }
  }

  /**
   * A health check commits a write, as each sign request's record does: a read would still answer
   * on a full disk (or past a file-size limit), where every commit, and so every slashable
   * signature, fails (issue 19). The write is HEALTH_PROBE_BYTES of new random content, more than
   * a batch of sign records takes: a one-page write can still fit where the next batch no longer
   * does, and SQLite writes only the pages of an overwritten value whose bytes changed.
   */
  ping(): void {
    try {
      this.write(() => this.stmt.ping.run(randomBytes(HEALTH_PROBE_BYTES / 2).toString("hex")));
    } catch (e) {
      throw storageError(e, "answering a health check");
    }
  }

  close(): void {
    this.db.close();
  }
}
