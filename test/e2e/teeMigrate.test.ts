import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createBasePlatform } from "../../src/tee/index.js";
import { requestMigration, signAllowlist } from "../../src/tee/migration.js";
import { toHex } from "../../src/util/hex.js";
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

describe("tee migrate: the state key from a running build to its successor", () => {
  it("build B (allowlisted) gets A's state key and signs with A's keys; build C (not listed) is refused and nothing is written", async (t) => {
    const root = await tempDir(t, "migrate");
    const cpuSecretFile = join(root, "cpu-secret");
    const [a, b, c] = [0, 1, 2].map(() => toHex(randomBytes(32)));
    const allowlistFile = join(root, "allowlist.json");
    await writeFile(allowlistFile, JSON.stringify(signAllowlist([a!, b!], releaseSecret)));
    const build = (mrenclave: string, dataDir: string) => [
      "--data-dir", dataDir,
      "--platform", "simulated-sgx",
      "--simulated-sgx-cpu-secret-file", cpuSecretFile,
      "--simulated-sgx-mrenclave", mrenclave,
    ];
    const dirA = join(root, "a");
    const dirB = join(root, "b");
    const dirC = join(root, "c");

    const signerA = await spawnSigner([...build(a!, dirA), "--release-key", releaseKey, "--startup-floor-epochs", "off", "--log-level", "warn"]);
    t.after(() => void signerA.child.kill("SIGKILL"));
    const tokenFile = join(dirA, "api-token.txt");
    const auth = { authorization: `Bearer ${(await readFile(tokenFile, "utf8")).trim()}` };
    const keygen = await fetch(`${signerA.url}/eth/v1/keygen/bls`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ count: 2 }) });
    assert.equal(keygen.status, 200);
    const pubkeys = ((await keygen.json()) as { data: Array<{ pubkey: string }> }).data.map((k) => k.pubkey).sort();
    const signedByA = attestationBody(1, 2);
    assert.equal((await sign(signerA.url, pubkeys[0]!, signedByA)).status, 200);

    const migrate = (mrenclave: string, dataDir: string, ...extra: string[]) =>
      cli("tee", "migrate", ...build(mrenclave, dataDir), "--from", signerA.url, "--allowlist", allowlistFile, "--release-key", releaseKey, "--token-file", tokenFile, ...extra);

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
    const signerB = await spawnSigner([...build(b!, dirB), "--startup-floor-epochs", "off", "--log-level", "warn"]);
    t.after(() => void signerB.child.kill("SIGKILL"));
    const served = ((await (await fetch(`${signerB.url}/api/v1/eth2/publicKeys`)).json()) as string[]).sort();
    assert.deepEqual(served, pubkeys);
    const doubleVote = await sign(signerB.url, pubkeys[0]!, attestationBody(1, 2, 1));
    assert.equal(doubleVote.status, 412, "A's slashing record came along");
    for (const pubkey of pubkeys) {
      const body = attestationBody(2, 3);
      const signed = await sign(signerB.url, pubkey, body);
      assert.equal(signed.status, 200, signed.message);
      assert.ok(verifyReturned(pubkey, body, signed.signature!), "B signs with A's key");
    }
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
});
