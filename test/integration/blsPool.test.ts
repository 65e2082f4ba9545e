import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { MessagePort } from "node:worker_threads";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { PublicKey, SecretKey, Signature, verify } from "@chainsafe/blst";
import { deriveKeyPair } from "../../src/bls/keyPair.js";
import { WorkerPoolSigningKeys } from "../../src/bls/pool.js";
import { SLOTS } from "../../src/bls/ring.js";
import { fromHex } from "../../src/util/hex.js";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

describe("bls worker pool", () => {
  const pool = new WorkerPoolSigningKeys(2);
  after(() => pool.close());

  it("signs with every loaded key on every worker, verifiable by blst", async () => {
    const secrets = Array.from({ length: 3 }, () => SecretKey.fromKeygen(randomBytes(32)));
    const pubkeys = await Promise.all(secrets.map((sk) => pool.add(deriveKeyPair(sk.toBytes()))));
    assert.deepEqual(pool.pubkeys(), pubkeys);
    // More requests than workers, so both workers sign for every key.
    const jobs = pubkeys.flatMap((pk) => Array.from({ length: 8 }, () => ({ pk, msg: randomBytes(32) })));
    const sigs = await Promise.all(jobs.map((j) => pool.sign(j.pk, j.msg)));
    assert.equal(sigs.length, 24);
    jobs.forEach((j, i) => {
      const ok = verify(j.msg, PublicKey.fromBytes(fromHex(j.pk, "pk", 48)), Signature.fromBytes(sigs[i]!));
      assert.ok(ok, `signature ${i} verifies`);
      const wrong = verify(randomBytes(32), PublicKey.fromBytes(fromHex(j.pk, "pk", 48)), Signature.fromBytes(sigs[i]!));
      assert.ok(!wrong, "signature does not verify another message");
    });
  });

  it("refuses unknown and removed keys", async () => {
    const pk = await pool.add(deriveKeyPair(SecretKey.fromKeygen(randomBytes(32)).toBytes()));
    assert.equal(await pool.remove(pk), true);
    assert.equal(await pool.remove(pk), false);
    await assert.rejects(pool.sign(pk, randomBytes(32)), /no key loaded/);
  });

  it("adds keys given all at once in the order given, and one key given twice at once only once", async () => {
    const secrets = Array.from({ length: 100 }, () => SecretKey.fromKeygen(randomBytes(32)).toBytes());
    const before = pool.pubkeys().length;
    const bytes = secrets[0]!.slice();
    // Each secret the pool sends to a worker; a key sent twice would sit in the workers under a
    // second index that nothing refers to, out of reach of remove().
    let sentSecrets = 0;
    const postMessage = MessagePort.prototype.postMessage;
    MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, ...rest: unknown[]) {
      if ((message as { op?: unknown } | null)?.op === "add") sentSecrets++;
      return (postMessage as (...args: unknown[]) => void).call(this, message, ...rest);
    };
    let added: string[];
    try {
      added = await Promise.all([...secrets, bytes].map((secret) => pool.add(deriveKeyPair(secret))));
    } finally {
      MessagePort.prototype.postMessage = postMessage;
    }
    assert.equal(sentSecrets, 100 * pool.size);
    assert.equal(added[100], added[0]);
    assert.deepEqual(pool.pubkeys().slice(before), added.slice(0, 100));
    assert.equal(await pool.remove(added[0]!), true);
    assert.equal(pool.has(added[0]!), false);
    await assert.rejects(pool.sign(added[0]!, randomBytes(32)), /no key loaded/);
    const signature = await pool.sign(added[99]!, randomBytes(32));
    assert.equal(signature.length, 96);
  });

  it("takes only a key pair whose pubkey was derived from its secret, which refuses a secret that is no scalar", () => {
    assert.throws(() => deriveKeyPair(new Uint8Array(32)), /not a valid BLS12-381 secret key/);
    assert.throws(() => deriveKeyPair(new Uint8Array(32).fill(0xff)), /not a valid BLS12-381 secret key/);
  });

  it("signs more requests at once than a worker's ring holds, each with its own message", async () => {
    const single = new WorkerPoolSigningKeys(1);
    try {
      const sk = SecretKey.fromKeygen(randomBytes(32));
      const pk = await single.add(deriveKeyPair(sk.toBytes()));
      const msgs = Array.from({ length: SLOTS * 2 + 17 }, () => randomBytes(32));
      const sigs = await Promise.all(msgs.map((m) => single.sign(pk, m)));
      const publicKey = PublicKey.fromBytes(fromHex(pk, "pk", 48));
      sigs.forEach((sig, i) => assert.ok(verify(msgs[i]!, publicKey, Signature.fromBytes(sig)), `signature ${i} verifies its own message`));
    } finally {
      await single.close();
    }
  });

  it("gives back the memory of the signatures it made, under sustained load and between bursts", { timeout: 180_000 }, async () => {
    // blst frees a signature's native memory from the event loop of the thread that made it; a
    // worker that never let its loop turn kept ~0.6 KB per signature for good: the process grew by
    // ~36 MiB over these 64,000 (5 MB/s in a loaded signer). Now it grows until the worker's first
    // full garbage collection (at most ~15 MiB here) and then stays flat.
    const single = new WorkerPoolSigningKeys(1);
    try {
      const pk = await single.add(deriveKeyPair(SecretKey.fromKeygen(randomBytes(32)).toBytes()));
      const message = randomBytes(32);
      // What this thread allocates meanwhile is collected first, so that the worker's part shows.
      const rssAfterGc = () => {
        collectGarbage();
        return process.memoryUsage().rss;
      };
      const before = rssAfterGc();
      // Bursts of a few signatures let the worker fall asleep between them as well.
      for (let done = 0; done < 64_000; done += 500) {
        await Promise.all(Array.from({ length: done % 2000 === 0 ? 3 : 500 }, () => single.sign(pk, message)));
      }
      const grownMiB = (rssAfterGc() - before) / 2 ** 20;
      assert.ok(grownMiB < 24, `the process grew by ${grownMiB.toFixed(1)} MiB over 64,000 signatures`);
    } finally {
      await single.close();
    }
  });

  it("wakes an idle worker for every request, however the request and the worker's falling asleep interleave", async () => {
    // The pool rings only a worker that has said it is asleep (worker.ts): a request that arrives
    // while the worker is between its last signature and its wait must not be left in the ring.
    const single = new WorkerPoolSigningKeys(1);
    try {
      const pk = await single.add(deriveKeyPair(SecretKey.fromKeygen(randomBytes(32)).toBytes()));
      const signed = (msg: Uint8Array) =>
        Promise.race([
          single.sign(pk, msg),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error("a request was never signed: lost wake-up")), 10_000).unref()),
        ]);
      // Four clients, each signing in turn with pauses of varying kinds, so that requests land
      // just before, during and after the worker's going to sleep.
      const client = async (c: number) => {
        for (let i = 0; i < 150; i++) {
          await signed(randomBytes(32));
          const pause = (i * 7 + c) % 4;
          if (pause === 1) await new Promise((r) => setImmediate(r));
          else if (pause === 2) await new Promise((r) => setTimeout(r, 0));
          else if (pause === 3) await new Promise((r) => setTimeout(r, 1));
        }
      };
      await Promise.all([0, 1, 2, 3].map(client));
    } finally {
      await single.close();
    }
  });

  it("settles every request still in flight when closed, and refuses new ones", async () => {
    const closing = new WorkerPoolSigningKeys(1);
    const sk = SecretKey.fromKeygen(randomBytes(32));
    const pk = await closing.add(deriveKeyPair(sk.toBytes()));
    const publicKey = PublicKey.fromBytes(fromHex(pk, "pk", 48));
    const msgs = Array.from({ length: SLOTS + 50 }, () => randomBytes(32));
    const inflight = msgs.map((m) => closing.sign(pk, m));
    await closing.close();
    const settled = await Promise.allSettled(inflight);
    let rejected = 0;
    settled.forEach((r, i) => {
      if (r.status === "fulfilled") assert.ok(verify(msgs[i]!, publicKey, Signature.fromBytes(r.value)), `signature ${i} verifies`);
      else {
        rejected++;
        assert.match((r.reason as Error).message, /BLS worker exited|stopped/);
      }
    });
    assert.ok(rejected > 0, "close() did not wait for the whole backlog to be signed");
    await assert.rejects(closing.sign(pk, randomBytes(32)), /BLS worker exited|stopped/);
  });
});
