import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, sign } from "../helpers/messages.js";
import { createTestDatabase } from "../helpers/slashingPostgres.js";
import { serveArgs, spawnSigner, writeKeystores, type SignerProcess } from "../helpers/signer.js";

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
});
