import assert from "node:assert/strict";
import { cp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, sign } from "../helpers/messages.js";
import { networkAt } from "../helpers/networks.js";
import { spawnSigner, writeKeystores } from "../helpers/signer.js";

async function copySlashingDb(from: string, to: string): Promise<void> {
  for (const f of await readdir(to)) if (f.startsWith("slashing-protection.sqlite")) await rm(join(to, f));
  for (const f of await readdir(from)) if (f.startsWith("slashing-protection.sqlite")) await cp(join(from, f), join(to, f));
}

describe("rollback guard", () => {
  it("refuses, after a restart on a restored older database, what the newer one had recorded", async (t) => {
    const dir = await tempDir(t, "rollback");
    const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
    const pubkey = keys[0]!.pubkey;
    const dataDir = join(dir, "data");
    const backup = join(dir, "backup");
    const run = async (epochsAgo: number, floor: string, data = dataDir) => {
      const signer = await spawnSigner([
        "--data-dir", data,
        ...(await networkAt(dir, epochsAgo)),
        "--keystores-dir", keystoresDir,
        "--keystores-passwords-dir", passwordsDir,
        "--startup-floor-epochs", floor,
        "--log-level", "warn",
      ]);
      return {
        sign: (body: unknown) => sign(signer.url, pubkey, body),
        stop: async () => {
          signer.child.kill("SIGTERM");
          await signer.exited;
        },
      };
    };

    // Clock at epoch 100, floor 101: attest for 102 and 103, then take the "old" copy.
    let signer = await run(100, "1");
    assert.equal((await signer.sign(attestationBody(99, 101))).status, 412, "at the floor is refused");
    assert.equal((await signer.sign(attestationBody(101, 102))).status, 200);
    assert.equal((await signer.sign(attestationBody(102, 103))).status, 200);
    await signer.stop();
    await cp(dataDir, backup, { recursive: true });

    // Clock at epoch 110: attest up to 115 and propose in epoch 115.
    signer = await run(110, "1");
    for (let target = 112; target <= 115; target++) assert.equal((await signer.sign(attestationBody(target - 1, target))).status, 200);
    assert.equal((await signer.sign(blockBody(115 * 32 + 3))).status, 200);
    await signer.stop();

    // The host puts the old copy back (watermark: target 103, no block).
    await copySlashingDb(backup, dataDir);

    // Control: with the guard off, the restored copy alone would sign a double vote for 114.
    const control = join(dir, "control");
    await cp(dataDir, control, { recursive: true });
    signer = await run(116, "off", control);
    assert.equal((await signer.sign(attestationBody(113, 114, 7))).status, 200, "the old copy has forgotten target 114");
    await signer.stop();

    // With the guard on, the restart refuses everything up to the clock's epoch plus the margin.
    signer = await run(116, "1");
    const vote = await signer.sign(attestationBody(113, 114, 7));
    assert.equal(vote.status, 412);
    assert.match(vote.message ?? "", /rollback guard/);
    const block = await signer.sign(blockBody(115 * 32 + 3, 9));
    assert.equal(block.status, 412);
    assert.match(block.message ?? "", /rollback guard/);
    // Nor may a new vote surround the forgotten (113, 114) with an old source and a new target.
    const surround = await signer.sign(attestationBody(100, 118));
    assert.equal(surround.status, 412);
    assert.match(surround.message ?? "", /rollback guard/);
    // Above the floor the signer works as before.
    assert.equal((await signer.sign(attestationBody(117, 118))).status, 200);
    assert.equal((await signer.sign(blockBody(118 * 32))).status, 200);
    await signer.stop();
  });
});
