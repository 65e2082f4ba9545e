import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, sign } from "../helpers/messages.js";
import { serveArgs, spawnSigner, writeKeystores } from "../helpers/signer.js";

interface Received {
  pubkey: string;
  kind: "block" | "attestation";
  at: number;
}

describe("slashing protection survives SIGKILL", () => {
  it("after a kill at a random moment, every signature a client received is on record", async (t) => {
    const dir = await tempDir(t, "crash");
    const dirs = await writeKeystores(dir, 4);
    const args = serveArgs(join(dir, "data"), dirs);
    const received: Received[] = [];
    let next = 100;
    const rounds = 3;

    for (let round = 0; round < rounds; round++) {
      const signer = await spawnSigner(args);
      let killed = false;
      // Each key has one sender, with rising slots and epochs: every request is legitimate.
      const senders = dirs.keys.map(async ({ pubkey }, k) => {
        while (!killed) {
          const at = next++;
          const kind = (at + k) % 3 === 0 ? "block" : "attestation";
          const body = kind === "block" ? blockBody(at) : attestationBody(at - 1, at);
          try {
            const res = await sign(signer.url, pubkey, body);
            if (res.status === 200) received.push({ pubkey, kind, at });
          } catch {
            return; // connection cut by the kill: the client got nothing
          }
        }
      });
      await new Promise((r) => setTimeout(r, randomInt(300, 1500)));
      killed = true;
      signer.child.kill("SIGKILL");
      assert.equal(await signer.exited, "SIGKILL");
      await Promise.all(senders);
    }
    assert.ok(received.length > 20, `the burst signed something before the kills (${received.length})`);

    // Restarted on the same data: each received signature must block its conflicting twin.
    const signer = await spawnSigner(args);
    t.after(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });
    let refused = 0;
    for (const r of received) {
      const twin = r.kind === "block" ? blockBody(r.at, 1) : attestationBody(r.at - 1, r.at, 1);
      const res = await sign(signer.url, r.pubkey, twin);
      assert.equal(res.status, 412, `${r.kind} at ${r.at} for ${r.pubkey} was received but is not on record: ${res.message}`);
      refused++;
    }
    console.log(`${rounds} kills; ${received.length} signatures received before them, all on record after restart`);
    assert.equal(refused, received.length);
  });
});
