/**
 * `npm run bench`: raw BLS throughput, then signed ATTESTATIONs over HTTP with slashing protection
 * on, from a load generator in a second process: steady load over 10 and 100 connections, then
 * slot bursts of 256 and 1,024 keys (every key at once, one epoch above its last, as a validator
 * client asks at each slot). Prints figures; asserts nothing.
 *
 * Environment: BENCH_SECONDS (per measurement, default 10), BENCH_KEYS (default 200),
 * BENCH_PG_URL (PostgreSQL server to measure next to SQLite, and to hold the continuity store of
 * the "sqlite+cs" rows; default the local test server, "none" to skip both).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { serveArgs, spawnSigner } from "../test/helpers/signer.js";
import { BACKENDS, pgUrl, withBackend, type Backend } from "./backends.js";
import { connectionLimitArgs, runLoad, writeLoadKeys, type LoadResult } from "./load.js";
import { rawSignsPerSecond } from "./rawBls.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const keyCount = Number(process.env.BENCH_KEYS ?? 200);
const BURSTS = [256, 1024];

/**
 * Raw blst on all cores, measured again whenever asked for the figure next to a row. On a shared VM
 * the speed of the cores drifts by several percent within minutes, so each row is compared with the
 * mean of the raw figures taken just before and just after it (the signer idles meanwhile).
 */
class RawBaseline {
  readonly threads = availableParallelism();
  readonly all: number[] = [];

  async measure(): Promise<number> {
    const perSecond = await rawSignsPerSecond(seconds * 1000, this.threads);
    this.all.push(perSecond);
    return perSecond;
  }
}

interface Row extends LoadResult {
  rawAllCores: number;
}

async function measureHttp(
  label: string,
  dir: string,
  extraArgs: string[],
  pubkeys: { steady: string; burst: string },
  dirs: { keystoresDir: string; passwordsDir: string },
  raw: RawBaseline,
): Promise<Row[]> {
  // A burst holds one connection per key, more than the default --max-connections (512) allows.
  const limit = connectionLimitArgs(Math.max(...BURSTS));
  const signer = await spawnSigner(serveArgs(join(dir, `data-${label}`), dirs, ...limit, ...extraArgs));
  try {
    const rows: Row[] = [];
    let epoch = 1000;
    let rawBefore = raw.all.at(-1)!;
    const loads = [
      ...[10, 100].map((connections) => ({ connections, mode: "steady" as const, pubkeyFile: pubkeys.steady })),
      ...BURSTS.map((connections) => ({ connections, mode: "burst" as const, pubkeyFile: pubkeys.burst })),
    ];
    for (const load of loads) {
      const r = await runLoad({ ...load, url: signer.url, seconds, startEpoch: epoch, signerPid: signer.child.pid! });
      const rawAfter = await raw.measure();
      epoch = r.nextEpoch + 1;
      rows.push({ ...r, rawAllCores: (rawBefore + rawAfter) / 2 });
      rawBefore = rawAfter;
    }
    return rows;
  } finally {
    signer.child.kill("SIGTERM");
    await signer.exited;
  }
}

const dir = await mkdtemp(join(tmpdir(), "secure-signer-bench-"));
try {
  console.log(`secure-signer benchmark: ${seconds}s per measurement, ${keyCount} keys`);
  const raw = new RawBaseline();
  const perCore = await rawSignsPerSecond(seconds * 1000, 1);
  await raw.measure();
  console.log(`raw blst sign: ${perCore.toFixed(0)}/s on one thread, ${raw.all[0]!.toFixed(0)}/s on ${raw.threads} worker threads`);

  // The steady rows sign with the first BENCH_KEYS keys, as they did before the burst rows were added.
  const { dirs, pubkeyFile } = await writeLoadKeys(dir, Math.max(keyCount, ...BURSTS));
  const steady = join(dir, "steady-pubkeys.json");
  await writeFile(steady, JSON.stringify(dirs.keys.slice(0, keyCount).map((k) => k.pubkey)));
  const pubkeys = { steady, burst: pubkeyFile };

  // The continuity store's rows (sqlite+cs) need the PostgreSQL server too.
  const backends: readonly Backend[] = pgUrl === "none" ? ["sqlite"] : BACKENDS;
  const measured: Array<[string, Row]> = [];
  for (const label of backends) {
    for (const r of await withBackend(label, dir, (args) => measureHttp(label, dir, args, pubkeys, dirs, raw))) measured.push([label, r]);
  }
  console.log(`raw blst on ${raw.threads} worker threads, measured before, between and after the rows below: ${raw.all.map((r) => r.toFixed(0)).join(", ")} /s`);

  console.log("\nsigned ATTESTATIONs over HTTP, slashing protection on, load generator in a second process:");
  console.log("(signer at --log-level warn: the default, info, logs a line per request, about 2% of this throughput)");
  console.log("backend   load         signed/s   p50 ms   p99 ms   max ms   errors   raw/s   x raw   CPU us/request: signer + loadgen (raw: us/signature)");
  const loadOf = (r: LoadResult) => (r.mode === "burst" ? `burst ${r.connections}` : `${r.connections} conns`);
  const us = (v: number | null) => (v === null ? "?" : v.toFixed(0));
  for (const [label, r] of measured) {
    const rawUs = (raw.threads / r.rawAllCores) * 1e6;
    console.log(
      `${label.padEnd(9)} ${loadOf(r).padEnd(10)} ${r.perSecond.toFixed(0).padStart(10)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)} ${String(r.errors).padStart(8)} ${r.rawAllCores.toFixed(0).padStart(7)} ${(r.perSecond / r.rawAllCores).toFixed(2).padStart(7)}   ${us(r.signerCpuUsPerRequest).padStart(6)} + ${us(r.loadgenCpuUsPerRequest)} (${rawUs.toFixed(0)})`,
    );
  }
  console.log("\nsigner CPU us/request by thread: the main (HTTP) thread, then the others busiest first (BLS workers, the SQLite thread, V8 and libuv helpers)");
  for (const [label, r] of measured) console.log(`${label.padEnd(9)} ${loadOf(r).padEnd(10)}   ${r.signerThreadsUsPerRequest.join(" ")}`);
  console.log(
    `\n"raw/s" is the mean of the raw figures taken just before and just after the row. Where signer and load generator ` +
      `share the cores, "x raw" cannot exceed the raw us per signature divided by the CPU per request (signer + loadgen).`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
