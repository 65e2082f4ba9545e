import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, sign } from "../helpers/messages.js";
import { Relay } from "../helpers/relay.js";
import { ADMIN_URL, createTestDatabase } from "../helpers/slashingPostgres.js";
import { serveArgs, spawnSigner, writeKeystores } from "../helpers/signer.js";

describe("PostgreSQL outage during a burst", () => {
  it("answers 503 while the database is cut off, signs nothing without its record, and resumes by itself", async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const relay = new Relay(new URL(ADMIN_URL));
    await relay.start();
    t.after(() => relay.stop().catch(() => undefined));
    const database = new URL(db.url).pathname.slice(1);
    const dir = await tempDir(t, "pgfault");
    const dirs = await writeKeystores(dir, 2);
    const keys = dirs.keys;
    const signer = await spawnSigner(serveArgs(join(dir, "data"), dirs, "--slashing-db", relay.url(database)));
    t.after(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });

    const received: Array<{ pubkey: string; target: number }> = [];
    const statuses = new Map<number, number>();
    let phase: "before" | "down" | "after" = "before";
    const perPhase = { before: 0, down: 0, after: 0 };
    let next = 10;
    let running = true;
    const senders = keys.map(async ({ pubkey }) => {
      while (running) {
        const target = next++;
        const r = await sign(signer.url, pubkey, attestationBody(target - 1, target));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) {
          received.push({ pubkey, target });
          perPhase[phase]++;
        } else {
          assert.equal(r.status, 503, `only 503 while the database is away, got ${r.status}: ${r.message}`);
          assert.match(r.message ?? "", /database/i);
        }
      }
    });
    await new Promise((r) => setTimeout(r, 700));
    await relay.stop();
    phase = "down";
    // Long enough for requests to find the database gone and be refused.
    await new Promise((r) => setTimeout(r, 4000));
    const healthDown = await fetch(`${signer.url}/healthcheck`);
    assert.equal(healthDown.status, 503);
    await relay.start();
    phase = "after";
    await new Promise((r) => setTimeout(r, 3000));
    running = false;
    await Promise.all(senders);
    const healthUp = await fetch(`${signer.url}/healthcheck`);
    assert.equal(healthUp.status, 200, await healthUp.text());

    console.log(`statuses ${JSON.stringify(Object.fromEntries(statuses))}; signed before ${perPhase.before}, during ${perPhase.down}, after ${perPhase.after}`);
    assert.ok((statuses.get(503) ?? 0) > 0, "the outage was seen");
    assert.ok(perPhase.before > 0 && perPhase.after > 0, "signed before the outage and again after it");
    for (const r of received) {
      const twin = await sign(signer.url, r.pubkey, attestationBody(r.target - 1, r.target, 1));
      assert.equal(twin.status, 412, `target ${r.target} was signed but is not on record`);
    }
  });

  it("answers 503 within --slashing-db-timeout-ms (+2 s) while PostgreSQL is unresponsive, queued requests too, and signs again once it answers", async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const relay = new Relay(new URL(ADMIN_URL));
    await relay.start();
    t.after(async () => {
      relay.resume();
      await relay.stop().catch(() => undefined);
    });
    const dir = await tempDir(t, "pghang");
    const dirs = await writeKeystores(dir, 4);
    const timeoutMs = 3000;
    const signer = await spawnSigner(serveArgs(join(dir, "data"), dirs, "--slashing-db", relay.url(new URL(db.url).pathname.slice(1)), "--slashing-db-timeout-ms", String(timeoutMs)));
    t.after(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });
    for (const [i, { pubkey }] of dirs.keys.entries()) assert.equal((await sign(signer.url, pubkey, attestationBody(i, i + 1))).status, 200);

    relay.pause();
    // Three rounds of requests, each key several times over: the first batch hangs in the
    // database, the rest queue behind it and must be answered by their own deadline.
    const timed = async (pubkey: string, target: number) => {
      const started = performance.now();
      const r = await sign(signer.url, pubkey, attestationBody(target - 1, target));
      return { ...r, ms: performance.now() - started };
    };
    const answers = await Promise.all(
      [0, 300, 600].flatMap((delay, round) =>
        dirs.keys.flatMap(({ pubkey }, k) =>
          [0, 1].map(async (j) => {
            await new Promise((r) => setTimeout(r, delay));
            return timed(pubkey, 100 + round * 10 + k * 2 + j);
          }),
        ),
      ),
    );
    const health = await fetch(`${signer.url}/healthcheck`);
    assert.equal(health.status, 503);
    for (const a of answers) {
      assert.equal(a.status, 503, `${a.status}: ${a.message}`);
      assert.match(a.message ?? "", /database/i);
      assert.ok(a.ms < timeoutMs + 2000, `answered after ${a.ms.toFixed(0)} ms, past the ${timeoutMs} ms deadline`);
    }
    console.log(`unresponsive database: ${answers.length} requests answered 503 in at most ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms`);

    relay.resume();
    const { pubkey } = dirs.keys[0]!;
    let target = 1000;
    const deadline = Date.now() + 20_000;
    let last = await sign(signer.url, pubkey, attestationBody(target - 1, target));
    while (last.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      target++;
      last = await sign(signer.url, pubkey, attestationBody(target - 1, target));
    }
    assert.equal(last.status, 200, `signs again once the database answers: ${last.message}`);
  });
});
