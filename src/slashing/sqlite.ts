/**
 * Slashing protection in a SQLite file, for a single signer process. The connection lives in a
 * worker thread (sqliteWorker.ts) so that its fsyncs never block the HTTP event loop; this class
 * forwards requests to it and resolves each sign check twice: once decided, once durable.
 *
 * A decided record is committed when its caller asks for `durable()`, that is once the signature is
 * computed, together with every record decided by then: under load the signatures queue for the
 * BLS threads, so one commit (WAL write and fsync) covers tens of records without adding a fixed
 * delay to any request, and a lone request is committed as soon as its signature is ready.
 */
import type { Worker } from "node:worker_threads";
import { startWorker, type WithoutId } from "../util/worker.js";
import { StorageError } from "./errors.js";
import { buildInterchange, parseInterchange, type Interchange, type KeyState } from "./interchange.js";
import type { SignRequest } from "./sqliteEngine.js";
import { validateProposal, validateVote } from "./validate.js";
import { fromWire, type Batch, type Reply, type Request, type WorkerConfig } from "./sqliteProtocol.js";
import type {
  AttestationVote,
  BlockProposal,
  ImportSummary,
  PruneSummary,
  Recorded,
  SlashingProtection,
  StoreHealth,
} from "./store.js";

export interface SqliteStoreOptions {
  /** Binds a new database to this chain at once (otherwise the first sign request or import does). */
  genesisValidatorsRoot?: string;
  /**
   * The longest a decided record waits for its commit when nobody asks for `durable()` (default
   * 50 ms), e.g. because signing failed. 0 commits as soon as the thread is idle.
   */
  commitDelayMs?: number;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Present for sign requests once allowed: settled by the "durable" reply. */
  durable?: { resolve(): void; reject(error: Error): void };
}

type RequestBody = WithoutId<Request>;

export class SqliteSlashingStore implements SlashingProtection {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();
  private outbox: Request[] = [];
  private commitWanted = false;
  private flushScheduled = false;
  private failure: StorageError | null = null;

  private constructor(
    readonly path: string,
    private readonly worker: Worker,
  ) {
    worker.on("message", (m: Reply) => this.onReply(m));
    worker.on("error", (e) => this.fail(new StorageError("DATABASE_UNAVAILABLE", `slashing database thread crashed: ${e.message}`)));
    worker.on("exit", () => this.fail(new StorageError("STORE_CLOSED", `slashing database ${path} is closed`)));
  }

  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteSlashingStore> {
    const config: WorkerConfig = { path, commitDelayMs: 50, ...options };
    const worker = startWorker(import.meta.url, "sqliteWorker", { workerData: config });
    await new Promise<void>((resolve, reject) => {
      const onFirst = (m: Reply): void => {
        worker.off("error", onError);
        if (m.t === "ready") resolve();
        else if (m.t === "openFailed") reject(fromWire(m.error));
      };
      const onError = (e: Error): void => {
        worker.off("message", onFirst);
        reject(new StorageError("DATABASE_UNAVAILABLE", `slashing database thread failed to start: ${e.message}`));
      };
      worker.once("message", onFirst);
      worker.once("error", onError);
    });
    return new SqliteSlashingStore(path, worker);
  }

  async checkAndRecordBlock(p: BlockProposal): Promise<Recorded> {
    validateProposal(p);
    return this.sign({ kind: "block", ...p });
  }

  async checkAndRecordAttestation(v: AttestationVote): Promise<Recorded> {
    validateVote(v);
    return this.sign({ kind: "attestation", ...v });
  }

  async importInterchange(json: unknown): Promise<ImportSummary> {
    const parsed = parseInterchange(json);
    return (await this.call({ op: "import", parsed })) as ImportSummary;
  }

  async exportInterchange(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): Promise<Interchange> {
    const exported = (await this.call({
      op: "export",
      ...(genesisValidatorsRoot !== undefined && { genesisValidatorsRoot: genesisValidatorsRoot.toLowerCase() }),
      ...(pubkeys && { pubkeys: pubkeys.map((k) => k.toLowerCase()) }),
    })) as { genesisValidatorsRoot: string; states: KeyState[] };
    return buildInterchange(exported.genesisValidatorsRoot, exported.states);
  }

  prune(): Promise<PruneSummary> {
    return this.call({ op: "prune" }) as Promise<PruneSummary>;
  }

  async health(): Promise<StoreHealth> {
    try {
      await this.call({ op: "ping" });
      return { status: "UP", data: { backend: "sqlite" } };
    } catch (e) {
      return { status: "DOWN", data: { backend: "sqlite", error: (e as Error).message } };
    }
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    await this.call({ op: "close" });
    await exited;
  }

  /** Resolves once decided (see the "decisions" reply); the returned `durable` settles after the commit. */
  private sign(req: SignRequest): Promise<Recorded> {
    return this.call({ op: "sign", req }) as Promise<Recorded>;
  }

  private call(body: RequestBody): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.enqueue(body, { resolve, reject });
    });
  }

  private enqueue(body: RequestBody, waiter: Waiter): void {
    if (this.failure) {
      waiter.reject(this.failure);
      return;
    }
    const id = this.nextId++;
    this.waiting.set(id, waiter);
    this.outbox.push({ id, ...body } as Request);
    this.scheduleFlush();
  }

  /**
   * For a caller whose signature is ready: unless the record is committed already, asks the thread
   * to commit everything it has decided.
   */
  private whenDurable(id: number, durable: Promise<void>): Promise<void> {
    if (this.waiting.has(id)) {
      this.commitWanted = true;
      this.scheduleFlush();
    }
    return durable;
  }

  /**
   * setImmediate rather than a microtask: every request parsed and every signature finished in
   * this event-loop turn then travel in one message, which saves a thread wake-up per request.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushOutbox());
  }

  private flushOutbox(): void {
    const batch: Batch = { requests: this.outbox, commit: this.commitWanted };
    this.outbox = [];
    this.commitWanted = false;
    this.flushScheduled = false;
    if (!this.failure) this.worker.postMessage(batch);
  }

  private onReply(m: Reply): void {
    switch (m.t) {
      case "decisions":
        for (const { id, error } of m.items) {
          const w = this.waiting.get(id);
          if (!w) continue;
          if (error) {
            this.waiting.delete(id);
            w.reject(fromWire(error));
            continue;
          }
          const durable = new Promise<void>((resolve, reject) => {
            w.durable = { resolve, reject };
          });
          // The caller awaits `durable` only after signing; until then a rejection is not unhandled.
          durable.catch(() => undefined);
          w.resolve({ durable: () => this.whenDurable(id, durable) } satisfies Recorded);
        }
        break;
      case "durable":
        for (const id of m.ids) {
          const w = this.waiting.get(id);
          this.waiting.delete(id);
          if (m.error) w?.durable?.reject(fromWire(m.error));
          else w?.durable?.resolve();
        }
        break;
      case "result": {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) w?.reject(fromWire(m.error));
        else w?.resolve(m.value);
        break;
      }
      default:
        break;
    }
  }

  /** Everything still waiting fails: a decision not heard of is a refusal, a record not durable is lost. */
  private fail(error: StorageError): void {
    this.failure ??= error;
    for (const w of this.waiting.values()) {
      if (w.durable) w.durable.reject(error);
      else w.reject(error);
    }
    this.waiting.clear();
  }
}

export function openSqliteStore(path: string, options?: SqliteStoreOptions): Promise<SqliteSlashingStore> {
  return SqliteSlashingStore.open(path, options);
}
