import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { startSigner, type RunningSigner } from "../../src/app.js";
import { configuredApiTokenFile, loadConfig, type OptionName } from "../../src/config/config.js";
import { createLogger } from "../../src/log.js";
import { MAIN } from "./cli.js";
import { cheapKeystore, randomKey, tempDir, type TestKey } from "./keysFixtures.js";

export interface TestSigner {
  url: string;
  /** With --metrics-port: the metrics listener's address. */
  metricsUrl?: string;
  dataDir: string;
  /** The API token (`<data-dir>/api-token.txt`, or --keymanager-token-file). */
  apiToken: string;
  keys: TestKey[];
  /** Every log line the signer wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Writes `count` keystores (cheap KDF) in the Teku layout and returns the keys. */
export async function writeKeystores(dir: string, count: number): Promise<{ keystoresDir: string; passwordsDir: string; keys: TestKey[] }> {
  const keystoresDir = join(dir, "keystores");
  const passwordsDir = join(dir, "passwords");
  await mkdir(keystoresDir, { recursive: true });
  await mkdir(passwordsDir, { recursive: true });
  const keys: TestKey[] = [];
  for (let i = 0; i < count; i++) {
    const key = randomKey();
    const password = `password-${i}`;
    await writeFile(join(keystoresDir, `key-${i}.json`), JSON.stringify(await cheapKeystore(key, password)));
    await writeFile(join(passwordsDir, `key-${i}.txt`), password + "\n");
    keys.push(key);
  }
  return { keystoresDir, passwordsDir, keys };
}

type Flags = Partial<Record<OptionName, string | boolean>>;

/** A real signer in this process, listening on 127.0.0.1 on a free port, with `keyCount` keystores. */
export async function startTestSigner(
  t: { after(fn: () => Promise<void>): void },
  opts: {
    keyCount?: number;
    flags?: Flags;
    /** Runs after the keystores are written and before the signer starts, e.g. to break one. */
    prepare?: (dirs: { keystoresDir: string; passwordsDir: string }) => Promise<void>;
  } = {},
): Promise<TestSigner> {
  const dir = await tempDir(t, "signer");
  const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, opts.keyCount ?? 1);
  await opts.prepare?.({ keystoresDir, passwordsDir });
  const config = loadConfig(
    {
      "data-dir": join(dir, "data"),
      port: "0",
      "keystores-dir": keystoresDir,
      "keystores-passwords-dir": passwordsDir,
      // The tests sign for small epochs on mainnet, far below today's: the rollback guard has its own test.
      "startup-floor-epochs": "off",
      ...opts.flags,
    },
    {},
  );
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  let signer: RunningSigner | undefined = await startSigner(config, createLogger(config.logLevel, sink));
  const close = async () => {
    const s = signer;
    signer = undefined;
    await s?.close();
  };
  t.after(close);
  const apiToken = (await readFile(configuredApiTokenFile(config), "utf8")).trim();
  return { url: signer.url, ...(signer.metricsUrl && { metricsUrl: signer.metricsUrl }), dataDir: config.dataDir, apiToken, keys, logs, close };
}

export interface SignerProcess {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<number | string>;
  stdout: string[];
}

/**
 * `serve` flags for a test signer process: its data directory, the keystores, quiet logs, and the
 * rollback guard off (tests sign for small epochs, far below today's on mainnet).
 */
export function serveArgs(dataDir: string, dirs: { keystoresDir: string; passwordsDir: string }, ...extra: string[]): string[] {
  return [
    "--data-dir", dataDir,
    "--keystores-dir", dirs.keystoresDir,
    "--keystores-passwords-dir", dirs.passwordsDir,
    "--startup-floor-epochs", "off",
    "--log-level", "warn",
    ...extra,
  ];
}

/** A port that was free a moment ago, for a child process that must be told its port up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `secure-signer serve` as a separate process and waits until /upcheck answers: from
 * source through tsx, or `entry`, e.g. a build's dist/cli/main.js (bench/ab.ts compares two).
 * `whileStarting` is called with each piece of standard output written before it answers, and all of it so far.
 */
export async function spawnSigner(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  whileStarting?: (child: ChildProcess, url: string, output: string) => Promise<void> | void,
  entry: string[] = ["--import", "tsx", MAIN],
): Promise<SignerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...entry, "serve", "--port", String(port), ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  let exitCode: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve((exitCode = code ?? signal ?? -1))),
  );
  const url = `http://127.0.0.1:${port}`;
  let starting = true;
  const during: Promise<void>[] = [];
  if (whileStarting) child.stdout!.on("data", () => starting && during.push(Promise.resolve(whileStarting(child, url, stdout.join("")))));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`signer exited (${exitCode}) before listening: ${stderr}${stdout.join("")}`);
    try {
      if ((await fetch(`${url}/upcheck`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  starting = false;
  await Promise.all(during);
  return { url, child, exited, stdout };
}
