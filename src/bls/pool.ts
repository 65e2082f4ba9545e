import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { SecretKey } from "@chainsafe/blst";
import { InputError, SignerError } from "../errors.js";
import { toHex } from "../util/hex.js";
import { startWorker } from "../util/worker.js";
import type { SigningKeys } from "./signingKeys.js";
import type { WorkerRequest, WorkerResponse } from "./worker.js";

export class BlsError extends SignerError<"KEY_NOT_LOADED" | "WORKER_FAILED"> {
  readonly domain = "bls";
}

type Command = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, "id"> : never) : never;

interface Pending {
  resolve: (sig: Uint8Array | undefined) => void;
  reject: (e: Error) => void;
}

class BlsWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private outbox: WorkerRequest[] = [];
  private nextId = 0;

  constructor() {
    this.worker = startWorker(import.meta.url, "worker");
    this.worker.unref();
    this.worker.on("message", (batch: WorkerResponse[]) => {
      for (const res of batch) {
        const p = this.pending.get(res.id);
        if (!p) continue;
        this.pending.delete(res.id);
        if (res.error) p.reject(new BlsError("WORKER_FAILED", res.error));
        else p.resolve(res.signature);
      }
    });
    this.worker.on("error", (e) => this.failAll(e));
    this.worker.on("exit", (code) => this.failAll(new Error(`BLS worker exited with code ${code}`)));
  }

  get inflight(): number {
    return this.pending.size;
  }

  /** Requests made during one turn of the event loop travel to the worker as one message. */
  request(req: Command): Promise<Uint8Array | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.outbox.push({ ...req, id } as WorkerRequest);
      if (this.outbox.length === 1) setImmediate(this.flush);
    });
  }

  private readonly flush = (): void => {
    const batch = this.outbox;
    this.outbox = [];
    this.worker.postMessage(batch);
  };

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new BlsError("WORKER_FAILED", e.message));
    this.pending.clear();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * SigningKeys backed by worker threads: @chainsafe/blst signs synchronously, so signing on the
 * event loop would cap the signer at one core and stall HTTP while it signs. Every worker holds
 * every key; a signature goes to the worker with the fewest requests in flight.
 */
export class WorkerPoolSigningKeys implements SigningKeys {
  private readonly workers: BlsWorker[];
  /** Insertion-ordered, so pubkeys() lists keys in the order they were loaded. */
  private readonly loaded = new Set<string>();

  constructor(size = availableParallelism()) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new BlsWorker());
  }

  get size(): number {
    return this.workers.length;
  }

  async add(secretKey: Uint8Array): Promise<string> {
    let pubkey: string;
    try {
      pubkey = toHex(SecretKey.fromBytes(secretKey).toPublicKey().toBytes());
    } catch {
      throw new InputError("INVALID_INPUT", "secret key is not a valid BLS12-381 scalar");
    }
    if (this.loaded.has(pubkey)) return pubkey;
    // Each worker gets its own copy, which it zeroes once the key is parsed.
    await Promise.all(this.workers.map((w) => w.request({ op: "add", pubkey, secretKey: secretKey.slice() })));
    this.loaded.add(pubkey);
    return pubkey;
  }

  async remove(pubkey: string): Promise<boolean> {
    if (!this.loaded.delete(pubkey)) return false;
    await Promise.all(this.workers.map((w) => w.request({ op: "remove", pubkey })));
    return true;
  }

  has(pubkey: string): boolean {
    return this.loaded.has(pubkey);
  }

  pubkeys(): string[] {
    return [...this.loaded];
  }

  async sign(pubkey: string, message: Uint8Array): Promise<Uint8Array> {
    if (!this.has(pubkey)) throw new BlsError("KEY_NOT_LOADED", `no key loaded for ${pubkey}`);
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.inflight < best.inflight) best = w;
    const sig = await best.request({ op: "sign", pubkey, message });
    return sig!;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
