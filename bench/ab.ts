/**
 * `npm run bench:ab -- OLD NEW`: which of two builds costs the signer less CPU per request. OLD and
 * NEW are checkouts with a built dist/ and node_modules (for instance `git worktree add ../old REV`,
 * a node_modules symlink, `npx tsc -p tsconfig.build.json`). The VM's speed drifts by more between
 * two runs than most changes are worth, so both signers run at once on the same cores, each under
 * its own load generator, and drift hits both alike; the order they start in alternates by pair.
 * Prints each pair, then the means; compare the HTTP thread and the signer total, not signed/s
 * (which of two busy processes the scheduler favours is noise). Asserts nothing.
 *
 * Environment: BENCH_PAIRS (default 4), BENCH_SECONDS (per pair, default 10), BENCH_CONNS
 * (connections per signer, default 50), BENCH_KEYS (default 200).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serveArgs, spawnSigner, type SignerProcess } from "../test/helpers/signer.js";
import { runLoad, writeLoadKeys, type LoadResult } from "./load.js";

const [oldDir, newDir] = process.argv.slice(2).map((d) => resolve(d));
if (!oldDir || !newDir) {
  console.error("usage: npm run bench:ab -- OLD_CHECKOUT NEW_CHECKOUT (each with a built dist/)");
  process.exit(2);
}
const pairs = Number(process.env.BENCH_PAIRS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNS ?? 50);
const keyCount = Number(process.env.BENCH_KEYS ?? 200);

const builds = [
  { name: "old", entry: [join(oldDir, "dist/cli/main.js")], results: [] as LoadResult[] },
  { name: "new", entry: [join(newDir, "dist/cli/main.js")], results: [] as LoadResult[] },
];
const dir = await mkdtemp(join(tmpdir(), "secure-signer-bench-ab-"));
try {
  const { dirs, pubkeyFile } = await writeLoadKeys(dir, keyCount);
  const line = (name: string, r: LoadResult) =>
    `${name}  ${r.perSecond.toFixed(0).padStart(6)}/s  p99 ${r.p99.toFixed(1).padStart(6)} ms  signer ${String(Math.round(r.signerCpuUsPerRequest ?? NaN)).padStart(4)} us/request  threads ${r.signerThreadsUsPerRequest.join(" ")}`;
  console.log(`both builds at once, ${connections} connections each, ${seconds} s per pair, ${keyCount} keys`);
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 === 0 ? builds : [...builds].reverse();
    const signers: SignerProcess[] = [];
    try {
      for (const b of order) signers.push(await spawnSigner(serveArgs(join(dir, `data-${pair}-${b.name}`), dirs), {}, undefined, b.entry));
      const results = await Promise.all(
        signers.map((s) => runLoad({ url: s.url, connections, seconds, pubkeyFile, startEpoch: 1000, signerPid: s.child.pid! })),
      );
      order.forEach((b, i) => b.results.push(results[i]!));
      console.log(`pair ${pair + 1}`);
      for (const b of builds) console.log("  " + line(b.name, b.results.at(-1)!));
    } finally {
      for (const s of signers) s.child.kill("SIGTERM");
      await Promise.all(signers.map((s) => s.exited));
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log("\nmeans over the pairs (us/request):");
  for (const b of builds) {
    const http = mean(b.results.map((r) => r.signerThreadsUsPerRequest[0] ?? NaN));
    const total = mean(b.results.map((r) => r.signerCpuUsPerRequest ?? NaN));
    console.log(`  ${b.name}  HTTP thread ${http.toFixed(1)}  signer ${total.toFixed(1)}`);
  }
  const diffs = builds[1]!.results.map((r, i) => (r.signerThreadsUsPerRequest[0] ?? NaN) - (builds[0]!.results[i]!.signerThreadsUsPerRequest[0] ?? NaN));
  console.log(`  HTTP thread, new minus old, pair by pair: ${diffs.map((d) => d.toFixed(0)).join(", ")}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
