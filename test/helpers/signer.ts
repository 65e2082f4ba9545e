import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { startSigner, type RunningSigner } from "../../src/app.js";
import { loadConfig, type OptionName } from "../../src/config/config.js";
import { createLogger } from "../../src/log.js";
import { cheapKeystore, randomKey, tempDir, type TestKey } from "./keysFixtures.js";

export interface TestSigner {
  url: string;
  dataDir: string;
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
  opts: { keyCount?: number; flags?: Flags } = {},
): Promise<TestSigner> {
  const dir = await tempDir(t, "signer");
  const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, opts.keyCount ?? 1);
  const config = loadConfig(
    {
      "data-dir": join(dir, "data"),
      port: "0",
      "keystores-dir": keystoresDir,
      "keystores-passwords-dir": passwordsDir,
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
  return { url: signer.url, dataDir: config.dataDir, keys, logs, close };
}

export interface SignerProcess {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<number | string>;
  stdout: string[];
}

/** Starts `secure-signer serve` as a separate process (tsx from source) and waits until it listens. */
export async function spawnSigner(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SignerProcess> {
  const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", main, "serve", "--port", "0", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        stdout.push(line);
        try {
          const rec = JSON.parse(line) as { msg?: string; url?: string };
          if (rec.msg === "secure-signer listening" && rec.url) resolve(rec.url);
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    void exited.then((code) => reject(new Error(`signer exited (${code}) before listening: ${stderr}${stdout.join("\n")}`)));
  });
  return { url, child, exited, stdout };
}
