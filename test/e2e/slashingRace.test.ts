import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attestationBody, blockBody, sign } from "../helpers/messages.js";
import { startTestSigner } from "../helpers/signer.js";

/** Sends every body at once and returns the statuses; each set must yield at most one signature. */
async function race(url: string, pubkey: string, bodies: unknown[]): Promise<number[]> {
  const results = await Promise.all(bodies.map((b) => sign(url, pubkey, b)));
  for (const r of results) assert.ok(r.status === 200 || r.status === 412, `unexpected status ${r.status}: ${r.message}`);
  return results.map((r) => r.status);
}

const signedCount = (statuses: number[]) => statuses.filter((s) => s === 200).length;

describe("slashing protection under concurrent conflicting requests over HTTP", () => {
  it("signs at most one of each conflicting set", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 2 });
    const [a, b] = signer.keys.map((k) => k.pubkey) as [string, string];
    const N = 40;

    // Double proposals: N different blocks at one slot.
    const blocks = await race(signer.url, a, Array.from({ length: N }, (_, i) => blockBody(100, i)));
    assert.equal(signedCount(blocks), 1, "one block at slot 100");

    // Double votes: N different attestations for one target.
    const votes = await race(signer.url, a, Array.from({ length: N }, (_, i) => attestationBody(5, 6, i)));
    assert.equal(signedCount(votes), 1, "one attestation for target 6");

    // Surrounding and surrounded votes racing each other: (10,20) surrounds (11,19) and (12,18) …
    const nested = Array.from({ length: 9 }, (_, i) => attestationBody(10 + i, 30 - i));
    const surround = await race(signer.url, b, nested);
    assert.equal(signedCount(surround), 1, "one of a set of mutually surrounding votes");

    // Rising slots from many requests at once: each can be signed only if it arrives above the
    // watermark, so which ones sign depends on arrival, but no slot is signed twice.
    const rising = Array.from({ length: N }, (_, i) => blockBody(200 + (i % 10), i));
    const risingStatuses = await race(signer.url, b, rising);
    const signedSlots = rising.filter((_, i) => risingStatuses[i] === 200).map((body) => body.beacon_block.block_header.slot);
    assert.equal(new Set(signedSlots).size, signedSlots.length, "no slot signed twice");
    assert.ok(signedSlots.length >= 1);

    // And different keys do not block each other: both keys still sign new messages.
    assert.equal((await sign(signer.url, a, attestationBody(6, 7))).status, 200);
    assert.equal((await sign(signer.url, b, attestationBody(30, 31))).status, 200);
  });
});
