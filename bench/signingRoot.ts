/**
 * `npm run bench:signing-root`: CPU per ATTESTATION sign request of planSigning alone (reading the
 * JSON body into SSZ values, fork_info, domain, signing root), with the native hasher the signer
 * uses. It runs on the HTTP thread for every request, and a change to it shows here within a few
 * percent, where the whole-signer benchmark drifts with the VM by more. Prints figures; asserts
 * nothing.
 *
 * Environment: BENCH_REQUESTS (distinct request bodies, default 2000), BENCH_ROUNDS (default 5).
 */
import { useFastestHasher } from "../src/signing/hasher.js";
import { createNetworkConfig } from "../src/signing/network.js";
import type { SignRequest } from "../src/signing/schema.js";
import { planSigning } from "../src/signing/signingRoot.js";
import { FULU_FORK_INFO } from "../test/helpers/messages.js";

const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const hasher = await useFastestHasher();
const { config } = createNetworkConfig("mainnet");
const ROOT = "0x" + "ab".repeat(32);
// Parsed afresh for each round, as each HTTP request brings its own objects.
const texts = Array.from({ length: requests }, (_, i) => {
  const epoch = 400_000 + i;
  return JSON.stringify({
    type: "ATTESTATION",
    fork_info: FULU_FORK_INFO,
    attestation: {
      slot: String(epoch * 32),
      index: "0",
      beacon_block_root: ROOT,
      source: { epoch: String(epoch - 1), root: ROOT },
      target: { epoch: String(epoch), root: ROOT },
    },
  });
});

console.log(`planSigning, ATTESTATION, ${requests} requests per round, hasher ${hasher}`);
for (let round = 1; round <= rounds; round++) {
  const bodies = texts.map((t) => JSON.parse(t) as SignRequest);
  const started = process.cpuUsage();
  for (const body of bodies) planSigning(config, body);
  const used = process.cpuUsage(started);
  console.log(`round ${round}: ${((used.user + used.system) / requests).toFixed(2)} us CPU per request`);
}
