import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createBasePlatform } from "../../src/tee/index.js";
import { requestMigration } from "../../src/tee/migration.js";
import { toBareHex, toHex } from "../../src/util/hex.js";
import { cli } from "../helpers/cli.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, sign, verifyReturned } from "../helpers/messages.js";
import { spawnSigner, type SignerProcess } from "../helpers/signer.js";

// An enclave upgrade with real processes on the simulated SGX platform: three builds (A, B, C) on
// one simulated CPU, each with its own MRENCLAVE, so none opens another's sealed state key.

const releaseSecret = ed25519.utils.randomSecretKey();
const releaseKey = toHex(ed25519.getPublicKey(releaseSecret));

async function stop(signer: SignerProcess): Promise<void> {
  signer.child.kill("SIGTERM");
  assert.equal(await signer.exited, 0);
}

/** The release tooling's allowlist of `measurements`, as `tee sign-allowlist` prints it, in `root`/allowlist.json. */
async function releaseAllowlist(root: string, measurements: string[]): Promise<string> {
  const secretFile = join(root, "release-secret.hex");
  await writeFile(secretFile, toBareHex(releaseSecret) + "\n", { mode: 0o600 });
  const pub = await cli("tee", "release-key", "--release-secret-key-file", secretFile);
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(pub.stdout.trim(), releaseKey, "tee release-key prints the public key of the seed in the file");
  const signed = await cli("tee", "sign-allowlist", "--release-secret-key-file", secretFile, ...measurements);
  assert.equal(signed.code, 0, signed.stderr);
  const file = join(root, "allowlist.json");
  await writeFile(file, signed.stdout);
  return file;
}

/** `serve` flags of one simulated build (MRENCLAVE) on the machine whose CPU secret is `cpuSecretFile`. */
const build = (cpuSecretFile: string, mrenclave: string, dataDir: string) => [
  "--data-dir", dataDir,
  "--platform", "simulated-sgx",
  "--simulated-sgx-cpu-secret-file", cpuSecretFile,
  "--simulated-sgx-mrenclave", mrenclave,
];

async function keygen(signer: SignerProcess, tokenFile: string): Promise<string[]> {
  const res = await fetch(`${signer.url}/eth/v1/keygen/bls`, {
    method: "POST",
    headers: { authorization: `Bearer ${(await readFile(tokenFile, "utf8")).trim()}`, "content-type": "application/json" },
    body: JSON.stringify({ count: 2 }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: Array<{ pubkey: string }> }).data.map((k) => k.pubkey).sort();
}

/** That `signer` serves exactly `pubkeys`, refuses A's attestation again, and signs a new one with each key. */
async function signsWithKeysOf(signer: SignerProcess, pubkeys: string[], source: number): Promise<void> {
  const served = ((await (await fetch(`${signer.url}/api/v1/eth2/publicKeys`)).json()) as string[]).sort();
  assert.deepEqual(served, pubkeys);
  const doubleVote = await sign(signer.url, pubkeys[0]!, attestationBody(1, 2, 1));
  assert.equal(doubleVote.status, 412, "A's slashing record came along");
  for (const pubkey of pubkeys) {
    const body = attestationBody(source, source + 1);
    const signed = await sign(signer.url, pubkey, body);
    assert.equal(signed.status, 200, signed.message);
    assert.ok(verifyReturned(pubkey, body, signed.signature!), "signed with A's key");
  }
}

describe("tee migrate: the state key from a running build to its successor", () => {
  it("build B (allowlisted) gets A's state key and signs with A's keys; build C (not listed) is refused and nothing is written", async (t) => {
    const root = await tempDir(t, "migrate");
    const cpuSecretFile = join(root, "cpu-secret");
    const [a, b, c] = [0, 1, 2].map(() => toHex(randomBytes(32)));
    const allowlistFile = await releaseAllowlist(root, [a!, b!]);
    const simulated = (mrenclave: string, dataDir: string) => build(cpuSecretFile, mrenclave, dataDir);
    const dirA = join(root, "a");
    const dirB = join(root, "b");
    const dirC = join(root, "c");

    const signerA = await spawnSigner([...simulated(a!, dirA), "--release-key", releaseKey, "--startup-floor-epochs", "off", "--log-level", "warn"]);
    t.after(() => void signerA.child.kill("SIGKILL"));
    const tokenFile = join(dirA, "api-token.txt");
    const auth = { authorization: `Bearer ${(await readFile(tokenFile, "utf8")).trim()}` };
    const pubkeys = await keygen(signerA, tokenFile);
    const signedByA = attestationBody(1, 2);
    assert.equal((await sign(signerA.url, pubkeys[0]!, signedByA)).status, 200);

    const migrate = (mrenclave: string, dataDir: string, ...extra: string[]) =>
      cli("tee", "migrate", ...simulated(mrenclave, dataDir), "--from", signerA.url, "--allowlist", allowlistFile, "--release-key", releaseKey, "--token-file", tokenFile, ...extra);

    // C is not on the list: the command says so and leaves no trace in its data directory.
    const refused = await migrate(c!, dirC);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`NOT_ALLOWLISTED: this build's measurement ${c!.slice(2)} is not on the release allowlist`));
    assert.equal(existsSync(dirC), false, "nothing written for C");
    // A refuses C itself too, whatever C's command line checks: its request straight to A's endpoint.
    const asC = await requestMigration(await createBasePlatform("simulated-sgx", { dataDir: dirC, simulatedSgx: { cpuSecretFile, mrenclave: c! } }));
    const post = (body: unknown, headers: Record<string, string> = auth) =>
      fetch(`${signerA.url}/tee/v1/state-migration`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
    const allowlist = JSON.parse(await readFile(allowlistFile, "utf8")) as unknown;
    const byC = await post({ request: asC.request, allowlist });
    assert.equal(byC.status, 403);
    assert.match(((await byC.json()) as { message: string }).message, new RegExp(`successor's measurement ${c!.slice(2)} is not on the release allowlist`));
    assert.equal((await post({ request: asC.request, allowlist }, {})).status, 401, "the API token is needed");
    assert.equal(existsSync(dirC), false);

    // B is: it gets the key, sealed under its own build.
    const done = await migrate(b!, dirB);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, new RegExp(`from ${signerA.url} \\(measurement ${a!.slice(2)}\\)`));
    assert.deepEqual(await readdir(dirB), ["state-key.sealed"]);
    const again = await migrate(b!, dirB);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds a state master key/);

    // The upgrade: A stops, its data directory (sealed keys, slashing database) moves to B, beside B's state key.
    await stop(signerA);
    await cp(dirA, dirB, { recursive: true, filter: (src) => src !== join(dirA, "state-key.sealed") });
    const signerB = await spawnSigner([...simulated(b!, dirB), "--startup-floor-epochs", "off", "--log-level", "warn"]);
    t.after(() => void signerB.child.kill("SIGKILL"));
    await signsWithKeysOf(signerB, pubkeys, 2);
    // B was started without --release-key: it hands the key on to nobody.
    const asked = await fetch(`${signerB.url}/tee/v1/state-migration`, {
      method: "POST",
      headers: { authorization: `Bearer ${(await readFile(join(dirB, "api-token.txt"), "utf8")).trim()}`, "content-type": "application/json" },
      body: JSON.stringify({ request: asC.request, allowlist }),
    });
    assert.equal(asked.status, 403);
    assert.match(((await asked.json()) as { message: string }).message, /started without --release-key/);
    await stop(signerB);
  });

  it("serve --migrate-from: a build fixed to serve takes A's data directory over once A stops, restarts without A; build C is refused and writes no state key", async (t) => {
    // The Gramine layout: one data directory, each build's own state key file outside it.
    const root = await tempDir(t, "serve-migrate");
    const cpuSecretFile = join(root, "cpu-secret");
    const [a, b, c] = [0, 1, 2].map(() => toHex(randomBytes(32)));
    const allowlistFile = await releaseAllowlist(root, [a!, b!]);
    const dataDir = join(root, "data");
    const stateKeyOf = (name: string) => join(root, `sealed-${name}`, "state-key.sealed");
    const asBuild = (mrenclave: string, name: string, ...extra: string[]) => [
      ...build(cpuSecretFile, mrenclave, dataDir),
      "--state-key-file", stateKeyOf(name),
      "--startup-floor-epochs", "off",
      ...extra,
    ];
    const signerA = await spawnSigner(asBuild(a!, "a", "--release-key", releaseKey, "--log-level", "warn"));
    t.after(() => void signerA.child.kill("SIGKILL"));
    const tokenFile = join(dataDir, "api-token.txt");
    const pubkeys = await keygen(signerA, tokenFile);
    assert.equal((await sign(signerA.url, pubkeys[0]!, attestationBody(1, 2))).status, 200);
    // The migration settings as a Gramine build has them: in its config file.
    const config = join(root, "migration.yaml");
    await writeFile(
      config,
      [`migrate-from: ${signerA.url}`, `migration-allowlist: ${allowlistFile}`, `migration-token-file: ${tokenFile}`, `release-key: "${releaseKey}"`].join("\n") + "\n",
    );

    // C is not on the list: serve exits with the refusal, without a state key or anything else of its own.
    const refused = await cli("serve", "--port", "0", ...asBuild(c!, "c", "--config", config));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`error: NOT_ALLOWLISTED: this build's measurement ${c!.slice(2)} is not on the release allowlist`));
    assert.equal(existsSync(stateKeyOf("c")), false, "no fresh state key for C");
    // Nor with the state key file in the data directory, which serve could not take over in place.
    const inside = await cli("serve", "--port", "0", ...build(cpuSecretFile, b!, join(root, "elsewhere")), "--config", config);
    assert.equal(inside.code, 1);
    assert.match(inside.stderr, /--migrate-from takes the predecessor's data directory over in place: give --state-key-file outside --data-dir/);
    assert.equal(existsSync(join(root, "elsewhere")), false);

    // B is: it gets the key, says so, and waits for A to stop before it opens the data directory.
    let stopped: Promise<void> | undefined;
    let waited: Record<string, unknown> | undefined;
    const signerB = await spawnSigner(asBuild(b!, "b", "--config", config, "--log-level", "warn"), {}, (_child, _url, output) => {
      // Whole lines only: a chunk may end inside one.
      waited ??= output
        .split("\n")
        .slice(0, -1)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => String(line.msg).startsWith("state master key migrated from the predecessor: stop it now"));
      if (waited && !stopped) {
        assert.equal(existsSync(stateKeyOf("b")), true, "B's own state key, installed before A stops");
        stopped = stop(signerA);
      }
    });
    t.after(() => void signerB.child.kill("SIGKILL"));
    assert.ok(stopped, "B waited for A to stop");
    await stopped;
    assert.equal(waited?.predecessor, a!.slice(2));
    assert.equal(waited?.measurement, b!.slice(2));
    await signsWithKeysOf(signerB, pubkeys, 2);
    await stop(signerB);

    // A restart with the same config: A is gone, the key is there, the migration settings are ignored.
    const restarted = await spawnSigner(asBuild(b!, "b", "--config", config, "--log-level", "info"));
    t.after(() => void restarted.child.kill("SIGKILL"));
    assert.match(restarted.stdout.join(""), /the state key file exists: the migration settings \(--migrate-from …\) are ignored/);
    await signsWithKeysOf(restarted, pubkeys, 3);
    await stop(restarted);
  });
});
