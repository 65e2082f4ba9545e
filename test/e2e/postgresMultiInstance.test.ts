import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { DEFAULT_DB_TIMEOUT_MS } from "../../src/slashing/store.js";
import { cli } from "../helpers/cli.js";
import { randomKey, tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, MAINNET_GVR, sign } from "../helpers/messages.js";
import { parseExposition, sample, type Exposition } from "../helpers/prometheus.js";
import { createTestDatabase, keyLockHolder } from "../helpers/slashingPostgres.js";
import { serveArgs, spawnSigner, startTestSigner, writeKeystores, type SignerProcess, type TestSigner } from "../helpers/signer.js";

/**
 * A signer on a fresh PostgreSQL database with `flags`, and another session that can hold its first
 * key's lock: another instance signing the key, or an import, as far as the signer can tell.
 */
async function signerBesideKeyHolder(t: TestContext, flags: Record<string, string>) {
  const db = await createTestDatabase();
  let holder: Awaited<ReturnType<typeof keyLockHolder>> | undefined;
  let signer: TestSigner | undefined;
  // One hook, since the database is dropped last (after hooks run in the order they were added).
  t.after(async () => {
    await holder?.end().catch(() => undefined);
    await signer?.close();
    await db.drop();
  });
  const lockHolder = (holder = await keyLockHolder(db.url));
  signer = await startTestSigner(t, { flags: { "slashing-db": db.url, ...flags } });
  const key = signer.keys[0]!.pubkey;
  return { url: signer.url, key, hold: () => lockHolder.hold(key), release: lockHolder.release };
}

describe("several signer processes on one PostgreSQL database", () => {
  it("sign at most one message of each conflicting set sent to all of them at once", async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const dir = await tempDir(t, "multi");
    const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 2);
    const signers: SignerProcess[] = [];
    t.after(async () => {
      for (const s of signers) s.child.kill("SIGTERM");
      await Promise.all(signers.map((s) => s.exited));
    });
    for (let i = 0; i < 3; i++) {
      signers.push(
        await spawnSigner(serveArgs(join(dir, `data-${i}`), { keystoresDir, passwordsDir }, "--slashing-db", db.url)),
      );
    }
    const [a, b] = keys.map((k) => k.pubkey) as [string, string];

    /** Sends the i-th body to signer i mod 3, all at once; returns how many were signed. */
    const race = async (pubkey: string, bodies: unknown[]) => {
      const results = await Promise.all(bodies.map((body, i) => sign(signers[i % 3]!.url, pubkey, body)));
      for (const r of results) assert.ok(r.status === 200 || r.status === 412, `status ${r.status}: ${r.message}`);
      return results.filter((r) => r.status === 200).length;
    };

    let sets = 0;
    for (let round = 0; round < 5; round++) {
      const slot = 1000 + round;
      assert.equal(await race(a, Array.from({ length: 30 }, (_, i) => blockBody(slot, i))), 1, `one block at slot ${slot}`);
      const target = 100 + round * 2;
      assert.equal(await race(a, Array.from({ length: 30 }, (_, i) => attestationBody(target - 1, target, i))), 1, `one vote for ${target}`);
      const base = 1000 + round * 100;
      const nested = Array.from({ length: 12 }, (_, i) => attestationBody(base + i, base + 50 - i));
      assert.equal(await race(b, nested), 1, "one of mutually surrounding votes");
      sets += 3;
    }
    console.log(`3 signer processes, ${sets} conflicting sets raced across them: one signature each`);
  });

  it("shows in /metrics when another session holds a key: lock retries while it does, a lock timeout (503) past the deadline", { timeout: 60_000 }, async (t) => {
    const { url, key, hold, release } = await signerBesideKeyHolder(t, {});
    const scrape = async (): Promise<Exposition> => {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      return parseExposition(await res.text());
    };
    const retries = (m: Exposition) => sample(m, "secure_signer_slashing_lock_retries_total")!;

    const before = await scrape();
    assert.equal(before.types.get("secure_signer_slashing_batch_requests"), "histogram");
    assert.equal(before.types.get("secure_signer_slashing_lock_retries_total"), "counter");
    assert.equal(before.types.get("secure_signer_slashing_lock_timeouts_total"), "counter");
    assert.equal(sample(before, "secure_signer_slashing_batch_requests_count"), 0);
    assert.equal(retries(before), 0);
    assert.equal(sample(before, "secure_signer_slashing_lock_timeouts_total"), 0);

    assert.equal((await sign(url, key, attestationBody(1, 2))).status, 200);
    const free = await scrape();
    assert.equal(sample(free, "secure_signer_slashing_batch_requests_count"), 1);
    assert.equal(retries(free), 0);

    // Held for a moment: the request waits, retried batch after batch, then signs.
    await hold();
    const waiting = sign(url, key, attestationBody(2, 3));
    await new Promise((r) => setTimeout(r, 300));
    const held = await scrape();
    await release();
    assert.equal((await waiting).status, 200);
    assert.ok(retries(held) >= 5, `retries while held for 300 ms: ${retries(held)}`);
    assert.ok(sample(held, "secure_signer_slashing_batch_requests_count")! >= 1 + retries(held), "each retry is a batch");
    assert.equal(sample(held, "secure_signer_slashing_lock_timeouts_total"), 0);

    // Held past the 3 s deadline: 503, counted as a lock timeout, not only as a sign error.
    await hold();
    const refused = await sign(url, key, attestationBody(3, 4));
    await release();
    assert.equal(refused.status, 503, refused.message);
    assert.match(refused.message ?? "", /locked by another transaction/);
    const after = await scrape();
    assert.equal(sample(after, "secure_signer_slashing_lock_timeouts_total"), 1);
    assert.ok(retries(after) - retries(held) >= 50, `retries over 3 s: ${retries(after) - retries(held)}`);
    assert.equal(sample(after, "secure_signer_signatures_total", { type: "ATTESTATION", outcome: "unavailable" }), 1);
    // Every attempt is in one batch: two decided, the rest tried again, and the one given up is in
    // a batch too unless its deadline passed while it waited in the queue for the next one.
    const inBatches = sample(after, "secure_signer_slashing_batch_requests_sum")!;
    const attempts = 2 + retries(after);
    assert.ok(
      inBatches >= attempts && inBatches <= attempts + sample(after, "secure_signer_slashing_lock_timeouts_total")!,
      `requests in batches ${inBatches}, decided and retried ${attempts}`,
    );
  });

  it("waits for a held key as long as --slashing-db-timeout-ms says", { timeout: 60_000 }, async (t) => {
    const { url, key, hold, release } = await signerBesideKeyHolder(t, { "slashing-db-timeout-ms": "700" });
    await hold();
    const refused = await sign(url, key, attestationBody(1, 2));
    await release();
    assert.equal(refused.status, 503, refused.message);
    assert.match(refused.message ?? "", /stayed locked by another transaction .* for 700 ms/);
    assert.equal((await sign(url, key, attestationBody(1, 2))).status, 200, "signs once the key is free");
  });

  it("slashing-protection import waits for a key another session holds as long as --slashing-db-timeout-ms says", { timeout: 60_000 }, async (t) => {
    const db = await createTestDatabase();
    const holder = await keyLockHolder(db.url);
    t.after(async () => {
      await holder.end().catch(() => undefined);
      await db.drop();
    });
    const dir = await tempDir(t, "import-wait");
    const key = randomKey().pubkey;
    const file = join(dir, "interchange.json");
    await writeFile(
      file,
      JSON.stringify({ metadata: { interchange_format_version: "5", genesis_validators_root: MAINNET_GVR }, data: [{ pubkey: key, signed_blocks: [{ slot: "10" }], signed_attestations: [] }] }),
    );
    const importWaiting = (ms: string) => cli("slashing-protection", "import", file, "--slashing-db", db.url, "--slashing-db-timeout-ms", ms);

    const outOfRange = await importWaiting("60001");
    assert.equal(outOfRange.code, 1);
    assert.match(outOfRange.stderr, /--slashing-db-timeout-ms: Expected integer to be less or equal to 60000 \(got 60001\)/);

    await holder.hold(key);
    const refused = await importWaiting("200");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /slashing database \(PostgreSQL\) unavailable: .*gave up after 200 ms, --slashing-db-timeout-ms/);

    // Held for longer than the default wait after the import starts waiting: it still goes through.
    const waiting = importWaiting("20000");
    await holder.waitedFor();
    await new Promise((r) => setTimeout(r, DEFAULT_DB_TIMEOUT_MS + 500));
    await holder.release();
    const imported = await waiting;
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /1 keys, 1 blocks and 0 attestations added/, "the refused import left nothing behind");
  });
});
