/** What only the SQLite backend promises: one process per file, constraints in the file, fsync before release. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { openSqliteStore } from "../../src/slashing/sqlite.js";
import { SqliteEngine } from "../../src/slashing/sqliteEngine.js";
import { GVR, OTHER_GVR, pubkey, root } from "../helpers/slashingBackends.js";

const dir = mkdtempSync(join(tmpdir(), "slashing-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `db${n++}.sqlite`);

function schemaVersion(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value;
  } finally {
    db.close();
  }
}

function setSchemaVersion(path: string, value: string): void {
  const db = new Database(path);
  try {
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(value);
  } finally {
    db.close();
  }
}

describe("SQLite slashing store", () => {
  it("refuses a second store on a file that is in use, and opens it once released", async () => {
    const path = freshPath();
    const first = await openSqliteStore(path, { genesisValidatorsRoot: GVR });
    await assert.rejects(openSqliteStore(path), { code: "DATABASE_LOCKED", message: /in use by another signer process/ });
    await first.close();
    const second = await openSqliteStore(path);
    await second.close();
  });

  it("refuses to open a database bound to another chain", async () => {
    const path = freshPath();
    await (await openSqliteStore(path, { genesisValidatorsRoot: GVR })).close();
    await assert.rejects(openSqliteStore(path, { genesisValidatorsRoot: OTHER_GVR }), { code: "GENESIS_VALIDATORS_ROOT_MISMATCH" });
  });

  it("has constraints that refuse slashable rows written around the store", async () => {
    const path = freshPath();
    const store = await openSqliteStore(path, { genesisValidatorsRoot: GVR });
    const k = pubkey(1);
    await (await store.checkAndRecordBlock({ pubkey: k, genesisValidatorsRoot: GVR, slot: 10, signingRoot: root(1) })).durable();
    await (await store.checkAndRecordAttestation({ pubkey: k, genesisValidatorsRoot: GVR, sourceEpoch: 3, targetEpoch: 5, signingRoot: root(1) })).durable();
    await store.close();

    const db = new Database(path);
    const { id } = db.prepare("SELECT id FROM validators WHERE pubkey = ?").get(k) as { id: number };
    const insertBlock = db.prepare("INSERT INTO signed_blocks (validator_id, slot, signing_root, imported) VALUES (?, ?, ?, ?)");
    const insertVote = db.prepare(
      "INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root, imported) VALUES (?, ?, ?, ?, ?)",
    );
    try {
      assert.throws(() => insertBlock.run(id, 10, root(2), 1), /UNIQUE/, "double block");
      assert.throws(() => insertBlock.run(id, 9, root(2), 0), /not above the slot watermark/);
      assert.throws(() => insertVote.run(id, 4, 5, root(2), 1), /UNIQUE/, "double vote");
      assert.throws(() => insertVote.run(id, 2, 6, root(2), 0), /not above the source\/target watermarks/, "surrounding");
      assert.throws(() => insertVote.run(id, 4, 4, root(2), 0), /not above the source\/target watermarks/, "surrounded");
      assert.throws(() => insertVote.run(id, 7, 6, root(2), 1), /CHECK/, "source after target");
      assert.throws(() => db.prepare("UPDATE watermarks SET max_slot = 1").run(), /never decrease/);
      assert.throws(() => db.prepare("DELETE FROM watermarks").run(), /never deleted/);
      // Records are keyed by the id: giving a key's id to another key would hand it the first one's history.
      assert.throws(() => db.prepare("UPDATE validators SET pubkey = ?").run(pubkey(2)), /never reassigned/);
      assert.throws(() => db.prepare("DELETE FROM validators").run(), /never deleted/);
      insertBlock.run(id, 11, root(2), 0);
      const w = db.prepare("SELECT max_slot, max_source, max_target FROM watermarks").get();
      assert.deepEqual(w, { max_slot: 11, max_source: 3, max_target: 5 }, "an insert raises the watermark");
    } finally {
      db.close();
    }
  });

  describe("a version 1 database", () => {
    const V1_SCHEMA = readFileSync(fileURLToPath(new URL("../fixtures/slashing-sqlite-v1.sql", import.meta.url)), "utf8");
    /** A file as the previous schema left it: two keys, imported and signed records, a watermark above its records. */
    function writeV1(path: string, extra?: (db: Database.Database) => void): void {
      const db = new Database(path);
      db.exec(V1_SCHEMA);
      db.prepare("INSERT INTO meta (key, value) VALUES ('genesis_validators_root', ?)").run(GVR);
      const block = db.prepare("INSERT INTO signed_blocks (pubkey, gvr, slot, signing_root, imported) VALUES (?, ?, ?, ?, ?)");
      const vote = db.prepare("INSERT INTO signed_attestations (pubkey, gvr, source_epoch, target_epoch, signing_root, imported) VALUES (?, ?, ?, ?, ?, ?)");
      block.run(pubkey(1), GVR, 5, null, 1);
      block.run(pubkey(1), GVR, 8, root(8), 0);
      vote.run(pubkey(1), GVR, 2, 3, root(3), 0);
      vote.run(pubkey(1), GVR, 3, 4, root(4), 0);
      vote.run(pubkey(2), GVR, 0, 9, null, 1);
      db.prepare("UPDATE watermarks SET max_slot = 20 WHERE pubkey = ?").run(pubkey(2));
      extra?.(db);
      db.close();
    }
    it("is migrated at open with every record and watermark, and protects as before", async () => {
      const path = freshPath();
      writeV1(path);
      const store = await openSqliteStore(path);
      try {
        assert.deepEqual((await store.exportInterchange(GVR)).data, [
          {
            pubkey: pubkey(1),
            signed_blocks: [{ slot: "5" }, { slot: "8", signing_root: root(8) }],
            signed_attestations: [
              { source_epoch: "2", target_epoch: "3", signing_root: root(3) },
              { source_epoch: "3", target_epoch: "4", signing_root: root(4) },
            ],
          },
          // The watermark row stood above the records: the export carries it as a record of its own.
          { pubkey: pubkey(2), signed_blocks: [{ slot: "20" }], signed_attestations: [{ source_epoch: "0", target_epoch: "9" }] },
        ]);
        const block = (p: number, slot: number, r: string) => store.checkAndRecordBlock({ pubkey: pubkey(p), genesisValidatorsRoot: GVR, slot, signingRoot: r });
        const vote = (p: number, s: number, t: number, r: string) =>
          store.checkAndRecordAttestation({ pubkey: pubkey(p), genesisValidatorsRoot: GVR, sourceEpoch: s, targetEpoch: t, signingRoot: r });
        await assert.rejects(block(1, 8, root(9)), { code: "DOUBLE_BLOCK" });
        await assert.rejects(block(2, 20, root(1)), { code: "BLOCK_SLOT_NOT_ABOVE_WATERMARK" });
        await assert.rejects(vote(1, 1, 5, root(5)), { code: "SURROUNDING_VOTE" });
        await assert.rejects(vote(2, 0, 9, root(1)), { code: "DOUBLE_VOTE" });
        await assert.rejects(vote(1, 3, 4, root(5)), { code: "DOUBLE_VOTE" });
        await (await vote(1, 3, 4, root(4))).durable(); // an exact repeat of a migrated vote
        await (await block(2, 21, root(21))).durable();
        await (await vote(1, 4, 5, root(5))).durable();
      } finally {
        await store.close();
      }
      assert.equal(schemaVersion(path), "2");
      const reopened = await openSqliteStore(path);
      try {
        const data = (await reopened.exportInterchange(GVR)).data;
        assert.deepEqual(data.map((d) => [d.signed_blocks.at(-1)?.slot, d.signed_attestations.at(-1)?.target_epoch]), [["8", "5"], ["21", "9"]]);
      } finally {
        await reopened.close();
      }
    });

    it("is left as it was when its migration fails", async () => {
      const path = freshPath();
      // Version 1 kept the chain in every row; two rows of one key and target under two chains
      // cannot both become version 2 rows. The signer never wrote such a file, but were one to
      // exist, opening it must fail whole.
      writeV1(path, (db) =>
        db.prepare("INSERT INTO signed_attestations (pubkey, gvr, source_epoch, target_epoch, signing_root, imported) VALUES (?, ?, 3, 4, NULL, 1)").run(pubkey(1), OTHER_GVR),
      );
      await assert.rejects(openSqliteStore(path), { code: "DATABASE_UNAVAILABLE", message: /UNIQUE/ });
      assert.equal(schemaVersion(path), "1");
      const db = new Database(path, { readonly: true });
      try {
        assert.equal((db.prepare("SELECT count(*) AS n FROM signed_attestations").get() as { n: number }).n, 4);
      } finally {
        db.close();
      }
    });
  });

  it("refuses a database written by a newer schema, or with an unreadable version, and leaves it alone", async () => {
    const path = freshPath();
    await (await openSqliteStore(path, { genesisValidatorsRoot: GVR })).close();
    setSchemaVersion(path, "3");
    await assert.rejects(openSqliteStore(path), { code: "DATABASE_UNAVAILABLE", message: /schema version 3, newer than this signer's 2/ });
    for (const unreadable of ["", "-1", "two"]) {
      setSchemaVersion(path, unreadable);
      await assert.rejects(openSqliteStore(path), { code: "DATABASE_UNAVAILABLE", message: new RegExp(`unreadable schema version \\(${unreadable}\\)`) });
    }
    assert.equal(schemaVersion(path), "two");
  });

  it("decides a burst in order and commits it whether commits are immediate, delayed, or only on demand", { timeout: 30_000 }, async () => {
    // With a ten-minute delay the burst only completes because asking for durable() commits.
    for (const commitDelayMs of [0, 20, 600_000]) {
      const store = await openSqliteStore(freshPath(), { genesisValidatorsRoot: GVR, commitDelayMs });
      try {
        const k = pubkey(1);
        const outcomes = await Promise.all(
          [5, 5, 6, 4, 7, 7].map(async (slot, i) => {
            try {
              const recorded = await store.checkAndRecordBlock({ pubkey: k, genesisValidatorsRoot: GVR, slot, signingRoot: root(i + 1) });
              await recorded.durable();
              return "allowed";
            } catch (e) {
              return (e as { code: string }).code;
            }
          }),
        );
        assert.deepEqual(
          outcomes,
          ["allowed", "DOUBLE_BLOCK", "allowed", "BLOCK_SLOT_NOT_ABOVE_WATERMARK", "allowed", "DOUBLE_BLOCK"],
          `commitDelayMs ${commitDelayMs}`,
        );
      } finally {
        await store.close();
      }
    }
  });

  it("closes once however often it is asked, committing what was decided and refusing what comes after", async () => {
    const path = freshPath();
    const store = await openSqliteStore(path, { genesisValidatorsRoot: GVR });
    const decided = await store.checkAndRecordBlock({ pubkey: pubkey(1), genesisValidatorsRoot: GVR, slot: 5, signingRoot: root(1) });
    const closes = [store.close(), store.close()];
    await assert.rejects(store.checkAndRecordBlock({ pubkey: pubkey(1), genesisValidatorsRoot: GVR, slot: 6, signingRoot: root(1) }), { code: "STORE_CLOSED" });
    await Promise.all(closes);
    await decided.durable();
    const reopened = await openSqliteStore(path);
    try {
      assert.deepEqual((await reopened.exportInterchange(GVR)).data[0]!.signed_blocks.map((b) => b.slot), ["5"]);
    } finally {
      await reopened.close();
    }
  });

  it("refuses to write while a failed rollback has left the connection inside a transaction", () => {
    // Unreachable by request: a ROLLBACK that fails after a failed COMMIT. better-sqlite3 would
    // then run the next commit as a savepoint inside it, reported done but never written.
    const path = freshPath();
    const engine = new SqliteEngine(path, GVR);
    const db = (engine as unknown as { db: Database.Database }).db;
    db.exec("BEGIN");
    const block = { kind: "block" as const, pubkey: pubkey(1), slot: 10, signingRoot: root(1) };
    assert.throws(() => engine.commitRecords(GVR, [block]), { code: "DATABASE_UNAVAILABLE" });
    assert.throws(() => engine.prune(), { code: "DATABASE_UNAVAILABLE" });
    engine.close();
    const reopened = new SqliteEngine(path);
    assert.deepEqual(reopened.loadHistory(pubkey(1), GVR).blocks, []);
    reopened.close();
  });

  it("releases nothing whose commit failed, repeats included, when the disk fills up mid-burst", async () => {
    // A real write failure: the child runs under a 200 KiB file-size limit, so once the WAL cannot
    // grow every commit of new records fails (SQLITE_FULL) while the store keeps deciding; exact
    // repeats of records still being committed are decided meanwhile (see slashingDiskFull.ts).
    const path = freshPath();
    const script = fileURLToPath(new URL("../helpers/slashingDiskFull.ts", import.meta.url));
    const child = spawn("bash", ["-c", 'ulimit -f 200 && exec "$0" --import tsx "$1" "$2"', process.execPath, script, path], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", resolve);
    });
    assert.equal(code, 0);
    const lines = out.trim().split("\n").map((l) => l.split(" "));
    const released = lines.filter((l) => l[3] === "released");
    assert.ok(lines.filter((l) => l[3] === "COMMIT_FAILED").length >= 5 * 16, "commits failed");
    assert.ok(released.length > 0, "some were released before the disk filled");
    assert.ok(lines.every((l) => l[3] === "released" || l[3] === "COMMIT_FAILED"), out);

    const store = await openSqliteStore(path);
    try {
      const exported = (await store.exportInterchange(GVR)).data;
      const onRecord = new Set(exported.flatMap((k) => k.signed_blocks.map((b) => `${k.pubkey} ${Number(b.slot)} ${b.signing_root}`)));
      const forgotten = released.filter(([key, slot, r]) => !onRecord.has(`${pubkey(Number(key))} ${slot} ${r}`));
      assert.deepEqual(forgotten, []);
    } finally {
      await store.close();
    }
  });

  it("remembers every block whose record was reported durable when the process is killed mid-burst", async () => {
    const path = freshPath();
    const script = fileURLToPath(new URL("../helpers/slashingBurst.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script, path], { stdio: ["ignore", "pipe", "inherit"] });
    const released: number[] = [];
    let buffered = "";
    await new Promise<void>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", () => resolve());
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const l of lines) released.push(Number(l));
        if (released.length >= 300 && child.exitCode === null) child.kill("SIGKILL");
      });
    });
    assert.equal(child.signalCode, "SIGKILL");
    assert.ok(released.length >= 300, `child released ${released.length} signatures`);

    const store = await openSqliteStore(path);
    try {
      const onRecord = new Set((await store.exportInterchange(GVR)).data[0]!.signed_blocks.map((b) => Number(b.slot)));
      const forgotten = released.filter((slot) => !onRecord.has(slot));
      assert.deepEqual(forgotten, []);
      for (const slot of released.slice(-20)) {
        await assert.rejects(
          store.checkAndRecordBlock({ pubkey: pubkey(1), genesisValidatorsRoot: GVR, slot, signingRoot: root(2) }),
          { code: "DOUBLE_BLOCK" },
        );
      }
    } finally {
      await store.close();
    }
  });
});
