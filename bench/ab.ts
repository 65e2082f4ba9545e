/**
 * `npm run bench:ab -- OLD NEW`: which of two builds costs the signer less CPU per request. OLD and
 * NEW are checkouts with a built dist/ and node_modules, for instance
 *
 *     git worktree add ../old REV && ln -s "$PWD/node_modules" ../old/node_modules && (cd ../old && node scripts/build.mjs)
 *
 * The VM's speed drifts by more between two runs than most changes are worth, so both signers run
 * at once on the same cores, each under its own load generator and on a database of its own, and
 * drift hits both alike; the order they start in alternates by pair. For each backend and load it
 * prints each pair, then the means; compare the HTTP thread and the signer total, not signed/s
 * (which of two busy processes the scheduler favours is noise). Asserts nothing.
 *
 * Environment: BENCH_BACKENDS (comma-separated, of sqlite, postgres, sqlite+cs as in bench/run.ts;
 * default sqlite), BENCH_MODES (comma-separated, of steady and burst; default steady), BENCH_PAIRS
 * (per backend and mode, default 4), BENCH_SECONDS (per pair, default 10), BENCH_CONNS
 * (connections per signer, default 50; in burst mode the keys signing at once), BENCH_KEYS
 * (default 200, at least BENCH_CONNS for burst), BENCH_PG_URL (the PostgreSQL server, default the
 * local test server).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serveArgs, spawnSigner, type SignerProcess } from "../test/helpers/signer.js";
import { BACKENDS, withBackend, type Backend } from "./backends.js";
import { connectionLimitArgs, LOAD_MODES, runLoad, writeLoadKeys, type LoadMode, type LoadResult } from "./load.js";

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function listFromEnv<T extends string>(name: string, allowed: readonly T[], fallback: T): T[] {
  const values = (process.env[name] ?? fallback).split(",").map((v) => v.trim());
  const isAllowed = (v: string): v is T => (allowed as readonly string[]).includes(v);
  const bad = values.filter((v) => !isAllowed(v));
  if (bad.length > 0) fail(`${name}: ${bad.join(", ")} is not one of ${allowed.join(", ")}`);
  return values.filter(isAllowed);
}

const [oldDir, newDir] = process.argv.slice(2).map((d) => resolve(d));
if (!oldDir || !newDir) fail("usage: npm run bench:ab -- OLD_CHECKOUT NEW_CHECKOUT (each with a built dist/)");
const backends = listFromEnv<Backend>("BENCH_BACKENDS", BACKENDS, "sqlite");
const modes = listFromEnv<LoadMode>("BENCH_MODES", LOAD_MODES, "steady");
const pairs = Number(process.env.BENCH_PAIRS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNS ?? 50);
const keyCount = Number(process.env.BENCH_KEYS ?? 200);
if (modes.includes("burst") && keyCount < connections) fail(`a burst of BENCH_CONNS=${connections} keys needs BENCH_KEYS of at least as many, got ${keyCount}`);

const builds = [
  { name: "old", entry: [join(oldDir, "dist/cli/main.js")] },
  { name: "new", entry: [join(newDir, "dist/cli/main.js")] },
];
const line = (name: string, r: LoadResult) =>
  `${name}  ${r.perSecond.toFixed(0).padStart(6)}/s  p99 ${r.p99.toFixed(1).padStart(6)} ms  signer ${String(Math.round(r.signerCpuUsPerRequest ?? NaN)).padStart(4)} us/request  threads ${r.signerThreadsUsPerRequest.join(" ")}`;
const httpUs = (r: LoadResult) => r.signerThreadsUsPerRequest[0] ?? NaN;
const signerUs = (r: LoadResult) => r.signerCpuUsPerRequest ?? NaN;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const dir = await mkdtemp(join(tmpdir(), "secure-signer-bench-ab-"));
try {
  const { dirs, pubkeyFile } = await writeLoadKeys(dir, keyCount);

  /** One pair: both builds at once on `backend` under `mode`, results in the order of `builds`. */
  const runPair = (backend: Backend, mode: LoadMode, pair: number): Promise<LoadResult[]> => {
    const order = pair % 2 === 0 ? builds : [...builds].reverse();
    return withBackend(backend, dir, (firstArgs) =>
      withBackend(backend, dir, async (secondArgs) => {
        const signers: SignerProcess[] = [];
        try {
          for (const [i, b] of order.entries()) {
            const data = join(dir, `data-${backend}-${mode}-${pair}-${b.name}`);
            const args = serveArgs(data, dirs, ...connectionLimitArgs(connections), ...(i === 0 ? firstArgs : secondArgs));
            signers.push(await spawnSigner(args, {}, undefined, b.entry));
          }
          const results = await Promise.all(
            signers.map((s) => runLoad({ url: s.url, connections, seconds, pubkeyFile, startEpoch: 1000, signerPid: s.child.pid!, mode })),
          );
          return builds.map((b) => results[order.indexOf(b)]!);
        } finally {
          for (const s of signers) s.child.kill("SIGTERM");
          await Promise.all(signers.map((s) => s.exited));
        }
      }),
    );
  };

  for (const backend of backends) {
    for (const mode of modes) {
      const load = mode === "burst" ? `bursts of ${connections} keys` : `${connections} connections`;
      console.log(`\n${backend}, ${load}: both builds at once, each on its own database, ${seconds} s per pair, ${keyCount} keys`);
      const results: LoadResult[][] = builds.map(() => []);
      for (let pair = 0; pair < pairs; pair++) {
        const pairResults = await runPair(backend, mode, pair);
        console.log(`pair ${pair + 1}`);
        builds.forEach((b, i) => {
          results[i]!.push(pairResults[i]!);
          console.log("  " + line(b.name, pairResults[i]!));
        });
      }
      console.log(`means over the pairs (us/request), ${backend}, ${load}:`);
      builds.forEach((b, i) => console.log(`  ${b.name}  HTTP thread ${mean(results[i]!.map(httpUs)).toFixed(1)}  signer ${mean(results[i]!.map(signerUs)).toFixed(1)}`));
      const [old, neu] = results as [LoadResult[], LoadResult[]];
      for (const [what, us] of [["HTTP thread", httpUs], ["signer", signerUs]] as const) {
        console.log(`  ${what}, new minus old, pair by pair: ${neu.map((r, i) => (us(r) - us(old[i]!)).toFixed(0)).join(", ")}`);
      }
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
