/**
 * Load generator, run as its own process by bench/run.ts so that it does not share an event loop
 * with the signer. Each connection owns a disjoint set of keys and signs attestations for them one
 * after another with rising epochs, so every request is legitimate and must be signed (a refusal
 * counts as an error). Prints one JSON line with the figures.
 *
 * Usage: node --import tsx bench/loadgen.ts URL CONNECTIONS DURATION_MS WARMUP_MS PUBKEY_FILE START_EPOCH
 */
import { readFileSync } from "node:fs";
import http from "node:http";

const [url, connArg, durationArg, warmupArg, pubkeyFile, startEpochArg] = process.argv.slice(2);
const connections = Number(connArg);
const durationMs = Number(durationArg);
const warmupMs = Number(warmupArg);
const pubkeys = JSON.parse(readFileSync(pubkeyFile!, "utf8")) as string[];
let epoch = Number(startEpochArg);

const MAINNET_GVR = "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95";
const ROOT = "0x" + "ab".repeat(32);
const forkInfo = JSON.stringify({
  fork: { previous_version: "0x05000000", current_version: "0x06000000", epoch: "411392" },
  genesis_validators_root: MAINNET_GVR,
});

function body(target: number): string {
  return (
    `{"type":"ATTESTATION","fork_info":${forkInfo},"attestation":{"slot":"${target * 32}","index":"0",` +
    `"beacon_block_root":"${ROOT}","source":{"epoch":"${target - 1}","root":"${ROOT}"},` +
    `"target":{"epoch":"${target}","root":"${ROOT}"}}}`
  );
}

const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const target = new URL(url!);

function post(pubkey: string, payload: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: "POST",
        path: `/api/v1/eth2/sign/${pubkey}`,
        headers: { "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const latencies: number[] = [];
let errors = 0;
const start = performance.now();
const measureFrom = start + warmupMs;
const end = measureFrom + durationMs;

async function connection(keys: string[]): Promise<void> {
  let i = 0;
  while (performance.now() < end) {
    const pubkey = keys[i++ % keys.length]!;
    const t0 = performance.now();
    const status = await post(pubkey, body(epoch++));
    const t1 = performance.now();
    if (t0 >= measureFrom && t1 <= end) {
      if (status === 200) latencies.push(t1 - t0);
      else errors++;
    }
  }
}

const groups = Array.from({ length: connections }, (_, c) => pubkeys.filter((_, k) => k % connections === c));
await Promise.all(groups.map(connection));
agent.destroy();

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(
  JSON.stringify({
    connections,
    signed: latencies.length,
    errors,
    perSecond: latencies.length / (durationMs / 1000),
    p50: pct(50),
    p99: pct(99),
    nextEpoch: epoch,
  }),
);
