import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFile } from "node:fs/promises";
import { apiTokenFile } from "../../src/config/config.js";
import { runFuzz } from "../helpers/fuzz.js";
import { startTestSigner } from "../helpers/signer.js";

/** Bodies per run here; `npm run fuzz` runs as many as asked (scripts/fuzz.ts). */
const COUNT = 1000;
const SEED = 19;

describe("sign endpoint: fuzzed bodies", () => {
  it(`answers ${COUNT} hostile bodies below 500, changes no slashing record for a refused one, in bounded memory`, async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1 });
    const token = (await readFile(apiTokenFile(signer.dataDir), "utf8")).trim();
    const result = await runFuzz({ url: signer.url, pubkey: signer.keys[0]!.pubkey, token, count: COUNT, seed: SEED });
    console.log(`fuzz: ${result.sent} bodies, answers by status ${JSON.stringify(result.byStatus)}, heap ${(result.heapAfterWarmup / 2 ** 20).toFixed(0)} MiB after warm-up, at most ${(result.heapMax / 2 ** 20).toFixed(0)} MiB`);
    assert.deepEqual(result.failures, []);
    assert.equal(result.sent, COUNT);
    // The run reaches every stage: refusals of the schema, of planSigning, of slashing protection, and signatures.
    for (const status of [200, 400]) assert.ok((result.byStatus[status] ?? 0) > 10, `status ${status} answered: ${JSON.stringify(result.byStatus)}`);
    assert.ok(result.heapMax < result.heapAfterWarmup + 256 * 2 ** 20, "heap bounded");
  });
});
