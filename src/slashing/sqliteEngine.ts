/**
 * The synchronous SQLite side of slashing protection. It runs on the thread that owns the single
 * database connection (sqliteWorker.ts): it reads a key's history for the store, which decides in
 * memory (sqlite.ts), and writes the records the store decided, a batch per transaction.
 *
 * Deciding from memory is only valid because this connection is the only writer: the file is
 * opened with `locking_mode=EXCLUSIVE`, so a second signer process on the same file fails to open.
 */
import Database from "better-sqlite3";
import { SignerError } from "../errors.js";
import { SlashingError, StorageError } from "./errors.js";
import type { KeyState, ParsedInterchange } from "./interchange.js";
import type { AttestationRecord, BlockRecord } from "./rules.js";
import type { ImportSummary, PruneSummary } from "./store.js";
import { ZERO_ROOT_HEX } from "../util/hex.js";

/**
 * Beyond the UNIQUE constraints (no two blocks at one slot, no two votes for one target), triggers
 * make the watermarks monotone and undeletable and refuse any non-imported record that is not above
 * them, which also excludes surround votes on the sign path: a buggy caller cannot insert a
 * slashable record even by skipping rules.ts.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS watermarks (
  pubkey TEXT NOT NULL,
  gvr TEXT NOT NULL,
  max_slot INTEGER,
  max_source INTEGER,
  max_target INTEGER,
  PRIMARY KEY (pubkey, gvr),
  CHECK ((max_source IS NULL) = (max_target IS NULL))
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS signed_blocks (
  pubkey TEXT NOT NULL,
  gvr TEXT NOT NULL,
  slot INTEGER NOT NULL CHECK (slot >= 0),
  signing_root TEXT,
  imported INTEGER NOT NULL CHECK (imported IN (0, 1)),
  UNIQUE (pubkey, gvr, slot)
) STRICT;

CREATE TABLE IF NOT EXISTS signed_attestations (
  pubkey TEXT NOT NULL,
  gvr TEXT NOT NULL,
  source_epoch INTEGER NOT NULL CHECK (source_epoch >= 0),
  target_epoch INTEGER NOT NULL,
  signing_root TEXT,
  imported INTEGER NOT NULL CHECK (imported IN (0, 1)),
  CHECK (source_epoch <= target_epoch),
  UNIQUE (pubkey, gvr, target_epoch)
) STRICT;

CREATE TRIGGER IF NOT EXISTS signed_block_above_watermark BEFORE INSERT ON signed_blocks
WHEN NEW.imported = 0 AND NEW.slot <= (SELECT max_slot FROM watermarks WHERE pubkey = NEW.pubkey AND gvr = NEW.gvr)
BEGIN SELECT RAISE(ABORT, 'slashing protection: block not above the slot watermark'); END;

CREATE TRIGGER IF NOT EXISTS signed_block_raises_watermark AFTER INSERT ON signed_blocks
BEGIN
  INSERT INTO watermarks (pubkey, gvr, max_slot) VALUES (NEW.pubkey, NEW.gvr, NEW.slot)
  ON CONFLICT (pubkey, gvr) DO UPDATE SET max_slot = max(coalesce(max_slot, excluded.max_slot), excluded.max_slot);
END;

CREATE TRIGGER IF NOT EXISTS signed_attestation_above_watermark BEFORE INSERT ON signed_attestations
WHEN NEW.imported = 0 AND EXISTS (
  SELECT 1 FROM watermarks WHERE pubkey = NEW.pubkey AND gvr = NEW.gvr
  AND (NEW.source_epoch < max_source OR NEW.target_epoch <= max_target))
BEGIN SELECT RAISE(ABORT, 'slashing protection: attestation not above the source/target watermarks'); END;

CREATE TRIGGER IF NOT EXISTS signed_attestation_raises_watermark AFTER INSERT ON signed_attestations
BEGIN
  INSERT INTO watermarks (pubkey, gvr, max_source, max_target) VALUES (NEW.pubkey, NEW.gvr, NEW.source_epoch, NEW.target_epoch)
  ON CONFLICT (pubkey, gvr) DO UPDATE SET
    max_source = max(coalesce(max_source, excluded.max_source), excluded.max_source),
    max_target = max(coalesce(max_target, excluded.max_target), excluded.max_target);
END;

CREATE TRIGGER IF NOT EXISTS watermarks_never_decrease BEFORE UPDATE ON watermarks
WHEN coalesce(NEW.max_slot, -1) < coalesce(OLD.max_slot, -1)
  OR coalesce(NEW.max_source, -1) < coalesce(OLD.max_source, -1)
  OR coalesce(NEW.max_target, -1) < coalesce(OLD.max_target, -1)
  OR NEW.pubkey <> OLD.pubkey OR NEW.gvr <> OLD.gvr
BEGIN SELECT RAISE(ABORT, 'slashing protection: watermarks never decrease'); END;

CREATE TRIGGER IF NOT EXISTS watermarks_never_deleted BEFORE DELETE ON watermarks
BEGIN SELECT RAISE(ABORT, 'slashing protection: watermarks are never deleted'); END;

INSERT INTO meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
`;

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
  private readonly stmt;

  constructor(readonly path: string, genesisValidatorsRoot?: string) {
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
      this.db.exec(SCHEMA);
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
      watermarks: this.db.prepare<[string, string], { max_slot: number | null; max_source: number | null; max_target: number | null }>(
        "SELECT max_slot, max_source, max_target FROM watermarks WHERE pubkey = ? AND gvr = ?",
      ),
      blocks: this.db.prepare<[string, string], { slot: number; signing_root: string | null }>(
        "SELECT slot, signing_root FROM signed_blocks WHERE pubkey = ? AND gvr = ? ORDER BY slot",
      ),
      attestations: this.db.prepare<[string, string], { source_epoch: number; target_epoch: number; signing_root: string | null }>(
        "SELECT source_epoch, target_epoch, signing_root FROM signed_attestations WHERE pubkey = ? AND gvr = ? ORDER BY target_epoch",
      ),
      keys: this.db.prepare<[string], { pubkey: string }>("SELECT pubkey FROM watermarks WHERE gvr = ? ORDER BY pubkey"),
      insertBlock: this.db.prepare(
        "INSERT INTO signed_blocks (pubkey, gvr, slot, signing_root, imported) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      insertAttestation: this.db.prepare(
        "INSERT INTO signed_attestations (pubkey, gvr, source_epoch, target_epoch, signing_root, imported) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      ),
      raiseWatermarks: this.db.prepare(
        `INSERT INTO watermarks (pubkey, gvr, max_slot, max_source, max_target) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (pubkey, gvr) DO UPDATE SET
           max_slot = max(coalesce(max_slot, excluded.max_slot), coalesce(excluded.max_slot, max_slot)),
           max_source = max(coalesce(max_source, excluded.max_source), coalesce(excluded.max_source, max_source)),
           max_target = max(coalesce(max_target, excluded.max_target), coalesce(excluded.max_target, max_target))`,
      ),
      pruneBlocks: this.db.prepare(
        "DELETE FROM signed_blocks WHERE slot < (SELECT max_slot FROM watermarks w WHERE w.pubkey = signed_blocks.pubkey AND w.gvr = signed_blocks.gvr)",
      ),
      pruneAttestations: this.db.prepare(
        "DELETE FROM signed_attestations WHERE target_epoch < (SELECT max_target FROM watermarks w WHERE w.pubkey = signed_attestations.pubkey AND w.gvr = signed_attestations.gvr)",
      ),
      ping: this.db.prepare("SELECT count(*) AS n FROM meta"),
    };
    this.gvr = this.stmt.getMeta.get("genesis_validators_root")?.value ?? null;
    if (genesisValidatorsRoot !== undefined) this.bindGenesisValidatorsRoot(genesisValidatorsRoot);
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
      throw e;
    }
  }

  /** One key's watermarks row and records, as the file holds them. */
  private stored(pubkey: string, gvr: string): StoredHistory {
    const w = this.stmt.watermarks.get(pubkey, gvr);
    return {
      watermarks: w ? { maxSlot: w.max_slot, maxSource: w.max_source, maxTarget: w.max_target } : null,
      blocks: this.stmt.blocks.all(pubkey, gvr).map((b) => ({ slot: b.slot, signingRoot: b.signing_root })),
      attestations: this.stmt.attestations.all(pubkey, gvr).map((a) => ({
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
      return this.stored(pubkey, gvr);
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
          const info =
            r.kind === "block"
              ? this.stmt.insertBlock.run(r.pubkey, gvr, r.slot, r.signingRoot, 0)
              : this.stmt.insertAttestation.run(r.pubkey, gvr, r.sourceEpoch, r.targetEpoch, r.signingRoot, 0);
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
    const summary: ImportSummary = { keys: parsed.keys.length, blocks: 0, attestations: 0, skipped: 0 };
    try {
      this.write(() => {
        this.bindGenesisValidatorsRoot(parsed.genesisValidatorsRoot);
        const gvr = parsed.genesisValidatorsRoot;
        for (const k of parsed.keys) {
          this.stmt.raiseWatermarks.run(k.pubkey, gvr, k.maxSlot, k.maxSource, k.maxTarget);
          summary.skipped += k.skipped;
          for (const b of k.blocks) {
            const n = this.stmt.insertBlock.run(k.pubkey, gvr, b.slot, b.signingRoot, 1).changes;
            summary.blocks += n;
            summary.skipped += 1 - n;
          }
          for (const a of k.attestations) {
            const n = this.stmt.insertAttestation.run(k.pubkey, gvr, a.sourceEpoch, a.targetEpoch, a.signingRoot, 1).changes;
            summary.attestations += n;
            summary.skipped += 1 - n;
          }
        }
      });
    } catch (e) {
      throw storageError(e, "importing an interchange file");
    }
    return summary;
  }

  /** What is on record for export, in the order the file will list it, and the chain it is for. */
  exportStates(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): { genesisValidatorsRoot: string; states: KeyState[] } {
    if (genesisValidatorsRoot === undefined && this.gvr === null) return { genesisValidatorsRoot: ZERO_ROOT_HEX, states: [] };
    const gvr = genesisValidatorsRoot ?? this.gvr!;
    this.assertChain(gvr);
    try {
      const keys = pubkeys ?? this.stmt.keys.all(gvr).map((r) => r.pubkey);
      const states: KeyState[] = [];
      for (const pubkey of keys) {
        const { watermarks, blocks, attestations } = this.stored(pubkey, gvr);
        if (watermarks) states.push({ pubkey, ...watermarks, blocks, attestations });
      }
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

  ping(): void {
    try {
      this.stmt.ping.get();
    } catch (e) {
      throw storageError(e, "answering a health check");
    }
  }

  close(): void {
    this.db.close();
  }
}
