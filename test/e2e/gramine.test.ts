import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { API_TOKEN_PURPOSE } from "../../src/api/apiTokenEnvelope.js";
import { TransportKey } from "../../src/keys/transport.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { cheapKeystore, randomKey, tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, sign } from "../helpers/messages.js";
import { freePort } from "../helpers/signer.js";

const run = promisify(execFile);
const GRAMINE = "/opt/gramine";
const REPO = new URL("../..", import.meta.url).pathname;
const installed = existsSync(join(GRAMINE, "bin", "gramine-direct"));
// Under CI the test must run: a missing Gramine there is a failure, not a skip.
const skip = !installed && process.env.CI !== "true" ? "Gramine is not installed (run ../shared/gramine/install.sh; under CI=true this test fails instead)" : false;
const BLS_THREADS = 2;

/** The environment Gramine's tools need (its README: env.sh puts these on PATH and PYTHONPATH). */
async function gramineEnv(): Promise<NodeJS.ProcessEnv> {
  const site = (await readdir(join(GRAMINE, "lib"))).filter((d) => d.startsWith("python3")).map((d) => join(GRAMINE, "lib", d, "site-packages"));
  return { ...process.env, PATH: `${GRAMINE}/bin:${process.env.PATH}`, PYTHONPATH: site.join(":") };
}

/**
 * What an operator deploys: the compiled signer, its package.json, a config file (with the
 * operator's key, to which the enclave encrypts its API token); node_modules is mounted beside.
 */
async function appDir(dir: string, port: number, operatorKey: string): Promise<string> {
  const app = join(dir, "app");
  await mkdir(join(app, "config"), { recursive: true });
  await cp(join(REPO, "bin"), join(app, "bin"), { recursive: true });
  await cp(join(REPO, "package.json"), join(app, "package.json"));
  await run(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json"), "--outDir", join(app, "dist")]);
  // As scripts/build.mjs: the files tsc does not emit (.sql migrations …) beside the compiled modules.
  await cp(join(REPO, "src"), join(app, "dist"), { recursive: true, filter: (source) => !source.endsWith(".ts") });
  // A keystore directory inside the app folder, neither trusted nor allowed: the enclave must refuse to read it.
  const dirKey = randomKey();
  await mkdir(join(app, "keystores"));
  await mkdir(join(app, "passwords"));
  await writeFile(join(app, "keystores", "planted.json"), JSON.stringify(await cheapKeystore(dirKey, "pw")));
  await writeFile(join(app, "passwords", "planted.txt"), "pw");
  await writeFile(
    join(app, "config", "secure-signer.json"),
    JSON.stringify({
      port,
      "startup-floor-epochs": "off",
      "log-level": "warn",
      "api-token-recipient": operatorKey,
      "api-token-envelope": "/sealed/api-token.envelope",
      "keystores-dir": "/app/keystores",
      "keystores-passwords-dir": "/app/passwords",
    }),
  );
  return app;
}

async function make(target: string[], vars: Record<string, string>): Promise<void> {
  await run("make", ["-C", join(REPO, "deploy/gramine"), ...target, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)], { env: await gramineEnv(), maxBuffer: 1 << 26 });
}

interface Enclave {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | string>;
}

async function startEnclave(buildDir: string, url: string): Promise<Enclave> {
  const child = spawn(join(GRAMINE, "bin", "gramine-direct"), ["./secure-signer"], { cwd: buildDir, env: await gramineEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString("utf8")));
  let ended: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve((ended = code ?? signal ?? -1))));
  for (;;) {
    if (ended !== undefined) throw new Error(`the enclave exited (${ended}) before listening:\n${out}`);
    try {
      if ((await fetch(`${url}/upcheck`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, output: () => out, exited };
}

async function stop(enclave: Enclave): Promise<void> {
  enclave.child.kill("SIGTERM");
  await enclave.exited;
}

describe("the signer under Gramine", { skip }, () => {
  // One compiled app for both tests (the build is most of their time); each renders its own manifest.
  let shared: string;
  let app: string;
  let port: number;
  let operator: TransportKey;
  before(async () => {
    shared = await mkdtemp(join(tmpdir(), "secure-signer-gramine-"));
    port = await freePort();
    operator = await TransportKey.open(await createDevPlatform(join(shared, "operator")), join(shared, "operator"));
    app = await appDir(shared, port, operator.publicKeyHex);
  });
  after(() => rm(shared, { recursive: true, force: true }));

  it("renders, schema-checks and signs the SGX manifest sized from --bls-threads, with no insecure option", async (t) => {
    const dir = await tempDir(t, "gramine-sgx");
    const key = join(dir, "enclave-key.pem");
    await run(join(GRAMINE, "bin", "gramine-sgx-gen-private-key"), [key], { env: await gramineEnv() });
    await make([], { BUILD_DIR: dir, APP_DIR: app, NODE_MODULES: join(REPO, "node_modules"), BLS_THREADS: String(BLS_THREADS), SGX_SIGNER_KEY: key });
    const manifest = await readFile(join(dir, "secure-signer.manifest"), "utf8");
    assert.doesNotMatch(manifest, /insecure__/);
    assert.match(manifest, /enclave_size = "8192M"/);
    // 15 fixed + 2 BLS workers + 16 decryption workers (8192 MB / 512).
    assert.match(manifest, /max_threads = 33\b/);
    assert.match(manifest, /type = "encrypted"\npath = "\/data"|path = "\/data"[^\n]*type = "encrypted"|\{[^}]*type = "encrypted"[^}]*path = "\/data"/);
    // The host's library directory contributes its two C++ runtime files, nothing else; no devDependency is trusted.
    const hostLibs = [...manifest.matchAll(/uri = "file:(\/lib\/x86_64-linux-gnu\/[^"]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual(hostLibs, ["/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/x86_64-linux-gnu/libstdc++.so.6"]);
    assert.doesNotMatch(manifest, /node_modules\/(typescript|tsx|fast-check)\//);
    // Each trusted file once (the old template hashed every file of whole directories twice).
    const trusted = [...manifest.matchAll(/uri = "(file:[^"]+)"\nsha256 = /g)].map((m) => m[1]);
    assert.ok(trusted.length > 100, `${trusted.length} hashed files: node_modules is trusted file by file`);
    assert.equal(new Set(trusted).size, trusted.length, "a trusted file is listed twice");
    assert.match(manifest, /node_modules\/@chainsafe\/blst\//);
    const view = await run(join(GRAMINE, "bin", "gramine-sgx-sigstruct-view"), [join(dir, "secure-signer.sig")], { env: await gramineEnv() });
    assert.match(view.stdout, /mr_enclave:\s*[0-9a-f]{64}/);
  });

  it("runs under gramine-direct: keys sealed into the encrypted mount sign, across a restart; the host reads nothing; unlisted files are refused", async (t) => {
    const dir = await tempDir(t, "gramine-direct");
    const url = `http://127.0.0.1:${port}`;
    const standin = join(dir, "standin-attestation");
    await mkdir(join(standin, "keys"), { recursive: true });
    await writeFile(join(standin, "attestation_type"), "dcap");
    await writeFile(join(standin, "keys", "_sgx_mrenclave"), new Uint8Array(16).map(() => Math.floor(Math.random() * 256)));
    const data = join(dir, "data");
    const sealed = join(dir, "sealed");
    await mkdir(data);
    await mkdir(sealed);
    await make(["direct"], { BUILD_DIR: dir, APP_DIR: app, NODE_MODULES: join(REPO, "node_modules"), DATA_DIR: data, SEALED_DIR: sealed, STANDIN_DIR: standin, BLS_THREADS: String(BLS_THREADS) });

    let enclave = await startEnclave(dir, url);
    t.after(() => (enclave.child.exitCode === null ? stop(enclave) : undefined));
    const token = new TextDecoder().decode(operator.decrypt(await readFile(join(sealed, "api-token.envelope"), "utf8"), API_TOKEN_PURPOSE));
    const key = randomKey();
    const imported = await fetch(`${url}/eth/v1/keystores`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ keystores: [JSON.stringify(await cheapKeystore(key, "secret"))], passwords: ["secret"] }),
    });
    assert.equal(imported.status, 200, await imported.text());
    const first = await sign(url, key.pubkey, attestationBody(10, 11));
    assert.equal(first.status, 200, first.message);
    assert.match(first.signature ?? "", /^0x[0-9a-f]{192}$/);

    // The keystore directory outside the trusted and allowed files was refused by Gramine, not read.
    assert.match(enclave.output(), /planted\.json[^\n]*(EACCES|permission denied)/i);
    await stop(enclave);

    // On the host: Gramine's encrypted files, with neither the token nor the sealed key's own format readable.
    const hostToken = await readFile(join(data, "api-token.txt"));
    assert.equal(hostToken.subarray(0, 8).toString("latin1"), "GRAFS_PF");
    assert.ok(!hostToken.toString("latin1").includes(token));
    const keyFile = await readFile(join(data, "keys", `${key.pubkey}.sealed`));
    assert.equal(keyFile.subarray(0, 8).toString("latin1"), "GRAFS_PF");
    assert.equal((await readFile(join(data, "slashing-protection.sqlite"))).subarray(0, 8).toString("latin1"), "GRAFS_PF");

    enclave = await startEnclave(dir, url);
    const again = await sign(url, key.pubkey, attestationBody(11, 12));
    assert.equal(again.status, 200, again.message);
    // The slashing record made before the restart is still there, inside the encrypted mount.
    assert.equal((await sign(url, key.pubkey, attestationBody(10, 11, 1))).status, 412);
    await stop(enclave);
  });
});
