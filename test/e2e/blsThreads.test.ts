import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, sign } from "../helpers/messages.js";
import { serveArgs, spawnSigner, writeKeystores } from "../helpers/signer.js";

/** The OS threads of a process, once the count has stopped moving (start-up's keystore decryption threads end after loading). */
async function settledThreads(pid: number): Promise<number> {
  let last = -1;
  for (;;) {
    const now = (await readdir(`/proc/${pid}/task`)).length;
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe("--bls-threads", () => {
  it("bounds the signer's OS threads: a fixed number per BLS worker, whatever the CPU count", async (t) => {
    const dir = await tempDir(t, "bls-threads");
    const dirs = await writeKeystores(dir, 1);
    const threads: Record<number, number> = {};
    for (const n of [1, 2, 4]) {
      const signer = await spawnSigner(serveArgs(join(dir, `data-${n}`), dirs, "--bls-threads", String(n)));
      try {
        // A signature proves the pool works at this size; libuv's pool has started by now as well.
        assert.equal((await sign(signer.url, dirs.keys[0]!.pubkey, attestationBody(1, 2))).status, 200);
        threads[n] = await settledThreads(signer.child.pid!);
      } finally {
        signer.child.kill("SIGTERM");
        await signer.exited;
      }
    }
    // Run from source, each worker also has tsx's module-hooks thread; the cost per worker is the same for every worker.
    const perWorker = threads[2]! - threads[1]!;
    assert.ok(perWorker >= 1, `threads with 1, 2 and 4 BLS workers: ${JSON.stringify(threads)}`);
    assert.equal(threads[4]! - threads[1]!, 3 * perWorker, `threads with 1, 2 and 4 BLS workers: ${JSON.stringify(threads)}`);
  });
});
