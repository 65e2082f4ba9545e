import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { tempDir } from "../helpers/keysFixtures.js";
import { serveArgs, spawnSigner, writeKeystores, type SignerProcess } from "../helpers/signer.js";
import { signingCases } from "../helpers/signingCases.js";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * What an operator without the checkout gets: `npm pack` here, then the tarball installed into an
 * empty directory the way the README says. The install resolves the dependencies from the npm
 * registry (through the local cache first, so a warm CI machine stays mostly offline) and builds
 * better-sqlite3 from source, so it does not depend on a prebuilt-binary download.
 */
describe("the npm package: packed, installed into an empty directory, run", () => {
  let tarball = "";
  let files: string[] = [];
  let installDir = "";
  const dirs: { dir: string } = { dir: "" };
  const cleanups: Array<() => Promise<void>> = [];
  const t = { after: (fn: () => Promise<void>) => cleanups.push(fn) };

  before(async () => {
    dirs.dir = await tempDir(t, "package");
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dirs.dir], { cwd: ROOT, maxBuffer: 1 << 24 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(dirs.dir, packed!.filename);
    files = packed!.files.map((f) => f.path);
    installDir = join(dirs.dir, "install");
    mkdirSync(installDir);
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], {
      cwd: installDir,
      env: { ...process.env, npm_config_build_from_source: "true", npm_config_update_notifier: "false" },
      maxBuffer: 1 << 24,
    });
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  it("holds the compiled CLI, every non-TypeScript asset of src/, the pinned tree and no sources", () => {
    for (const f of ["package.json", "README.md", "bin/secure-signer.js", "dist/cli/main.js", "dist/app.js", "npm-shrinkwrap.json"]) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    // SQL migrations, certificates and the like are read beside the compiled modules at run time.
    const assets = filesUnder(join(ROOT, "src")).filter((f) => !f.endsWith(".ts"));
    for (const a of assets) assert.ok(files.includes(`dist/${a}`), `src/${a} is shipped as dist/${a}`);
    assert.deepEqual(files.filter((f) => f.endsWith(".ts") || /^(src|test|bench|scripts)\//.test(f)), [], "no sources or tests");
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { private?: boolean };
    assert.equal(manifest.private, undefined, "publishable");
  });

  it("installs a secure-signer command that prints its version", async () => {
    const bin = join(installDir, "node_modules/.bin/secure-signer");
    const { stdout } = await run(bin, ["--version"]);
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal(stdout.trim(), version);
  });

  it("serves /upcheck on embedded defaults and signs every message type, verified with blst", async () => {
    const bin = join(installDir, "node_modules/.bin/secure-signer");
    const keystores = await writeKeystores(join(dirs.dir, "keys"), 1);
    // DEPOSIT is among the cases: signed over the API only when allowed, and for the API token.
    const signer: SignerProcess = await spawnSigner(serveArgs(join(dirs.dir, "data"), keystores, "--allow-deposit-signing"), {}, undefined, [bin]);
    const apiToken = readFileSync(join(dirs.dir, "data", "api-token.txt"), "utf8").trim();
    cleanups.push(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });
    const up = await fetch(`${signer.url}/upcheck`);
    assert.equal(up.status, 200);
    const key = keystores.keys[0]!;
    const cases = signingCases();
    for (const c of cases) {
      const res = await fetch(`${signer.url}/api/v1/eth2/sign/${key.pubkey}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          ...(c.type === "DEPOSIT" && { authorization: `Bearer ${apiToken}` }),
        },
        body: JSON.stringify(c.body),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `${c.name}: ${text}`);
      const sig = Signature.fromHex((JSON.parse(text) as { signature: string }).signature);
      assert.ok(verify(c.expectedRoot, PublicKey.fromBytes(key.pubkeyBytes), sig), `${c.name} verifies`);
    }
    assert.ok(cases.length >= 30, `signed ${cases.length} cases`);
  });
});
