/**
 * What a host that owns the disk and the clock can try against slashing protection, each as real
 * signer processes over HTTP: data directories copied, restored and cloned with real SQLite files,
 * the wall clock moved with libfaketime while the signer runs, every signature returned checked
 * with blst. The continuity store is the real PostgreSQL behind TLS with a throwaway CA.
 */
import assert from "node:assert/strict";
import { cp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FakeClock } from "../helpers/fakeClock.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, sign, verifyReturned } from "../helpers/messages.js";
import { networkAt } from "../helpers/networks.js";
import { tlsTestDatabase } from "../helpers/pgTls.js";
import { spawnSigner, writeKeystores } from "../helpers/signer.js";

const EPOCH_SECONDS = 12 * 32;

async function restoreSlashingDb(from: string, to: string): Promise<void> {
  for (const f of await readdir(to)) if (f.startsWith("slashing-protection.sqlite")) await rm(join(to, f));
  for (const f of await readdir(from)) if (f.startsWith("slashing-protection.sqlite")) await cp(join(from, f), join(to, f));
}

/**
 * One test's world: one key, a network whose clock starts at epoch `startEpoch` + ½, a fake clock
 * the test moves in whole epochs, and (on demand) a continuity store.
 */
async function world(t: Parameters<typeof tempDir>[0], startEpoch: number) {
  const dir = await tempDir(t, "host");
  const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
  const pubkey = keys[0]!.pubkey;
  const network = await networkAt(dir, startEpoch);
  const createdAt = Date.now();
  const clock = await FakeClock.create(dir);
  // The signers' clock stands at epoch `epoch` + ½ however long the test has run: the offset is
  // worked out from the real time again before every start and every request.
  let epoch = startEpoch;
  const pin = () => clock.set((epoch - startEpoch) * EPOCH_SECONDS - (Date.now() - createdAt) / 1000);
  let continuity: string[] | undefined;
  const running: Array<{ kill(): Promise<void> }> = [];
  t.after(async () => {
    for (const r of running) await r.kill();
  });

  const start = async (dataDir: string, opts: { continuity?: boolean } = {}) => {
    const args = [
      "--data-dir", dataDir,
      ...network,
      "--keystores-dir", keystoresDir,
      "--keystores-passwords-dir", passwordsDir,
      "--log-level", "warn",
      ...(opts.continuity ? continuity! : []),
    ];
    await pin();
    const signer = await spawnSigner(args, clock.env);
    const handle = {
      url: signer.url,
      sign: async (body: ReturnType<typeof attestationBody> | ReturnType<typeof blockBody>) => {
        await pin();
        const r = await sign(signer.url, pubkey, body);
        if (r.status === 200) assert.ok(verifyReturned(pubkey, body, r.signature!), "every returned signature verifies");
        return r;
      },
      /** The host's way: no goodbye. */
      kill: async () => {
        signer.child.kill("SIGKILL");
        await signer.exited;
      },
    };
    running.push(handle);
    return handle;
  };

  return {
    dir,
    start,
    /** Moves the signers' wall clock to epoch `epoch` + ½ of this world. */
    clockAt: (to: number) => {
      epoch = to;
      return pin();
    },
    async withContinuityStore() {
      const { pki, front, url } = await tlsTestDatabase(t, dir);
      continuity = ["--continuity-store", url, "--continuity-ca", pki.caCert];
      return front;
    },
  };
}

describe("slashing protection against the host's disk and clock", () => {
  it("local mode: a restored older copy on an honest clock signs nothing the copy forgot", async (t) => {
    const w = await world(t, 100);
    const data = join(w.dir, "data");
    let signer = await w.start(data);
    assert.equal((await signer.sign(attestationBody(99, 100))).status, 200);
    await signer.kill();
    await cp(data, join(w.dir, "backup"), { recursive: true });
    signer = await w.start(data);
    await w.clockAt(110);
    assert.equal((await signer.sign(attestationBody(109, 110))).status, 200);
    assert.equal((await signer.sign(blockBody(110 * 32 + 3))).status, 200);
    await signer.kill();

    await restoreSlashingDb(join(w.dir, "backup"), data);
    signer = await w.start(data);
    const vote = await signer.sign(attestationBody(109, 110, 7));
    assert.equal(vote.status, 412);
    assert.match(vote.message!, /rollback guard/);
    assert.equal((await signer.sign(blockBody(110 * 32 + 3, 9))).status, 412);
    // Above the floor it signs again; a vote around what the copy still holds is refused.
    await w.clockAt(111);
    const older = await signer.sign(attestationBody(98, 111));
    assert.equal(older.status, 412);
    assert.match(older.message!, /98->111 would surround the recorded attestation 99->100/);
    assert.equal((await signer.sign(attestationBody(110, 111))).status, 200);
  });

  it("1. refuses a block and an attestation 100 epochs ahead, so a restored copy has nothing to forget", async (t) => {
    const w = await world(t, 100);
    const data = join(w.dir, "data");
    let signer = await w.start(data);
    assert.equal((await signer.sign(attestationBody(99, 100))).status, 200);
    await signer.kill();
    await cp(data, join(w.dir, "backup"), { recursive: true });

    signer = await w.start(data);
    const farBlock = await signer.sign(blockBody(200 * 32 + 5));
    const farVote = await signer.sign(attestationBody(199, 200));
    assert.equal(farBlock.status, 412);
    assert.match(farBlock.message!, /--clock-skew-slots/);
    assert.equal(farVote.status, 412);
    await signer.kill();

    // The older copy comes back and the signer restarts on the honest clock: the conflicting
    // messages are still in the future, and once the clock gets there exactly one is signed.
    await restoreSlashingDb(join(w.dir, "backup"), data);
    signer = await w.start(data);
    assert.equal((await signer.sign(blockBody(200 * 32 + 5, 1))).status, 412);
    await w.clockAt(200);
    assert.equal((await signer.sign(blockBody(200 * 32 + 5, 1))).status, 200);
    assert.equal((await signer.sign(blockBody(200 * 32 + 5, 0))).status, 412, "one block for the slot, ever");
    assert.equal((await signer.sign(attestationBody(199, 200, 1))).status, 200);
    assert.equal((await signer.sign(attestationBody(199, 200, 0))).status, 412, "one vote for the target, ever");
  });

  it("2. with a continuity store, a restored copy started on a rewound clock signs nothing it forgot", async (t) => {
    const w = await world(t, 100);
    await w.withContinuityStore();
    const data = join(w.dir, "data");
    let signer = await w.start(data, { continuity: true });
    assert.equal((await signer.sign(attestationBody(99, 100))).status, 200);
    await signer.kill();
    await cp(data, join(w.dir, "backup"), { recursive: true });

    signer = await w.start(data, { continuity: true });
    await w.clockAt(110);
    assert.equal((await signer.sign(attestationBody(109, 110))).status, 200);
    assert.equal((await signer.sign(blockBody(110 * 32 + 3))).status, 200);
    await signer.kill();

    await restoreSlashingDb(join(w.dir, "backup"), data);
    await cp(data, join(w.dir, "local"), { recursive: true });
    // Started with the clock set back 10 epochs, then set right: the restart floor of local mode
    // came from the rewound clock, and that mode signs the double vote (the limit docs/tee.md states).
    await w.clockAt(100);
    const local = await w.start(join(w.dir, "local"));
    await w.clockAt(110);
    assert.equal((await local.sign(attestationBody(109, 110, 7))).status, 200, "local mode cannot hold against disk and clock together");
    await local.kill();

    await w.clockAt(100);
    signer = await w.start(data, { continuity: true });
    await w.clockAt(110);
    const vote = await signer.sign(attestationBody(109, 110, 7));
    assert.equal(vote.status, 412);
    assert.match(vote.message!, /continuity/);
    const block = await signer.sign(blockBody(110 * 32 + 3, 9));
    assert.equal(block.status, 412);
    assert.match(block.message!, /continuity/);
    // Above what the earlier run reserved it signs again.
    await w.clockAt(112);
    assert.equal((await signer.sign(attestationBody(110, 112))).status, 200);
    assert.equal((await signer.sign(blockBody(112 * 32 + 1))).status, 200);
  });

  it("3. two instances on copies of one data directory never both sign a target or a slot", async (t) => {
    const w = await world(t, 100);
    await w.withContinuityStore();
    const data = join(w.dir, "data");
    const first = await w.start(data, { continuity: true });
    assert.equal((await first.sign(attestationBody(99, 100))).status, 200);
    await first.kill();
    await cp(data, join(w.dir, "clone"), { recursive: true });
    await cp(data, join(w.dir, "local-a"), { recursive: true });
    await cp(data, join(w.dir, "local-b"), { recursive: true });

    // Without a continuity store each copy signs its own vote: a double vote.
    const [la, lb] = await Promise.all([w.start(join(w.dir, "local-a")), w.start(join(w.dir, "local-b"))]);
    await w.clockAt(101);
    const local = await Promise.all([la.sign(attestationBody(100, 101, 1)), lb.sign(attestationBody(100, 101, 2))]);
    assert.deepEqual(local.map((r) => r.status), [200, 200], "local mode cannot see a clone");
    await Promise.all([la.kill(), lb.kill()]);

    const [a, b] = await Promise.all([w.start(data, { continuity: true }), w.start(join(w.dir, "clone"), { continuity: true })]);
    // Target 101 is in the first run's reservation; from 102 on the two race for each target.
    for (let target = 102; target <= 107; target++) {
      await w.clockAt(target);
      const answers = await Promise.all([a.sign(attestationBody(target - 1, target, 1)), b.sign(attestationBody(target - 1, target, 2))]);
      assert.equal(answers.filter((r) => r.status === 200).length, 1, `exactly one vote for target ${target}: ${answers.map((r) => r.status)}`);
      const slot = target * 32 + 2;
      const blocks = await Promise.all([a.sign(blockBody(slot, 1)), b.sign(blockBody(slot, 2))]);
      assert.equal(blocks.filter((r) => r.status === 200).length, 1, `exactly one block at slot ${slot}: ${blocks.map((r) => r.status)}`);
    }
  });

  for (const mode of ["local", "continuity"] as const) {
    it(`5. ${mode} mode: after a restart, attestations with a source 30 epochs old resume within 2 epochs`, async (t) => {
      const w = await world(t, 127);
      if (mode === "continuity") await w.withContinuityStore();
      const data = join(w.dir, "data");
      let signer = await w.start(data, { continuity: mode === "continuity" });
      // The chain has not justified since epoch 100: every vote up to epoch 130 has that source.
      for (let target = 127; target <= 130; target++) {
        await w.clockAt(target);
        assert.equal((await signer.sign(attestationBody(100, target))).status, 200);
      }
      await signer.kill();

      signer = await w.start(data, { continuity: mode === "continuity" });
      let resumed: number | undefined;
      for (const epoch of [131, 132]) {
        await w.clockAt(epoch);
        if ((await signer.sign(attestationBody(100, epoch))).status === 200) {
          resumed = epoch;
          break;
        }
      }
      assert.ok(resumed !== undefined, "an attestation with the stuck source is signed within 2 epochs of the restart");
      // And the old votes stay protected: a double vote for 130 is refused.
      assert.equal((await signer.sign(attestationBody(100, 130, 5))).status, 412);
    });
  }
});
