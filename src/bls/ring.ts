/**
 * Shared memory between bls/pool.ts and one BLS worker. Sign requests and signatures travel through
 * two rings of fixed slots instead of postMessage: a postMessage costs the HTTP thread a structured
 * clone and an event-loop wake-up per message, while a ring lets the worker sign back to back
 * and the pool collect every signature finished since it last looked in one wake-up.
 *
 * Counters are int32 and wrap; a slot is `counter & (SLOTS - 1)`, which stays continuous across
 * the wrap because SLOTS divides 2^32.
 */
export const SLOTS = 256;
export const MESSAGE_BYTES = 32;
export const SIGNATURE_BYTES = 96;

/** Int32 cells of `control`. */
export const DOORBELL = 0; // bumped by the pool for every request or control message; the worker sleeps on it
export const REQUESTS_WRITTEN = 1; // written by the pool
export const RESPONSES_WRITTEN = 2; // written by the worker; the pool waits on it
export const WORKER_ASLEEP = 3; // 1 while the worker is (about to be) waiting on DOORBELL

export const STATUS_SIGNED = 0;
export const STATUS_NO_KEY = 1;
export const STATUS_FAILED = 2;

export interface RingMemory {
  control: SharedArrayBuffer;
  keyIndex: SharedArrayBuffer;
  messages: SharedArrayBuffer;
  status: SharedArrayBuffer;
  signatures: SharedArrayBuffer;
}

export interface RingViews {
  control: Int32Array;
  /** The key of each request slot, by the index the pool gave it when the key was added. */
  keyIndex: Int32Array;
  messages: Uint8Array;
  status: Int32Array;
  signatures: Uint8Array;
}

export function allocateRing(): RingMemory {
  return {
    control: new SharedArrayBuffer(4 * 4),
    keyIndex: new SharedArrayBuffer(SLOTS * 4),
    messages: new SharedArrayBuffer(SLOTS * MESSAGE_BYTES),
    status: new SharedArrayBuffer(SLOTS * 4),
    signatures: new SharedArrayBuffer(SLOTS * SIGNATURE_BYTES),
  };
}

export function ringViews(m: RingMemory): RingViews {
  return {
    control: new Int32Array(m.control),
    keyIndex: new Int32Array(m.keyIndex),
    messages: new Uint8Array(m.messages),
    status: new Int32Array(m.status),
    signatures: new Uint8Array(m.signatures),
  };
}

export const slotOf = (counter: number): number => counter & (SLOTS - 1);

/** Keys are added and removed over a MessagePort; each answer carries the request's id. */
export type ControlRequest =
  | { op: "add"; id: number; keyIndex: number; secretKey: Uint8Array }
  | { op: "remove"; id: number; keyIndex: number }
  | { op: "stop"; id: number };

export type ControlResponse = { id: number; error?: string };
