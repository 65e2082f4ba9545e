import { availableParallelism, freemem } from "node:os";
import { derivedPair } from "../bls/keyPair.js";
import { KeyError, type KeyErrorCode } from "./errors.js";
import { decryptKeystore, kdfMemory, type DecryptedKey, type Keystore } from "./keystore.js";
import { startWorker } from "../util/worker.js";

export interface DecryptJob {
  keystore: Keystore;
  password: string;
  /** Names the keystore in errors: a file path or "keystores[3]". */
  source: string;
}

export type DecryptResult = { ok: true; key: DecryptedKey } | { ok: false; error: KeyError };

/** What crosses the thread boundary; the secret's buffer is transferred, not copied. */
export type WorkerReply =
  | { id: number; ok: true; pubkey: string; secretKey: Uint8Array }
  | { id: number; ok: false; code: KeyErrorCode; message: string; context: Record<string, unknown> };

export interface DecryptOptions {
  /**
   * Worker threads to use. 0 decrypts on the calling thread, which blocks it for the whole KDF
   * (about a second for the default scrypt): fine for one keystore at start-up, not in a server.
   * Default: none for a single keystore, otherwise one per core (fewer when the keystores' KDFs
   * need more memory than is available, see defaultWorkers) up to the number of keystores.
   */
  workers?: number;
  /** Called as each keystore finishes, in completion order. */
  onResult?: (index: number, result: DecryptResult) => void;
}

/**
 * Decrypts EIP-2335 keystores, in parallel worker threads because the KDFs are deliberately slow
 * and synchronous in bls-keystore. Results are in job order; one failing keystore never affects
 * the others.
 */
export async function decryptKeystores(jobs: DecryptJob[], options: DecryptOptions = {}): Promise<DecryptResult[]> {
  const workers = Math.min(jobs.length, options.workers ?? (jobs.length > 1 ? defaultWorkers(jobs.map((j) => j.keystore)) : 0));
  const results: DecryptResult[] = new Array(jobs.length);
  const settle = (index: number, result: DecryptResult) => {
    results[index] = result;
    options.onResult?.(index, result);
  };

  if (workers <= 0) {
    for (const [index, job] of jobs.entries()) {
      settle(index, await decryptOne(job));
    }
    return results;
  }

  let next = 0;
  const runWorker = () =>
    new Promise<void>((resolve, reject) => {
      const worker = startWorker(import.meta.url, "decryptWorker");
      let current = -1;
      const feed = () => {
        if (next >= jobs.length) {
          current = -1;
          void worker.terminate().then(() => resolve(), reject);
          return;
        }
        current = next++;
        const job = jobs[current]!;
        worker.postMessage({ id: current, keystore: job.keystore, password: job.password, source: job.source });
      };
      worker.on("message", (reply: WorkerReply) => {
        settle(reply.id, fromReply(reply));
        feed();
      });
      worker.on("error", (e) => {
        // A crashed worker (e.g. out of memory in scrypt) fails only the keystore it was working on.
        if (current >= 0) {
          const source = jobs[current]!.source;
          settle(current, {
            ok: false,
            error: new KeyError("DECRYPT_FAILED", `${source}: decryption worker failed: ${e.message}`, { source }),
          });
        }
        if (next < jobs.length) runWorker().then(resolve, reject);
        else resolve();
      });
      feed();
    });

  await Promise.all(Array.from({ length: workers }, runWorker));
  return results;
}

/** What a decryption thread holds besides its KDF's memory: its own V8 isolate and heap. */
const WORKER_OVERHEAD = 32 * 1024 * 1024;

/**
 * `workers` for a keystore import inside the running server: the default less one core, which is
 * left to the signing threads, and at least one thread even for a single keystore, whose KDF
 * would otherwise stall the event loop that answers sign requests.
 */
export function serverWorkers(keystores: readonly Keystore[]): number {
  return Math.max(1, Math.min(availableParallelism() - 1, defaultWorkers(keystores)));
}

/**
 * One per core, but no more than half the available memory holds of the costliest keystore's KDF
 * (scrypt's memory grows with n·r, read from each keystore), never fewer than one.
 */
function defaultWorkers(keystores: readonly Keystore[]): number {
  const perThread = WORKER_OVERHEAD + keystores.reduce((max, k) => Math.max(max, kdfMemory(k.crypto.kdf)), 0);
  const byMemory = Math.floor(availableMemory() / 2 / perThread);
  return Math.max(1, Math.min(availableParallelism(), byMemory));
}

/** Free memory, within the cgroup's limit when there is one (a container's free memory is the host's). */
function availableMemory(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  // No limit reads as 0, or on cgroup v2 as a value near 2^63.
  const withinLimit = limit > 0 && limit < Number.MAX_SAFE_INTEGER ? limit - process.memoryUsage.rss() : Infinity;
  return Math.max(0, Math.min(freemem(), withinLimit));
}

export async function decryptOne(job: DecryptJob): Promise<DecryptResult> {
  try {
    return { ok: true, key: await decryptKeystore(job.keystore, job.password, job.source) };
  } catch (e) {
    if (e instanceof KeyError) return { ok: false, error: e };
    const message = `${job.source}: cannot decrypt: ${(e as Error).message}`;
    return { ok: false, error: new KeyError("DECRYPT_FAILED", message, { source: job.source }) };
  }
}

function fromReply(reply: WorkerReply): DecryptResult {
  if (reply.ok) return { ok: true, key: derivedPair(reply.pubkey, reply.secretKey) };
  return { ok: false, error: new KeyError(reply.code, reply.message, reply.context) };
}
