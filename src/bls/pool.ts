import { availableParallelism } from "node:os";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { BlsError } from "./errors.js";
import type { KeyPair } from "./keyPair.js";
import { startWorker, type WithoutId } from "../util/worker.js";
import type { SigningKeys } from "./signingKeys.js";
import {
  allocateRing,
  DOORBELL,
  MESSAGE_BYTES,
  REQUESTS_WRITTEN,
  RESPONSES_WRITTEN,
  ringViews,
  SIGNATURE_BYTES,
  SLOTS,
  slotOf,
  STATUS_NO_KEY,
  STATUS_SIGNED,
  WORKER_ASLEEP,
  type ControlRequest,
  type ControlResponse,
  type RingViews,
} from "./ring.js";
import type { BlsWorkerData } from "./worker.js";


interface Pending {
  resolve: (sig: Uint8Array) => void;
  reject: (e: Error) => void;
}

interface Queued extends Pending {
  keyIndex: number;
  message: Uint8Array;
}

/** One worker thread and the rings it shares with the pool (see ring.ts). */
class BlsWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ring: RingViews;
  /** The pending request of each ring slot, in step with the counters below. */
  private readonly inRing: Array<Pending | undefined> = new Array(SLOTS);
  private written = 0;
  private collected = 0;
  /** Requests beyond the ring's SLOTS, written as slots free up. */
  private readonly overflow: Queued[] = [];
  private waiting = false;
  private readonly controls = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextControlId = 0;
  private failure: Error | null = null;
  /** Whether the control port holds the event loop open: only while something is outstanding. */
  private holdingLoop = false;

  constructor() {
    const memory = allocateRing();
    this.ring = ringViews(memory);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.on("message", (res: ControlResponse) => {
      const c = this.controls.get(res.id);
      this.controls.delete(res.id);
      if (res.error) c?.reject(new BlsError("WORKER_FAILED", res.error));
      else c?.resolve();
      this.holdLoopWhileBusy();
    });
    this.port.unref();
    const data: BlsWorkerData = { memory, port: port2 };
    this.worker = startWorker(import.meta.url, "worker", { workerData: data, transferList: [port2] });
    this.worker.unref();
    this.worker.on("error", (e) => this.failAll(e));
    this.worker.on("exit", (code) => this.failAll(new Error(`BLS worker exited with code ${code}`)));
  }

  /** Requests written to the ring and not yet collected. */
  private get inRingCount(): number {
    return (this.written - this.collected) | 0;
  }

  get inflight(): number {
    return this.inRingCount + this.overflow.length;
  }

  private failed(): Promise<never> {
    return Promise.reject(new BlsError("WORKER_FAILED", this.failure!.message));
  }

  control(req: WithoutId<ControlRequest>): Promise<void> {
    if (this.failure) return this.failed();
    const id = this.nextControlId++;
    return new Promise((resolve, reject) => {
      this.controls.set(id, { resolve, reject });
      this.port.postMessage({ ...req, id } as ControlRequest);
      this.ringBell();
      this.holdLoopWhileBusy();
    });
  }

  sign(keyIndex: number, message: Uint8Array): Promise<Uint8Array> {
    if (this.failure) return this.failed();
    return new Promise((resolve, reject) => {
      const p = { resolve, reject };
      if (this.inRingCount < SLOTS) this.write(keyIndex, message, p);
      else this.overflow.push({ keyIndex, message, ...p });
      this.ringBell();
      this.awaitSignatures();
      this.holdLoopWhileBusy();
    });
  }

  /**
   * A pending Atomics.waitAsync does not keep Node's event loop alive, so the control port is
   * ref'd while requests are out (a process awaiting a signature must not exit) and unref'd when
   * idle (an idle pool must not keep the process alive).
   */
  private holdLoopWhileBusy(): void {
    const busy = this.inflight > 0 || this.controls.size > 0;
    if (busy === this.holdingLoop) return;
    this.holdingLoop = busy;
    if (busy) this.port.ref();
    else this.port.unref();
  }

  private write(keyIndex: number, message: Uint8Array, p: Pending): void {
    const slot = slotOf(this.written);
    this.ring.keyIndex[slot] = keyIndex;
    this.ring.messages.set(message, slot * MESSAGE_BYTES);
    this.inRing[slot] = p;
    this.written = (this.written + 1) | 0;
    Atomics.store(this.ring.control, REQUESTS_WRITTEN, this.written);
  }

  private ringBell(): void {
    Atomics.add(this.ring.control, DOORBELL, 1);
    // Under load the worker is signing, not waiting, and a notify costs a lock V8 shares between
    // all threads; see worker.ts for why a worker falling asleep meanwhile still wakes.
    if (Atomics.load(this.ring.control, WORKER_ASLEEP) === 1) Atomics.notify(this.ring.control, DOORBELL);
  }

  /** At most one wait is armed; it is re-armed after waking while requests are still out. */
  private awaitSignatures(): void {
    if (this.waiting || this.failure || this.inflight === 0) return;
    this.waiting = true;
    const w = Atomics.waitAsync(this.ring.control, RESPONSES_WRITTEN, this.collected);
    if (w.async) void w.value.then(this.onWake);
    else queueMicrotask(this.onWake);
  }

  private readonly onWake = (): void => {
    this.waiting = false;
    this.collect();
    this.awaitSignatures();
  };

  /** Takes the signatures published since the worker last woke the pool (see worker.ts). */
  poll(): void {
    if (!this.failure && Atomics.load(this.ring.control, RESPONSES_WRITTEN) !== this.collected) this.collect();
  }

  private collect(): void {
    const ready = Atomics.load(this.ring.control, RESPONSES_WRITTEN);
    let refilled = false;
    while (this.collected !== ready && !this.failure) {
      const slot = slotOf(this.collected);
      const p = this.inRing[slot]!;
      this.inRing[slot] = undefined;
      const status = this.ring.status[slot];
      if (status === STATUS_SIGNED) p.resolve(this.ring.signatures.slice(slot * SIGNATURE_BYTES, (slot + 1) * SIGNATURE_BYTES));
      else if (status === STATUS_NO_KEY) p.reject(new BlsError("KEY_NOT_LOADED", "key is not loaded in the signing thread"));
      else p.reject(new BlsError("WORKER_FAILED", "signing failed in the signing thread"));
      this.collected = (this.collected + 1) | 0;
      const next = this.overflow.shift();
      if (next) {
        this.write(next.keyIndex, next.message, next);
        refilled = true;
      }
    }
    if (refilled) this.ringBell();
    this.holdLoopWhileBusy();
  }

  private failAll(e: Error): void {
    this.failure ??= e;
    const err = new BlsError("WORKER_FAILED", e.message);
    for (let i = 0; i < SLOTS; i++) {
      this.inRing[i]?.reject(err);
      this.inRing[i] = undefined;
    }
    for (const q of this.overflow.splice(0)) q.reject(err);
    for (const c of this.controls.values()) c.reject(err);
    this.controls.clear();
    this.holdLoopWhileBusy();
  }

  async terminate(): Promise<void> {
    if (!this.failure) await this.control({ op: "stop" }).catch(() => undefined);
    await this.worker.terminate();
  }
}

/**
 * SigningKeys backed by worker threads: @chainsafe/blst signs synchronously, so signing on the
 * event loop would cap the signer at one core and stall HTTP while it signs. Every worker holds
 * every key; a signature goes to the worker with the fewest requests in flight.
 */
export class WorkerPoolSigningKeys implements SigningKeys {
  private readonly workers: BlsWorker[];
  /** Public key to the index the workers know it by; insertion-ordered, so pubkeys() lists keys in load order. */
  private readonly loaded = new Map<string, number>();
  /** Indexes are never reused, so a signature still in flight for a removed key cannot pick up a new one. */
  private nextKeyIndex = 0;
  /** Adds not yet acknowledged by every worker: a key added twice meanwhile is sent to them once. */
  private readonly adding = new Map<string, Promise<string>>();

  constructor(size = availableParallelism()) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => new BlsWorker());
  }

  get size(): number {
    return this.workers.length;
  }

  add({ pubkey, secretKey }: KeyPair): Promise<string> {
    if (this.loaded.has(pubkey)) return Promise.resolve(pubkey);
    let adding = this.adding.get(pubkey);
    if (!adding) {
      const keyIndex = this.nextKeyIndex++;
      // Each worker gets its own copy, which it zeroes once the key is parsed.
      const sent = this.workers.map((w) => w.control({ op: "add", keyIndex, secretKey: secretKey.slice() }));
      adding = Promise.all(sent)
        .then(() => {
          this.loaded.set(pubkey, keyIndex);
          return pubkey;
        })
        .finally(() => this.adding.delete(pubkey));
      this.adding.set(pubkey, adding);
    }
    return adding;
  }

  async remove(pubkey: string): Promise<boolean> {
    const keyIndex = this.loaded.get(pubkey);
    if (keyIndex === undefined) return false;
    this.loaded.delete(pubkey);
    await Promise.all(this.workers.map((w) => w.control({ op: "remove", keyIndex })));
    return true;
  }

  has(pubkey: string): boolean {
    return this.loaded.has(pubkey);
  }

  pubkeys(): string[] {
    return [...this.loaded.keys()];
  }

  sign(pubkey: string, message: Uint8Array): Promise<Uint8Array> {
    const keyIndex = this.loaded.get(pubkey);
    if (keyIndex === undefined) return Promise.reject(new BlsError("KEY_NOT_LOADED", `no key loaded for ${pubkey}`));
    if (message.length !== MESSAGE_BYTES) return Promise.reject(new BlsError("WORKER_FAILED", `signing root must be ${MESSAGE_BYTES} bytes`));
    for (const w of this.workers) w.poll();
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.inflight < best.inflight) best = w;
    return best.sign(keyIndex, message);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
