/** What only the PostgreSQL backend promises: many processes on one database, fail fast, recover. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { DATABASE_ID_KEY } from "../../src/slashing/databaseId.js";
import { migrationScripts } from "../../src/slashing/migrations.js";
import { openSlashingProtection } from "../../src/slashing/open.js";
import { lockKey, openPostgresStore, PostgresSlashingStore } from "../../src/slashing/postgres.js";
import { SqliteSlashingStore } from "../../src/slashing/sqlite.js";
import type { Recorded, SlashingObserver, SlashingProtection } from "../../src/slashing/store.js";
import { Relay } from "../helpers/relay.js";
import { ADMIN_URL, createTestDatabase } from "../helpers/slashingPostgres.js";
import { GVR, OTHER_GVR, pubkey, root } from "../helpers/slashingBackends.js";

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
      await holder.query("SELECT * FROM slashing_watermarks WHERE validator_id = (SELECT id FROM slashing_validators WHERE pubkey = $1) FOR UPDATE", [k]);
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
      const id = (await c.query<{ id: number }>("SELECT id FROM slashing_validators WHERE pubkey = $1", [k])).rows[0]!.id;
      const block = "INSERT INTO signed_blocks (validator_id, slot, signing_root, imported) VALUES ($1, $2, decode(substr($3, 3), 'hex'), $4)";
      const vote =
        "INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root, imported) VALUES ($1, $2, $3, decode(substr($4, 3), 'hex'), $5)";
      await bad(block, [id, 10, root(2), true], /duplicate key/);
      await bad(block, [id, 9, root(2), false], /not above the slot watermark/);
      await bad(vote, [id, 4, 5, root(2), true], /duplicate key/);
      await bad(vote, [id, 2, 6, root(2), false], /not above the source\/target watermarks/);
      await bad(vote, [id, 4, 4, root(2), false], /not above the source\/target watermarks/);
      await bad(vote, [id, 7, 6, root(2), true], /check constraint/);
      await bad(block, [id, 12, "0x00", true], /check constraint/);
      await bad("UPDATE slashing_watermarks SET max_slot = 1", [], /never decrease/);
      await bad("DELETE FROM slashing_watermarks", [], /never deleted/);
      // Records are keyed by the id: giving a key's id to another key would hand it the first one's history.
      await bad("UPDATE slashing_validators SET pubkey = $1", [pubkey(2)], /never reassigned/);
      await bad("DELETE FROM slashing_validators", [], /never reassigned or deleted/);
      await c.query(block, [id, 11, root(2), false]);
      const w = await c.query("SELECT max_slot::int, max_source::int, max_target::int FROM slashing_watermarks");
      assert.deepEqual(w.rows, [{ max_slot: 11, max_source: 3, max_target: 5 }]);
    } finally {
      await c.end();
    }
  });

  it("fails a batch whose insert the database refuses as a whole, and signs on afterwards", async () => {
    const s = schema();
    const store = await openPostgresStore(db.url, { schema: s, genesisValidatorsRoot: GVR, poolSize: 1 });
    const c = new pg.Client({ connectionString: db.url, options: `-c search_path=${s}` });
    await c.connect();
    try {
      // Refuses one target after the batch has decided it: the insert, pipelined with the COMMIT, fails.
      await c.query(`CREATE FUNCTION refuse_13() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN IF NEW.target_epoch = 13 THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
      await c.query("CREATE TRIGGER refuse_13 BEFORE INSERT ON signed_attestations FOR EACH ROW EXECUTE FUNCTION refuse_13()");
      const vote = (k: number, target: number) =>
        store.checkAndRecordAttestation({ pubkey: pubkey(k), genesisValidatorsRoot: GVR, sourceEpoch: target - 1, targetEpoch: target, signingRoot: root(target) });
      assert.deepEqual(await Promise.all([outcome(vote(1, 12)), outcome(vote(2, 12))]), ["allowed", "allowed"]);
      // Key 3's batch is in the database while the next two arrive: they go together in the next one.
      const outcomes = await Promise.all([outcome(vote(3, 12)), outcome(vote(1, 13)), outcome(vote(2, 14))]);
      assert.deepEqual(outcomes, ["allowed", "COMMIT_FAILED", "COMMIT_FAILED"]);
      // The one connection was rolled back and is in step again: both keys sign, nothing of the failed batch was kept.
      assert.deepEqual(await Promise.all([outcome(vote(1, 15)), outcome(vote(2, 14))]), ["allowed", "allowed"]);
      const data = (await store.exportInterchange(GVR)).data;
      assert.deepEqual(
        data.map((d) => d.signed_attestations.map((a) => a.target_epoch)),
        [["12", "15"], ["12", "14"], ["12"]],
      );
    } finally {
      await c.end();
      await store.close();
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

  describe("a version 1 schema", () => {
    const V1_ID = "0123456789abcdef0123456789abcdef";
    const session = async (s: string): Promise<pg.Client> => {
      const c = new pg.Client({ connectionString: db.url, options: `-c search_path=${s}` });
      await c.connect();
      return c;
    };
    /**
     * A schema as version 1 left it (its script ships unchanged, as every released migration does),
     * written through its own tables and triggers: imported and
     * signed records of three keys, a watermark above a key's records, a key with a watermark only.
     */
    async function writeV1(s: string, extra?: (c: pg.Client) => Promise<unknown>): Promise<void> {
      const c = await session(s);
      try {
        await c.query(`CREATE SCHEMA ${s}`);
        await c.query(migrationScripts("postgres")[0]!);
        await c.query("INSERT INTO slashing_meta (key, value) VALUES ('schema_version', '1'), ($1, $2), ('genesis_validators_root', $3)", [
          DATABASE_ID_KEY,
          V1_ID,
          GVR,
        ]);
        const block = "INSERT INTO signed_blocks (pubkey, gvr, slot, signing_root, imported) VALUES ($1, $2, $3, $4, $5)";
        const vote = "INSERT INTO signed_attestations (pubkey, gvr, source_epoch, target_epoch, signing_root, imported) VALUES ($1, $2, $3, $4, $5, $6)";
        await c.query(block, [pubkey(1), GVR, 5, null, true]);
        await c.query(block, [pubkey(1), GVR, 8, root(8), false]);
        await c.query(vote, [pubkey(1), GVR, 2, 3, root(3), false]);
        await c.query(vote, [pubkey(1), GVR, 3, 4, root(4), false]);
        await c.query(vote, [pubkey(2), GVR, 0, 9, null, true]);
        await c.query("UPDATE slashing_watermarks SET max_slot = 20 WHERE pubkey = $1", [pubkey(2)]);
        await c.query("INSERT INTO slashing_watermarks (pubkey, gvr, max_slot, max_source, max_target) VALUES ($1, $2, 100, 30, 31)", [pubkey(3), GVR]);
        await extra?.(c);
      } finally {
        await c.end();
      }
    }
    const version = async (s: string): Promise<string> => {
      const c = await session(s);
      try {
        return (await c.query<{ value: string }>("SELECT value FROM slashing_meta WHERE key = 'schema_version'")).rows[0]!.value;
      } finally {
        await c.end();
      }
    };
    /** The interchange of writeV1's history, as version 1 exported it. */
    const V1_EXPORT = [
      {
        pubkey: pubkey(1),
        signed_blocks: [{ slot: "5" }, { slot: "8", signing_root: root(8) }],
        signed_attestations: [
          { source_epoch: "2", target_epoch: "3", signing_root: root(3) },
          { source_epoch: "3", target_epoch: "4", signing_root: root(4) },
        ],
      },
      // Watermarks above the records: the export carries them as records of their own.
      { pubkey: pubkey(2), signed_blocks: [{ slot: "20" }], signed_attestations: [{ source_epoch: "0", target_epoch: "9" }] },
      { pubkey: pubkey(3), signed_blocks: [{ slot: "100" }], signed_attestations: [{ source_epoch: "30", target_epoch: "31" }] },
    ];

    it("is migrated at open with every record, watermark and its id, and protects as before", async () => {
      const s = schema();
      await writeV1(s);
      const store = await openPostgresStore(db.url, { schema: s });
      try {
        assert.deepEqual(store.identity, { id: V1_ID, created: false });
        assert.deepEqual((await store.exportInterchange(GVR)).data, V1_EXPORT);
        const block = (p: number, slot: number, r: string) => store.checkAndRecordBlock({ pubkey: pubkey(p), genesisValidatorsRoot: GVR, slot, signingRoot: r });
        const vote = (p: number, src: number, t: number, r: string) =>
          store.checkAndRecordAttestation({ pubkey: pubkey(p), genesisValidatorsRoot: GVR, sourceEpoch: src, targetEpoch: t, signingRoot: r });
        assert.deepEqual(
          await Promise.all([
            outcome(block(1, 8, root(9))),
            outcome(block(2, 20, root(1))),
            outcome(block(3, 100, root(1))),
            outcome(vote(1, 1, 5, root(5))),
            outcome(vote(2, 0, 9, root(1))),
            outcome(vote(3, 29, 32, root(1))),
          ]),
          ["DOUBLE_BLOCK", "BLOCK_SLOT_NOT_ABOVE_WATERMARK", "BLOCK_SLOT_NOT_ABOVE_WATERMARK", "SURROUNDING_VOTE", "DOUBLE_VOTE", "SOURCE_BELOW_WATERMARK"],
        );
        assert.equal(await outcome(vote(1, 3, 4, root(5))), "DOUBLE_VOTE");
        // An exact repeat of a migrated record is still a repeat: its root came through as the same bytes.
        assert.equal(await outcome(vote(1, 3, 4, root(4))), "allowed");
        assert.equal(await outcome(block(1, 8, root(8))), "allowed");
        assert.deepEqual(await Promise.all([outcome(block(2, 21, root(21))), outcome(vote(1, 4, 5, root(5))), outcome(vote(3, 31, 32, root(32)))]), [
          "allowed",
          "allowed",
          "allowed",
        ]);
      } finally {
        await store.close();
      }
      assert.equal(await version(s), "2");
      const reopened = await openPostgresStore(db.url, { schema: s });
      try {
        assert.deepEqual(reopened.identity, { id: V1_ID, created: false });
        const data = (await reopened.exportInterchange(GVR)).data;
        assert.deepEqual(data.map((d) => [d.signed_blocks.at(-1)?.slot, d.signed_attestations.at(-1)?.target_epoch]), [["8", "5"], ["21", "9"], ["100", "32"]]);
      } finally {
        await reopened.close();
      }
    });

    it("is left as it was when its migration fails", async () => {
      const s = schema();
      // Version 1 kept the chain in every row; two rows of one key and target under two chains
      // cannot both become version 2 rows. The signer never wrote such a schema, but were one to
      // exist, opening it must fail whole.
      await writeV1(s, (c) =>
        c.query("INSERT INTO signed_attestations (pubkey, gvr, source_epoch, target_epoch, signing_root, imported) VALUES ($1, $2, 3, 4, NULL, true)", [
          pubkey(1),
          OTHER_GVR,
        ]),
      );
      await assert.rejects(openPostgresStore(db.url, { schema: s }), { message: /duplicate key/ });
      assert.equal(await version(s), "1");
      const c = await session(s);
      try {
        const count = async (table: string) => (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
        assert.deepEqual([await count("signed_blocks"), await count("signed_attestations"), await count("slashing_watermarks")], [2, 4, 4]);
        assert.equal((await c.query("SELECT to_regclass('slashing_validators') AS t")).rows[0].t, null);
      } finally {
        await c.end();
      }
    });
  });
});
