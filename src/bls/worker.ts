import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { SecretKey } from "@chainsafe/blst";
import {
  DOORBELL,
  MESSAGE_BYTES,
  REQUESTS_WRITTEN,
  RESPONSES_WRITTEN,
  SIGNATURE_BYTES,
  STATUS_FAILED,
  STATUS_NO_KEY,
  STATUS_SIGNED,
  WORKER_ASLEEP,
  ringViews,
  slotOf,
  type ControlRequest,
  type ControlResponse,
  type RingMemory,
} from "./ring.js";

export interface BlsWorkerData {
  memory: RingMemory;
  port: MessagePort;
}

const { memory, port } = workerData as BlsWorkerData;
const ring = ringViews(memory);
const keys = new Map<number, SecretKey>();

/** Returns false on "stop". */
function control(req: ControlRequest): boolean {
  const res: ControlResponse = { id: req.id };
  try {
    switch (req.op) {
      case "add":
        keys.set(req.keyIndex, SecretKey.fromBytes(req.secretKey));
        req.secretKey.fill(0);
        break;
      case "remove":
        keys.delete(req.keyIndex);
        break;
      case "stop":
        port.postMessage(res);
        return false;
    }
  } catch (e) {
    res.error = (e as Error).message;
  }
  port.postMessage(res);
  return true;
}

function sign(slot: number): void {
  const sk = keys.get(ring.keyIndex[slot]!);
  if (!sk) {
    ring.status[slot] = STATUS_NO_KEY;
    return;
  }
  try {
    const message = ring.messages.subarray(slot * MESSAGE_BYTES, (slot + 1) * MESSAGE_BYTES);
    ring.signatures.set(sk.sign(message).toBytes(), slot * SIGNATURE_BYTES);
    ring.status[slot] = STATUS_SIGNED;
  } catch {
    ring.status[slot] = STATUS_FAILED;
  }
}

// This thread does nothing but sign, so it blocks on the doorbell instead of running an event loop;
// control messages are read synchronously when the bell rings. Each signature is published as soon
// as it is made, and the pool takes whatever is published whenever it sends a request. Waking it
// is another matter: Atomics.notify on its waitAsync posts a task to its event loop, which cost
// both threads together about as much as a tenth of the signature. So the pool is woken after
// every NOTIFY_EVERY signatures, and at once whenever this thread has done all it was given.
const NOTIFY_EVERY = 16;
/**
 * blst's signatures free their native memory in finalizers that Node runs from the event loop,
 * which a thread that only signs and blocks on the doorbell never reaches: without a turn of the
 * loop every YIELD_EVERY signatures and before each sleep, the process grew by about 1 KB per
 * signature, for good. A turn costs a few microseconds, next to YIELD_EVERY signatures' milliseconds.
 */
const YIELD_EVERY = 256;
const turnOfEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function serve(): Promise<void> {
  let done = 0;
  let unannounced = 0;
  let sinceTurn = 0;
  for (;;) {
    const bell = Atomics.load(ring.control, DOORBELL);
    let msg: { message: unknown } | undefined;
    let running = true;
    while (running && (msg = receiveMessageOnPort(port)) !== undefined) running = control(msg.message as ControlRequest);
    if (!running) return;
    const written = Atomics.load(ring.control, REQUESTS_WRITTEN);
    if (done === written) {
      if (sinceTurn > 0) {
        // Before sleeping, for the signatures made since the last turn; then look again.
        sinceTurn = 0;
        await turnOfEventLoop();
        continue;
      }
      // The pool rings only a worker that says it is asleep. Saying so before looking at the bell
      // again means that of a bell and this flag, one side sees the other (all are sequentially
      // consistent): either the pool notifies, or the bell has moved and wait() returns at once.
      Atomics.store(ring.control, WORKER_ASLEEP, 1);
      Atomics.wait(ring.control, DOORBELL, bell);
      Atomics.store(ring.control, WORKER_ASLEEP, 0);
      continue;
    }
    while (done !== written) {
      sign(slotOf(done));
      done = (done + 1) | 0;
      sinceTurn++;
      Atomics.store(ring.control, RESPONSES_WRITTEN, done);
      if (++unannounced >= NOTIFY_EVERY || done === Atomics.load(ring.control, REQUESTS_WRITTEN)) {
        unannounced = 0;
        Atomics.notify(ring.control, RESPONSES_WRITTEN);
      }
    }
    if (sinceTurn >= YIELD_EVERY) {
      sinceTurn = 0;
      await turnOfEventLoop();
    }
  }
}

await serve();
port.close();
