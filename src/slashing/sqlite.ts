/**
 * Slashing protection in a SQLite file, for a single signer process.
 *
 * Decisions are taken here, on the caller's thread, against each key's history in memory
 * (rules.ts). The connection lives in a worker thread (sqliteWorker.ts) that reads a key's history
 * the first time it is needed and writes the records decided, so that its fsyncs never block the
 * HTTP event loop and deciding costs no round trip to it. Deciding from memory is sound because
 * this store is the database's only writer (the file is locked exclusively) and every history it
 * holds is the one on record plus what it decided since.
 *
 * Group commit: an allowed request's record joins the open batch, which is committed (in one
 * transaction) when a caller asks for `durable()` because its signature is ready, or after
 * `commitDelayMs`. Under load the signatures queue for the BLS threads, so one commit (WAL write
 * and fsync) covers tens of records without adding a fixed delay to any request, and a lone
 * request is committed as soon as its signature is ready.
 *
 * One batch is committed at a time. The open batch was decided against histories that include the
 * batch being committed, and may hold a repeat whose original is in it; were the open batch sent
 * before that commit's outcome is known, a failed commit could be followed by one that releases
 * such a repeat with its original not on record.
 */
import type { Worker } from "node:worker_threads";
import { startWorker } from "../util/worker.js";
import { SlashingError, StorageError } from "./errors.js";
import { buildInterchange, parseInterchange, type Interchange } from "./interchange.js";
import {
  checkAndApplyAttestation,
  checkAndApplyBlock,
  emptyHistory,
  raiseWatermarks,
  recordAttestation,
  recordBlock,
  type Decision,
  type KeyHistory,
} from "./rules.js";
import type { SignRecord, StoredHistory } from "./sqliteEngine.js";
import { validateProposal, validateVote } from "./validate.js";
import { answerTo, fromWire, type Answer, type Call, type Op, type Reply, type Request, type Result, type WorkerConfig } from "./sqliteProtocol.js";
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
import { guardObserver, healthOf } from "./store.js";

export interface SqliteStoreOptions {
  /** Binds a new database to this chain at once (otherwise the first sign request or import does). */
  genesisValidatorsRoot?: string;
  /**
   * The longest a decided record waits for its commit when nobody asks for `durable()` (default
   * 50 ms), e.g. because signing failed. 0 commits at the next turn of the event loop.
   */
  commitDelayMs?: number;
  /** Told of each group commit and how many sign requests it makes durable (metrics). */
  observer?: SlashingObserver;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

interface Deferred extends Waiter<void> {
  promise: Promise<void>;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers ask for `durable()` only after signing; until then a rejection is not unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Records decided since the last commit was sent, and everyone waiting for them to be durable. */
interface Batch {
  gvr: string;
  records: SignRecord[];
  waiters: Deferred[];
}

/** Someone waiting for the answer to one request sent to the database thread. */
interface Caller {
  answer(a: Answer): void;
  reject(error: Error): void;
}

function historyOf(stored: StoredHistory): KeyHistory {
  const h = emptyHistory();
  for (const b of stored.blocks) recordBlock(h, b.slot, b.signingRoot);
  for (const a of stored.attestations) recordAttestation(h, a.sourceEpoch, a.targetEpoch, a.signingRoot);
  // The watermark row may stand above every record (pruned or imported-around data).
  if (stored.watermarks) raiseWatermarks(h, stored.watermarks);
  return h;
}

export class SqliteSlashingStore implements SlashingProtection {
  private nextId = 1;
  private readonly waiting = new Map<number, Caller>();
  private outbox: Request[] = [];
  private flushScheduled = false;
  private commitWanted = false;
  private failure: StorageError | null = null;

  private readonly histories = new Map<string, KeyHistory>();
  private readonly loads = new Map<string, Promise<void>>();
  /** Set while an import or prune runs: sign requests wait for it, then see its outcome. */
  private barrier: Promise<unknown> | null = null;
  private batch: Batch | null = null;
  /** Settles when the batch being committed has been answered; null when none is. */
  private committing: Promise<void> | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    private readonly worker: Worker,
    /** The chain the database is bound to, or will be once the batch that binds it commits. */
    private chain: string | null,
    readonly identity: DatabaseIdentity,
    private readonly commitDelayMs: number,
    private readonly observer: SlashingObserver,
  ) {
    worker.on("message", (m: Reply) => this.onReply(m));
    // A reply that cannot be read leaves its callers waiting forever; nothing more is trusted.
    worker.on("messageerror", (e) => {
      this.fail(new StorageError("DATABASE_UNAVAILABLE", `unreadable reply from the slashing database thread: ${e.message}`));
      void worker.terminate();
    });
    worker.on("error", (e) => this.fail(new StorageError("DATABASE_UNAVAILABLE", `slashing database thread crashed: ${e.message}`)));
    worker.on("exit", () => this.fail(new StorageError("STORE_CLOSED", `slashing database ${path} is closed`)));
  }

  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteSlashingStore> {
    const config: WorkerConfig = { path, ...(options.genesisValidatorsRoot !== undefined && { genesisValidatorsRoot: options.genesisValidatorsRoot }) };
    const worker = startWorker(import.meta.url, "sqliteWorker", { workerData: config });
    const { chain, identity } = await new Promise<{ chain: string | null; identity: DatabaseIdentity }>((resolve, reject) => {
      const settle = (): void => {
        worker.off("message", onFirst);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      const onFirst = (m: Reply): void => {
        settle();
        if (m.t === "ready") resolve(m);
        else if (m.t === "openFailed") reject(fromWire(m.error));
      };
      const onError = (e: Error): void => {
        settle();
        reject(new StorageError("DATABASE_UNAVAILABLE", `slashing database thread failed to start: ${e.message}`));
      };
      const onExit = (code: number): void => {
        settle();
        reject(new StorageError("DATABASE_UNAVAILABLE", `slashing database thread exited (code ${code}) before opening ${path}`));
      };
      worker.once("message", onFirst);
      worker.once("error", onError);
      worker.once("exit", onExit);
    });
    return new SqliteSlashingStore(path, worker, chain, identity, options.commitDelayMs ?? 50, guardObserver(options.observer));
  }

  async checkAndRecordBlock(p: BlockProposal): Promise<Recorded> {
    validateProposal(p);
    // Read once, before any await: what is decided is what is recorded.
    const { pubkey, slot, signingRoot } = p;
    const record: SignRecord = { kind: "block", pubkey, slot, signingRoot };
    return this.decide(p.genesisValidatorsRoot, record, (h) => checkAndApplyBlock(h, slot, signingRoot));
  }

  async checkAndRecordAttestation(v: AttestationVote): Promise<Recorded> {
    validateVote(v);
    const { pubkey, sourceEpoch, targetEpoch, signingRoot } = v;
    const record: SignRecord = { kind: "attestation", pubkey, sourceEpoch, targetEpoch, signingRoot };
    return this.decide(v.genesisValidatorsRoot, record, (h) => checkAndApplyAttestation(h, sourceEpoch, targetEpoch, signingRoot));
  }

  async importInterchange(json: unknown): Promise<ImportSummary> {
    const parsed = parseInterchange(json);
    return this.exclusive({ op: "import", parsed }, () => {
      for (const k of parsed.keys) this.histories.delete(k.pubkey);
    });
  }

  async exportInterchange(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): Promise<Interchange> {
    const exported = await this.afterCommits({
      op: "export",
      ...(genesisValidatorsRoot !== undefined && { genesisValidatorsRoot: genesisValidatorsRoot.toLowerCase() }),
      ...(pubkeys && { pubkeys: pubkeys.map((k) => k.toLowerCase()) }),
    });
    return buildInterchange(exported.genesisValidatorsRoot, exported.states);
  }

  prune(): Promise<PruneSummary> {
    return this.exclusive({ op: "prune" }, () => this.histories.clear());
  }

  health(): Promise<StoreHealth> {
    return healthOf("sqlite", () => this.call({ op: "ping" }));
  }

  /** Commits what is decided, then closes; sign requests made from now on are refused. */
  close(): Promise<void> {
    this.closing ??= this.failure
      ? Promise.resolve()
      : (async () => {
          const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
          await this.afterCommits({ op: "close" });
          await exited;
        })();
    return this.closing;
  }

  /**
   * Decides against the key's history in memory, after reading it if needed and after any import
   * or prune in progress. From the last check on, everything is synchronous: the decision and the
   * update of the history it was taken on are one step, whatever else is in flight.
   */
  private async decide(gvr: string, record: SignRecord, apply: (h: KeyHistory) => Decision): Promise<Recorded> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.closing) throw new StorageError("STORE_CLOSED", `slashing database ${this.path} is closing`);
      if (this.barrier) {
        await this.barrier.catch(() => undefined);
        continue;
      }
      if (this.chain !== null && this.chain !== gvr) {
        throw new SlashingError(
          "GENESIS_VALIDATORS_ROOT_MISMATCH",
          `genesis_validators_root ${gvr} differs from ${this.chain}, the chain this slashing database protects`,
          { expected: this.chain, actual: gvr },
        );
      }
      const h = this.histories.get(record.pubkey);
      if (!h) {
        await this.load(record.pubkey, gvr);
        continue;
      }
      const d = apply(h);
      if (!d.allow) throw new SlashingError(d.code, d.message, d.conflicting ? { conflicting: d.conflicting } : {});
      this.chain = gvr;
      return this.join(gvr, d.repeat ? null : record);
    }
  }

  private load(pubkey: string, gvr: string): Promise<void> {
    let loading = this.loads.get(pubkey);
    if (!loading) {
      loading = this.call({ op: "load", pubkey, gvr })
        .then((stored) => {
          // Read before an import or prune that is running now, so perhaps without its outcome.
          if (!this.barrier) this.histories.set(pubkey, historyOf(stored));
        })
        .finally(() => this.loads.delete(pubkey));
      this.loads.set(pubkey, loading);
    }
    return loading;
  }

  /**
   * Adds an allowed request to the open batch. A repeat adds no record but waits for the batch all
   * the same: the record it repeats may still be on its way to the database.
   */
  private join(gvr: string, record: SignRecord | null): Recorded {
    const batch = (this.batch ??= { gvr, records: [], waiters: [] });
    const waiter = deferred();
    batch.waiters.push(waiter);
    if (record) batch.records.push(record);
    this.commitTimer ??= setTimeout(() => this.wantCommit(), this.commitDelayMs);
    return {
      durable: () => {
        if (this.batch === batch) this.wantCommit();
        return waiter.promise;
      },
    };
  }

  /** The open batch is to be committed as soon as no other commit is in flight. */
  private wantCommit(): void {
    this.commitWanted = true;
    this.scheduleFlush();
  }

  /** Sends the open batch to be committed, ahead of anything requested after this. */
  private sendBatch(): void {
    this.stopCommitTimer();
    this.commitWanted = false;
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    let settle!: () => void;
    const committing = new Promise<void>((resolve) => (settle = resolve));
    this.committing = committing;
    const answered = (): void => {
      if (this.committing === committing) this.committing = null;
      settle();
      if (this.commitWanted) this.scheduleFlush();
    };
    if (!this.failure) this.observer.batch(batch.waiters.length);
    this.enqueue(
      { op: "commit", gvr: batch.gvr, records: batch.records },
      {
        resolve: () => {
          for (const w of batch.waiters) w.resolve();
          answered();
        },
        reject: (e) => {
          this.commitFailed(batch, e);
          answered();
        },
      },
    );
  }

  /** Sends `body` once every record decided so far has been committed, or has failed to be. */
  private async afterCommits<K extends Op>(body: Call<K>): Promise<Result<K>> {
    while (this.committing) await this.committing;
    this.sendBatch();
    return this.call(body);
  }

  /**
   * A batch that could not be committed: its callers get the error and drop their signatures. The
   * histories in memory hold records the database does not, so they are all read again; the open
   * batch was decided against them and fails too (a refusal is always safe).
   */
  private commitFailed(batch: Batch, error: Error): void {
    for (const w of batch.waiters) w.reject(error);
    this.failOpenBatch(error);
    this.histories.clear();
  }

  private failOpenBatch(error: Error): void {
    this.stopCommitTimer();
    const open = this.batch;
    this.batch = null;
    for (const w of open?.waiters ?? []) w.reject(error);
  }

  private stopCommitTimer(): void {
    if (this.commitTimer !== null) clearTimeout(this.commitTimer);
    this.commitTimer = null;
  }

  /** Sign requests wait until `body` is done; `after` then drops the histories it may have changed. */
  private exclusive<K extends Op>(body: Call<K>, after: () => void): Promise<Result<K>> {
    const done = this.afterCommits(body).finally(() => {
      after();
      if (this.barrier === done) this.barrier = null;
    });
    this.barrier = done;
    return done;
  }

  private call<K extends Op>(body: Call<K>): Promise<Result<K>> {
    return new Promise((resolve, reject) => this.enqueue(body, { resolve, reject }));
  }

  private enqueue<K extends Op>(body: Call<K>, waiter: Waiter<Result<K>>): void {
    if (this.failure) {
      waiter.reject(this.failure);
      return;
    }
    const id = this.nextId++;
    const answerOf = answerTo[body.op];
    this.waiting.set(id, {
      answer: (a) => {
        const got = answerOf(a);
        if (got) waiter.resolve(got.value);
        else waiter.reject(new StorageError("DATABASE_UNAVAILABLE", `the slashing database thread answered "${a.op}" to a "${body.op}" request`));
      },
      reject: (e) => waiter.reject(e),
    });
    const request: Request = { id, call: body };
    this.outbox.push(request);
    this.scheduleFlush();
  }

  /**
   * setImmediate rather than a microtask: every history read and every commit asked for in this
   * event-loop turn then travel in one message, which saves a thread wake-up each.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushOutbox());
  }

  private flushOutbox(): void {
    this.flushScheduled = false;
    // Last, so that the batch holds every request decided in this turn.
    if (this.commitWanted && !this.committing) this.sendBatch();
    const requests = this.outbox;
    this.outbox = [];
    if (requests.length > 0 && !this.failure) this.worker.postMessage(requests);
  }

  private onReply(m: Reply): void {
    if (m.t !== "results") return;
    for (const item of m.items) {
      const caller = this.waiting.get(item.id);
      this.waiting.delete(item.id);
      if ("error" in item) caller?.reject(fromWire(item.error));
      else caller?.answer(item);
    }
    // With nothing decided and not yet committed, the database's binding is the whole truth (an
    // import may have bound it, a failed first commit may have left it unbound).
    if (this.committing === null && this.batch === null) this.chain = m.chain;
  }

  /** Everything still waiting fails: a history not read refuses, a record not durable is lost. */
  private fail(error: StorageError): void {
    this.failure ??= error;
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.reject(error);
    this.failOpenBatch(error);
  }
}

export function openSqliteStore(path: string, options?: SqliteStoreOptions): Promise<SqliteSlashingStore> {
  return SqliteSlashingStore.open(path, options);
}
