import { availableParallelism } from "node:os";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { randomBytes } from "node:crypto";
import { SecretKey } from "@chainsafe/blst";
import { startWorker } from "../src/util/worker.js";

/** Signs as fast as one thread can for `ms`, returns the count. */
function signFor(ms: number): number {
  const sk = SecretKey.fromKeygen(randomBytes(32));
  const msg = randomBytes(32);
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    msg[0] = n & 0xff;
    sk.sign(msg);
    n++;
  }
  return n;
}

if (!isMainThread) {
  parentPort!.postMessage(signFor((workerData as { ms: number }).ms));
}

/** Raw BLS signatures per second on `threads` worker threads signing at once. */
export async function rawSignsPerSecond(ms: number, threads = availableParallelism()): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
      const w = startWorker(import.meta.url, "rawBls", { workerData: { ms } });
      w.once("message", (n: number) => { resolve(n); void w.terminate(); });
      w.once("error", reject);
    })),
  );
  return counts.reduce((a, b) => a + b, 0) / (ms / 1000);
}
