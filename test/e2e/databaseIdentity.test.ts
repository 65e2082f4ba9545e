/**
 * A data directory knows its slashing database: real signer processes on real SQLite files that
 * are emptied, deleted, swapped for another directory's or lose their WAL, with the rollback guard
 * off, so that what stops each start is the identity check alone.
 */
import assert from "node:assert/strict";
import { cp, readdir, readFile, rm, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, sign, verifyReturned } from "../helpers/messages.js";
import { serveArgs, spawnSigner, writeKeystores } from "../helpers/signer.js";

const DB = "slashing-protection.sqlite";

async function removeDb(dataDir: string): Promise<void> {
  for (const f of await readdir(dataDir)) if (f.startsWith(DB)) await rm(join(dataDir, f));
}

/** The WAL and its index, as a crash followed by a careless copy leaves the file without them. */
async function removeWal(dataDir: string): Promise<void> {
  for (const f of await readdir(dataDir)) if (f.startsWith(`${DB}-`)) await rm(join(dataDir, f));
}

async function world(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t, "identity");
  const dirs = await writeKeystores(dir, 1);
  const pubkey = dirs.keys[0]!.pubkey;
  const running: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const stop of running) await stop();
  });
  const start = async (dataDir: string) => {
    const signer = await spawnSigner(serveArgs(dataDir, dirs));
    const kill = async () => {
      signer.child.kill("SIGKILL");
      await signer.exited;
    };
    running.push(kill);
    return {
      sign: async (body: ReturnType<typeof attestationBody> | ReturnType<typeof blockBody>) => {
        const r = await sign(signer.url, pubkey, body);
        if (r.status === 200) assert.ok(verifyReturned(pubkey, body, r.signature!), "every returned signature verifies");
        return r.status;
      },
      kill,
    };
  };
  /** The start's error output; fails the test if the signer came up instead. */
  const refused = async (dataDir: string): Promise<string> => {
    try {
      const signer = await spawnSigner(serveArgs(dataDir, dirs));
      signer.child.kill("SIGKILL");
      await signer.exited;
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail("the signer started");
  };
  /** One signer run that records a block at slot 100 and the vote 5 -> 6, then dies. */
  const history = async (dataDir: string) => {
    const signer = await start(dataDir);
    assert.equal(await signer.sign(blockBody(100)), 200);
    assert.equal(await signer.sign(attestationBody(5, 6)), 200);
    await signer.kill();
  };
  return { dir, start, refused, history };
}

describe("database identity: a data directory refuses a slashing database that is not its own", () => {
  it("an emptied database stops the start; `slashing-protection init` is the explicit way to begin again", async (t) => {
    const w = await world(t);
    const data = join(w.dir, "data");
    await w.history(data);
    await removeWal(data);
    await truncate(join(data, DB), 0);

    assert.match(await w.refused(data), /is empty \(zero bytes\).*slashing-protection init/);
    assert.equal((await stat(join(data, DB))).size, 0, "the refused start created nothing");

    const init = await cli("slashing-protection", "init", "--data-dir", data);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /started an empty slashing database/);
    const signer = await w.start(data);
    assert.equal(await signer.sign(blockBody(100, 1)), 200, "what the operator chose: the history is gone");
  });

  it("a missing database stops the start; importing its interchange brings the history back", async (t) => {
    const w = await world(t);
    const data = join(w.dir, "data");
    await w.history(data);
    const file = join(w.dir, "interchange.json");
    const exported = await cli("slashing-protection", "export", "--data-dir", data, "--out", file);
    assert.equal(exported.code, 0, exported.stderr);
    await removeDb(data);

    assert.match(await w.refused(data), /is missing; restore it, or bring its history back/);
    const imported = await cli("slashing-protection", "import", file, "--data-dir", data);
    assert.equal(imported.code, 0, imported.stderr);

    const signer = await w.start(data);
    assert.equal(await signer.sign(blockBody(100, 1)), 412);
    assert.equal(await signer.sign(attestationBody(5, 6, 1)), 412);
    assert.equal(await signer.sign(attestationBody(6, 7)), 200);
  });

  it("another data directory's database is refused until `init` adopts it", async (t) => {
    const w = await world(t);
    const mine = join(w.dir, "mine");
    const other = join(w.dir, "other");
    await w.history(mine);
    const fresh = await w.start(other);
    await fresh.kill();
    await removeDb(mine);
    for (const f of await readdir(other)) if (f.startsWith(DB)) await cp(join(other, f), join(mine, f));

    assert.match(await w.refused(mine), /is not the one this data directory recorded/);
    // The import path does not paper over a swap: it names init.
    const file = join(w.dir, "empty.json");
    assert.equal((await cli("slashing-protection", "export", "--data-dir", other, "--out", file)).code, 0);
    const imported = await cli("slashing-protection", "import", file, "--data-dir", mine);
    assert.notEqual(imported.code, 0);
    assert.match(imported.stderr, /slashing-protection init/);

    assert.equal((await cli("slashing-protection", "init", "--data-dir", mine)).code, 0);
    const adopted = await w.start(mine);
    assert.equal(await adopted.sign(blockBody(100, 1)), 200, "the adopted database never saw slot 100");
  });

  it("a directory without an id file (an older signer's) adopts its database; a lost WAL does not lose the id", async (t) => {
    const w = await world(t);
    const data = join(w.dir, "data");
    await w.history(data);
    const id = (await readFile(join(data, "slashing-db.id"), "utf8")).trim();
    assert.match(id, /^[0-9a-f]{32}$/);

    await rm(join(data, "slashing-db.id"));
    let signer = await w.start(data);
    assert.equal(await signer.sign(blockBody(100, 1)), 412, "the adopted database is the one with the history");
    await signer.kill();
    assert.equal((await readFile(join(data, "slashing-db.id"), "utf8")).trim(), id);

    // What the WAL alone held is gone with it (the restart floor covers that); the database is still this directory's.
    await removeWal(data);
    signer = await w.start(data);
    assert.equal(await signer.sign(attestationBody(7, 8)), 200);
  });
});
