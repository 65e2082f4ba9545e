/** Runs bench/loadgen.ts in its own process against a signer and reads its figures. */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeKeystores } from "../test/helpers/signer.js";

/** "burst": one key per connection, all signing at once, round after round (see loadgen.ts). */
export const LOAD_MODES = ["steady", "burst"] as const;
export type LoadMode = (typeof LOAD_MODES)[number];

export interface LoadResult {
  connections: number;
  mode: LoadMode;
  signed: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** The slowest request: a WAL checkpoint or a GC pause shows here before it shows in p99. */
  max: number;
  nextEpoch: number;
  signerCpuUsPerRequest: number | null;
  loadgenCpuUsPerRequest: number | null;
  /** The signer's main (HTTP) thread first, then its other threads, busiest first. */
  signerThreadsUsPerRequest: number[];
}

export interface Load {
  url: string;
  connections: number;
  /** Measured seconds, after 2 s of warm-up. */
  seconds: number;
  /** JSON array of the signer's public keys, at least one per connection. */
  pubkeyFile: string;
  startEpoch: number;
  signerPid: number;
  mode?: LoadMode;
}

/** The signer's default --max-connections. */
const DEFAULT_MAX_CONNECTIONS = 512;
/**
 * Serve flags for a signer under `connections`: its --max-connections, with room for the keep-alive
 * connection that spawnSigner's readiness check leaves open for a few seconds (at the default 512,
 * or at exactly `connections`, the signer closes what it accepts beyond, mid-request). A load the
 * default holds passes no flag, so that a build from before the flag can be bench:ab's OLD.
 */
export const connectionLimitArgs = (connections: number): string[] =>
  connections + 8 <= DEFAULT_MAX_CONNECTIONS ? [] : ["--max-connections", String(connections + 8)];

export function runLoad(load: Load): Promise<LoadResult> {
  const script = new URL("./loadgen.ts", import.meta.url).pathname;
  const args = [
    "--import", "tsx", script, load.url, String(load.connections), String(load.seconds * 1000), "2000",
    load.pubkeyFile, String(load.startEpoch), String(load.signerPid), load.mode ?? "steady",
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim()) as LoadResult) : reject(new Error(`loadgen exited ${code}`))));
  });
}

/** Keystores for `count` keys in `dir`, and the file listing their public keys that runLoad takes. */
export async function writeLoadKeys(dir: string, count: number): Promise<{ dirs: Awaited<ReturnType<typeof writeKeystores>>; pubkeyFile: string }> {
  const dirs = await writeKeystores(dir, count);
  const pubkeyFile = join(dir, "pubkeys.json");
  await writeFile(pubkeyFile, JSON.stringify(dirs.keys.map((k) => k.pubkey)));
  return { dirs, pubkeyFile };
}
