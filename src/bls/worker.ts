import { parentPort } from "node:worker_threads";
import { SecretKey } from "@chainsafe/blst";

/** Messages between bls/pool.ts and its workers; the pool is the only sender. */
export type WorkerRequest =
  | { op: "add"; id: number; pubkey: string; secretKey: Uint8Array }
  | { op: "remove"; id: number; pubkey: string }
  | { op: "sign"; id: number; pubkey: string; message: Uint8Array };

export type WorkerResponse = { id: number; signature?: Uint8Array; error?: string };

const keys = new Map<string, SecretKey>();
const port = parentPort;
if (!port) throw new Error("bls/worker.ts must run as a worker thread");

function handle(req: WorkerRequest): WorkerResponse {
  const res: WorkerResponse = { id: req.id };
  try {
    switch (req.op) {
      case "add":
        keys.set(req.pubkey, SecretKey.fromBytes(req.secretKey));
        req.secretKey.fill(0);
        break;
      case "remove":
        keys.delete(req.pubkey);
        break;
      case "sign": {
        const sk = keys.get(req.pubkey);
        if (!sk) throw new Error(`no key ${req.pubkey} in worker`);
        res.signature = sk.sign(req.message).toBytes();
        break;
      }
    }
  } catch (e) {
    res.error = (e as Error).message;
  }
  return res;
}

// Requests come in batches (one message per event-loop turn of the pool). Answers go back one by
// one: holding them for the whole batch would make the first wait for the last signature.
port.on("message", (batch: WorkerRequest[]) => {
  for (const req of batch) port.postMessage([handle(req)]);
});
