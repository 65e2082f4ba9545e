/**
 * `npm run soak`: a signer under full load for minutes, pruning every minute, with its resident
 * memory after each window. What a 10-second benchmark cannot show: memory that climbs for good
 * (a BLS worker that never let its event loop run kept ~0.6 KB per signature, 1.1 GB after four
 * minutes, while every benchmark figure looked right), or throughput that decays as the database
 * grows. Asserts nothing: a resident size that keeps climbing across prune intervals is the sign.
 *
 * Environment: SOAK_MINUTES (default 5), SOAK_WINDOW_SECONDS (default 30), BENCH_CONNS (default
 * 100), BENCH_KEYS (default 200), SOAK_SLASHING_DB (a postgres:// URL; default the data
 * directory's SQLite). Linux only (memory from /proc).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveArgs, spawnSigner } from "../test/helpers/signer.js";
import { runLoad, writeLoadKeys } from "./load.js";

const minutes = Number(process.env.SOAK_MINUTES ?? 5);
const windowSeconds = Number(process.env.SOAK_WINDOW_SECONDS ?? 30);
const connections = Number(process.env.BENCH_CONNS ?? 100);
const keyCount = Number(process.env.BENCH_KEYS ?? 200);
const slashingDb = process.env.SOAK_SLASHING_DB;

const residentMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

const dir = await mkdtemp(join(tmpdir(), "secure-signer-soak-"));
try {
  const { dirs, pubkeyFile } = await writeLoadKeys(dir, keyCount);
  const extra = ["--prune-interval-minutes", "1", ...(slashingDb ? ["--slashing-db", slashingDb] : [])];
  const signer = await spawnSigner(serveArgs(join(dir, "data"), dirs, ...extra));
  try {
    const pid = signer.child.pid!;
    const windows = Math.max(1, Math.round((minutes * 60) / (windowSeconds + 2)));
    console.log(`soak: ${windows} windows of ${windowSeconds} s (after 2 s of warm-up each), ${connections} connections, ${keyCount} keys, ${slashingDb ? "PostgreSQL" : "SQLite"}, pruning every minute`);
    console.log(`at start: ${residentMiB(pid).toFixed(0)} MiB resident`);
    console.log("window   signed/s   p99 ms   max ms   errors   resident MiB");
    let startEpoch = 1000;
    const resident: number[] = [];
    for (let w = 1; w <= windows; w++) {
      const r = await runLoad({ url: signer.url, connections, seconds: windowSeconds, pubkeyFile, startEpoch, signerPid: pid });
      startEpoch = r.nextEpoch;
      resident.push(residentMiB(pid));
      console.log(
        `${String(w).padStart(6)}   ${r.perSecond.toFixed(0).padStart(8)}   ${r.p99.toFixed(1).padStart(6)}   ${r.max.toFixed(1).padStart(6)}   ${String(r.errors).padStart(6)}   ${resident.at(-1)!.toFixed(0).padStart(12)}`,
      );
    }
    const half = Math.floor(resident.length / 2);
    if (half > 0) {
      const peak = (xs: number[]) => Math.max(...xs).toFixed(0);
      console.log(`\nresident peak, first half of the windows: ${peak(resident.slice(0, half))} MiB; second half: ${peak(resident.slice(half))} MiB`);
    }
  } finally {
    signer.child.kill("SIGTERM");
    await signer.exited;
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
