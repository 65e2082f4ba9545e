/** What only the PostgreSQL backend promises: many processes on one database, fail fast, recover. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openSlashingProtection } from "../../src/slashing/open.js";
import { lockKey, openPostgresStore, PostgresSlashingStore } from "../../src/slashing/postgres.js";
import { SqliteSlashingStore } from "../../src/slashing/sqlite.js";
import type { Recorded, SlashingObserver, SlashingProtection } from "../../src/slashing/store.js";
import { Relay } from "../helpers/relay.js";
import { ADMIN_URL, createTestDatabase } from "../helpers/slashingPostgres.js";
import { GVR, pubkey, root } from "../helpers/slashingBackends.js";

let db: Awaited<ReturnType<typeof createTestDatabase>>;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

let n = 0;
const schema = (): string => `p${n++}`;

async function outcome(p: Promise<Recorded>): Promise<string> {
  try {
    await (await p).durable();
    return "allowed";
  } catch (e) {
    return (e as { code: string }).code;
  }
}

describe("PostgreSQL slashing store", () => {
  it("serialises one key across stores that share the database, as separate processes would", async () => {
    const s = schema();
    const stores = await Promise.all([0, 1, 2].map(() => openPostgresStore(db.url, { schema: s, genesisValidatorsRoot: GVR, poolSize: 5 })));
    try {
      const k = pubkey(1);
      const blocks = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          outcome(stores[i % 3]!.checkAndRecordBlock({ pubkey: k, genesisValidatorsRoot: GVR, slot: 7, signingRoot: root(i + 1) })),
        ),
      );
      assert.equal(blocks.filter((o) => o === "allowed").length, 1, blocks.join());
      // Refused by the rules under the lock, not by a constraint after a race.
      assert.ok(blocks.every((o) => o === "allowed" || o === "DOUBLE_BLOCK"), blocks.join());
      const votes = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          outcome(
            stores[i % 3]!.checkAndRecordAttestation({
              pubkey: k,
              genesisValidatorsRoot: GVR,
              sourceEpoch: 20 - i,
              targetEpoch: 21 + i,
              signingRoot: root(1),
            }),
          ),
        ),
      );
      assert.equal(votes.filter((o) => o === "allowed").length, 1, votes.join());
      assert.ok(votes.every((o) => ["allowed", "SURROUNDING_VOTE", "SURROUNDED_VOTE"].includes(o)), votes.join());
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("lets keys held by another transaction delay only their own requests, however many they are", { timeout: 30_000 }, async () => {
    const s = schema();
    // Fewer connections than held keys: a request that waited on a connection for its lock would
    // starve the others.
    const store = await openPostgresStore(db.url, { schema: s, genesisValidatorsRoot: GVR, poolSize: 3, timeoutMs: 2000 });
    // Another process (an import, another instance) holds keys 1..12.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    const lockAll = async (keys: number[]) => {
      await holder.query("BEGIN");
      for (const k of keys) await lockKey(holder, pubkey(k));
    };
    const vote = (k: number, target: number) =>
      store.checkAndRecordAttestation({ pubkey: pubkey(k), genesisValidatorsRoot: GVR, sourceEpoch: target - 1, targetEpoch: target, signingRoot: root(k) });
    try {
      const held = Array.from({ length: 12 }, (_, i) => i + 1);
      await lockAll(held);
      let settled = 0;
      const first = held.map((k) => outcome(vote(k, 10)).finally(() => settled++));
      const behind = held.map((k) => outcome(vote(k, 11)).finally(() => settled++));
      const others = await Promise.all(Array.from({ length: 10 }, (_, i) => outcome(vote(100 + i, 10))));
      assert.deepEqual(others, Array(10).fill("allowed"));
      assert.equal(settled, 0, "a held key's request settled before the unrelated ones");
      // Released: each held key's requests go through, in order.
      await holder.query("COMMIT");
      assert.deepEqual(await Promise.all([...first, ...behind]), Array(24).fill("allowed"));

      // Held past the deadline: 503, nothing recorded, and the key signs once it is free.
      await lockAll([1]);
      assert.equal(await outcome(vote(1, 12)), "DATABASE_UNAVAILABLE");
      await holder.query("COMMIT");
      assert.equal(await outcome(vote(1, 12)), "allowed");
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it("tells its observer of every batch, and of each request that found its key locked or gave up on it", { timeout: 30_000 }, async () => {
    const seen = { batches: [] as number[], retries: 0, retryCalls: 0, timeouts: 0 };
    const observer: SlashingObserver = {
      batch: (n) => seen.batches.push(n),
      lockRetries: (n) => {
        seen.retries += n;
        seen.retryCalls++;
      },
      lockTimeouts: (n) => (seen.timeouts += n),
    };
    const s = schema();
    const store = await openPostgresStore(db.url, { schema: s, genesisValidatorsRoot: GVR, poolSize: 3, timeoutMs: 1500, observer });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    const hold = async (...keys: number[]) => {
      await holder.query("BEGIN");
      for (const k of keys) await lockKey(holder, pubkey(k));
    };
    const vote = (k: number, target: number) =>
      outcome(
        store.checkAndRecordAttestation({ pubkey: pubkey(k), genesisValidatorsRoot: GVR, sourceEpoch: target - 1, targetEpoch: target, signingRoot: root(k) }),
      );
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    try {
      // Requests arriving while a batch is in the database share the next one.
      assert.deepEqual(await Promise.all(Array.from({ length: 10 }, (_, i) => vote(100 + i, 10))), Array(10).fill("allowed"));
      assert.equal(sum(seen.batches), 10);
      assert.ok(seen.batches.length < 10, `batches ${seen.batches.join()}`);
      assert.deepEqual([seen.retries, seen.timeouts], [0, 0]);

      // Keys held by another session: their requests are tried again, batch after batch, until released.
      await hold(1, 2, 3);
      const batchesBefore = seen.batches.length;
      const waiting = [1, 2, 3].map((k) => vote(k, 10));
      await new Promise((r) => setTimeout(r, 300));
      const batchesWhileHeld = seen.batches.length - batchesBefore;
      const retriesWhileHeld = seen.retries;
      await holder.query("COMMIT");
      assert.deepEqual(await Promise.all(waiting), Array(3).fill("allowed"));
      assert.ok(retriesWhileHeld >= 3 * 5, `retries while 3 keys were held for 300 ms: ${retriesWhileHeld}`);
      // Every retry is a new attempt in a later batch (and one attempt may be in the database now).
      assert.ok(batchesWhileHeld >= 5 && batchesWhileHeld <= retriesWhileHeld + 1, `${batchesWhileHeld} batches, ${retriesWhileHeld} retries`);
      // Reported once per batch with a count, not once per request: keys 2 and 3 arrived together.
      assert.ok(seen.retryCalls < seen.retries, `${seen.retryCalls} calls for ${seen.retries} retries`);
      assert.equal(seen.timeouts, 0);

      // Held past the deadline: one timeout, and the retries until then.
      const retriesBefore = seen.retries;
      await hold(4);
      assert.equal(await vote(4, 10), "DATABASE_UNAVAILABLE");
      await holder.query("COMMIT");
      assert.equal(seen.timeouts, 1);
      assert.ok(seen.retries - retriesBefore >= 10, `retries over 1.5 s: ${seen.retries - retriesBefore}`);
      // Every attempt is in exactly one batch: decided (13), tried again, or given up; the one given
      // up at its deadline was either in a batch then or waiting for its next one.
      const attempts = sum(seen.batches);
      assert.ok(attempts === 13 + seen.retries + seen.timeouts || attempts === 13 + seen.retries, `${attempts} attempts, ${seen.retries} retries`);
      assert.ok(seen.batches.every((n) => Number.isInteger(n) && n >= 1 && n <= 256), seen.batches.join());
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it("keeps signing when its observer throws", async () => {
    const boom = () => {
      throw new Error("observer failed");
    };
    const store = await openPostgresStore(db.url, {
      schema: schema(),
      genesisValidatorsRoot: GVR,
      observer: { batch: boom, lockRetries: boom, lockTimeouts: boom },
    });
    try {
      const votes = Array.from({ length: 5 }, (_, i) =>
        outcome(store.checkAndRecordAttestation({ pubkey: pubkey(i), genesisValidatorsRoot: GVR, sourceEpoch: 1, targetEpoch: 2, signingRoot: root(i) })),
      );
      assert.deepEqual(await Promise.all(votes), Array(5).fill("allowed"));
    } finally {
      await store.close();
    }
  });

  it("exports a decided record whose batch is still committing", { timeout: 30_000 }, async () => {
    const s = schema();
    const store = await openPostgresStore(db.url, { schema: s, genesisValidatorsRoot: GVR });
    const holder = new pg.Client({ connectionString: db.url, options: `-c search_path=${s}` });
    await holder.connect();
    try {
      const k = pubkey(1);
      const vote = (target: number) =>
        store.checkAndRecordAttestation({ pubkey: k, genesisValidatorsRoot: GVR, sourceEpoch: target - 1, targetEpoch: target, signingRoot: root(target) });
      await (await vote(4)).durable();
      // Holding the key's watermark row keeps the next batch's INSERT (its trigger raises the
      // watermark) from committing, while its decision, which only reads, goes through.
      await holder.query("BEGIN");
      await holder.query("SELECT * FROM slashing_watermarks WHERE pubkey = $1 FOR UPDATE", [k]);
      const recorded = await vote(5);
      const exporting = store.exportInterchange(GVR, [k]);
      // Released once the export has answered, or after a moment if it waits for the commit.
      await Promise.race([exporting, new Promise((r) => setTimeout(r, 500))]);
      await holder.query("COMMIT");
      const targets = (await exporting).data[0]!.signed_attestations.map((a) => a.target_epoch);
      assert.deepEqual(targets, ["4", "5"]);
      await recorded.durable();
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it("has constraints that refuse slashable rows written around the store", async () => {
    const s = schema();
    const store = await openPostgresStore(db.url, { schema: s, genesisValidatorsRoot: GVR });
    const k = pubkey(1);
    await outcome(store.checkAndRecordBlock({ pubkey: k, genesisValidatorsRoot: GVR, slot: 10, signingRoot: root(1) }));
    await outcome(store.checkAndRecordAttestation({ pubkey: k, genesisValidatorsRoot: GVR, sourceEpoch: 3, targetEpoch: 5, signingRoot: root(1) }));
    await store.close();
    const c = new pg.Client({ connectionString: db.url, options: `-c search_path=${s}` });
    await c.connect();
    const bad = async (sql: string, params: unknown[], pattern: RegExp): Promise<void> => {
      await assert.rejects(c.query(sql, params), pattern, sql);
    };
    try {
      const block = "INSERT INTO signed_blocks (pubkey, gvr, slot, signing_root, imported) VALUES ($1, $2, $3, $4, $5)";
      const vote = "INSERT INTO signed_attestations (pubkey, gvr, source_epoch, target_epoch, signing_root, imported) VALUES ($1, $2, $3, $4, $5, $6)";
      await bad(block, [k, GVR, 10, root(2), true], /unique/);
      await bad(block, [k, GVR, 9, root(2), false], /not above the slot watermark/);
      await bad(vote, [k, GVR, 4, 5, root(2), true], /unique/);
      await bad(vote, [k, GVR, 2, 6, root(2), false], /not above the source\/target watermarks/);
      await bad(vote, [k, GVR, 4, 4, root(2), false], /not above the source\/target watermarks/);
      await bad(vote, [k, GVR, 7, 6, root(2), true], /check constraint/);
      await bad("UPDATE slashing_watermarks SET max_slot = 1", [], /never decrease/);
      await bad("DELETE FROM slashing_watermarks", [], /never deleted/);
      await c.query(block, [k, GVR, 11, root(2), false]);
      const w = await c.query("SELECT max_slot::int, max_source::int, max_target::int FROM slashing_watermarks");
      assert.deepEqual(w.rows, [{ max_slot: 11, max_source: 3, max_target: 5 }]);
    } finally {
      await c.end();
    }
  });

  it("fails fast with DATABASE_UNAVAILABLE while the server is unreachable and recovers by itself", { timeout: 30_000 }, async () => {
    const relay = new Relay(new URL(ADMIN_URL));
    await relay.start();
    const database = new URL(db.url).pathname.slice(1);
    const store: SlashingProtection = await openPostgresStore(relay.url(database), { schema: schema(), genesisValidatorsRoot: GVR, timeoutMs: 2000 });
    try {
      const k = pubkey(1);
      const sign = (slot: number): Promise<string> =>
        outcome(store.checkAndRecordBlock({ pubkey: k, genesisValidatorsRoot: GVR, slot, signingRoot: root(slot) }));
      assert.equal(await sign(1), "allowed");

      await relay.stop();
      assert.equal(await sign(2), "DATABASE_UNAVAILABLE");
      assert.equal(await sign(3), "DATABASE_UNAVAILABLE");
      assert.equal((await store.health()).status, "DOWN");

      await relay.start();
      assert.equal((await store.health()).status, "UP");
      assert.equal(await sign(2), "allowed");
      assert.equal(await sign(1), "allowed", "the record from before the outage is still a repeat");
      assert.equal(await sign(0), "BLOCK_SLOT_NOT_ABOVE_WATERMARK");
    } finally {
      await store.close();
      await relay.stop().catch(() => undefined);
    }
  });

  it("refuses to open an unreachable server with DATABASE_UNAVAILABLE", { timeout: 30_000 }, async () => {
    const relay = new Relay(new URL(ADMIN_URL));
    await relay.start();
    await relay.stop();
    await assert.rejects(openPostgresStore(relay.url("postgres"), { timeoutMs: 1000 }), { code: "DATABASE_UNAVAILABLE" });
  });

  it("is what openSlashingProtection opens for a postgres:// location, SQLite for a path", async () => {
    const p = await openSlashingProtection(db.url.replace(/^postgres:/, "postgresql:"));
    assert.ok(p instanceof PostgresSlashingStore);
    assert.equal((await p.health()).data.backend, "postgres");
    await p.close();
    const dir = mkdtempSync(join(tmpdir(), "slashing-open-"));
    try {
      const s = await openSlashingProtection(join(dir, "x.sqlite"));
      assert.ok(s instanceof SqliteSlashingStore);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("migrates once when several processes start together, and again is a no-op", async () => {
    const s = schema();
    const stores = await Promise.all([0, 1, 2, 3].map(() => openPostgresStore(db.url, { schema: s })));
    await Promise.all(stores.map((x) => x.close()));
    const again = await openPostgresStore(db.url, { schema: s });
    assert.deepEqual(await again.health(), { status: "UP", data: { backend: "postgres" } });
    await again.close();
  });

  it("refuses a schema written by a newer signer, or with an unreadable version, and leaves it alone", async () => {
    const s = schema();
    await (await openPostgresStore(db.url, { schema: s, genesisValidatorsRoot: GVR })).close();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const setVersion = (value: string) => admin.query(`UPDATE ${s}.slashing_meta SET value = $1 WHERE key = 'schema_version'`, [value]);
      const { rows } = await admin.query<{ value: string }>(`SELECT value FROM ${s}.slashing_meta WHERE key = 'schema_version'`);
      const newer = String(Number(rows[0]!.value) + 1);
      await setVersion(newer);
      await assert.rejects(openPostgresStore(db.url, { schema: s }), {
        code: "DATABASE_UNAVAILABLE",
        message: new RegExp(`schema ${s} has schema version ${newer}, newer than this signer's ${rows[0]!.value}`),
      });
      for (const unreadable of ["", "-1", "two"]) {
        await setVersion(unreadable);
        await assert.rejects(openPostgresStore(db.url, { schema: s }), {
          code: "DATABASE_UNAVAILABLE",
          message: new RegExp(`unreadable schema version \\(${unreadable}\\)`),
        });
      }
      const after = await admin.query<{ value: string }>(`SELECT value FROM ${s}.slashing_meta WHERE key = 'schema_version'`);
      assert.equal(after.rows[0]!.value, "two");
    } finally {
      await admin.end();
    }
  });
});
