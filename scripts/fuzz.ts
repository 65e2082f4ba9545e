/**
 * `npm run fuzz -- [--count N] [--seed S]`: the fuzz run of test/e2e/signFuzz.test.ts, as long as
 * asked (default 1,000,000 bodies), against a real signer started in this process. Prints progress
 * every 5,000 bodies and exits 1 on any answer of 500 or more, any refused request after which
 * the slashing records differed, or a heap that grew by more than 256 MiB after the warm-up.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { apiTokenFile } from "../src/config/config.js";
import { runFuzz, type FuzzResult } from "../test/helpers/fuzz.js";
import { startTestSigner } from "../test/helpers/signer.js";

const { values } = parseArgs({ options: { count: { type: "string", default: "1000000" }, seed: { type: "string", default: "1" } } });
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) throw new Error("--count and --seed take integers");

const closers: Array<() => Promise<void>> = [];
const signer = await startTestSigner({ after: (fn) => void closers.push(fn) }, { keyCount: 1 });
const token = (await readFile(apiTokenFile(signer.dataDir), "utf8")).trim();
const started = performance.now();
const line = (r: FuzzResult) =>
  `${r.sent} bodies, ${((performance.now() - started) / 1000).toFixed(0)} s, by status ${JSON.stringify(r.byStatus)}, ` +
  `${r.failures.length} failures, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`;
const result = await runFuzz({ url: signer.url, pubkey: signer.keys[0]!.pubkey, token, count, seed, onProgress: (r) => console.log(line(r)) });
for (const close of closers) await close();
console.log(`seed ${seed}: ${line(result)}; heap after warm-up ${(result.heapAfterWarmup / 2 ** 20).toFixed(0)} MiB, at most ${(result.heapMax / 2 ** 20).toFixed(0)} MiB after`);
for (const failure of result.failures) console.log(`FAIL ${failure}`);
const heapBounded = result.heapMax < result.heapAfterWarmup + 256 * 2 ** 20;
if (!heapBounded) console.log("FAIL heap grew by more than 256 MiB after the warm-up");
process.exit(result.failures.length === 0 && heapBounded ? 0 : 1);
