import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { tempDir, type TestKey } from "../helpers/keysFixtures.js";
import { sign } from "../helpers/messages.js";
import { serveArgs, spawnSigner, startTestSigner, writeKeystores } from "../helpers/signer.js";
import { signingCases } from "../helpers/signingCases.js";

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function verifies(key: TestKey, root: Uint8Array, signature: string | undefined): boolean {
  assert.match(signature ?? "", /^0x[0-9a-f]{192}$/);
  return verify(root, PublicKey.fromBytes(key.pubkeyBytes), Signature.fromBytes(Buffer.from(signature!.slice(2), "hex")));
}

/** A request with a Host header of our choosing (fetch would not send it). */
function signWithHost(url: string, pubkey: string, body: unknown, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/v1/eth2/sign/${pubkey}`,
      { method: "POST", headers: { host, "content-type": "application/json", accept: "application/json" } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** The log reaches the test's sink asynchronously: waits until `probe` holds. */
async function until(probe: () => boolean): Promise<void> {
  for (let i = 0; !probe(); i++) {
    if (i > 500) throw new Error("the expected log lines did not come");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const signLines = (logs: Array<Record<string, unknown>>, type: string) => logs.filter((l) => l.msg === "sign" && l.type === type);

describe("who may ask for what: the signing API", () => {
  const deposit = signingCases().find((c) => c.type === "DEPOSIT")!;
  const exit = signingCases().find((c) => c.type === "VOLUNTARY_EXIT")!;

  it("refuses DEPOSIT by default, with or without the API token, and signs nothing", async (t) => {
    const signer = await startTestSigner(t);
    const key = signer.keys[0]!;
    for (const headers of [{}, bearer(signer.apiToken)]) {
      const res = await sign(signer.url, key.pubkey, deposit.body, headers);
      assert.equal(res.status, 403, res.message);
      assert.equal(res.signature, undefined);
      assert.match(res.message!, /--allow-deposit-signing/);
    }
    // Lower case names the same type (Web3Signer reads enums case-insensitively): the gate must not depend on spelling.
    const lower = await sign(signer.url, key.pubkey, { ...deposit.body, type: "deposit" });
    assert.ok(lower.status === 403 || lower.status === 400, `lower-case deposit: ${lower.status}`);
    assert.equal(lower.signature, undefined);
    assert.deepEqual(signLines(signer.logs, "DEPOSIT"), [], "no sign decision was even attempted");
    // The duties a validator client sends still need no token.
    const signed = await sign(signer.url, key.pubkey, exit.body);
    assert.equal(signed.status, 200, signed.message);
    assert.ok(verifies(key, exit.expectedRoot, signed.signature));
  });

  it("with --allow-deposit-signing, signs DEPOSIT for the API token only", async (t) => {
    const signer = await startTestSigner(t, { flags: { "allow-deposit-signing": true } });
    const key = signer.keys[0]!;
    const missing = await sign(signer.url, key.pubkey, deposit.body);
    assert.equal(missing.status, 401, missing.message);
    assert.equal(missing.signature, undefined);
    const wrong = await sign(signer.url, key.pubkey, deposit.body, bearer("not-the-api-token-at-all"));
    assert.equal(wrong.status, 403, wrong.message);
    assert.equal(wrong.signature, undefined);
    assert.deepEqual(signLines(signer.logs, "DEPOSIT"), []);
    const signed = await sign(signer.url, key.pubkey, deposit.body, bearer(signer.apiToken));
    assert.equal(signed.status, 200, signed.message);
    assert.ok(verifies(key, deposit.expectedRoot, signed.signature), "the deposit signature verifies against the independently computed root");
    await until(() => signLines(signer.logs, "DEPOSIT").length === 1); // what the empty list above would have held
  });

  it("refuses a Host outside the default allowlist (DNS rebinding), accepts localhost and 127.0.0.1", async (t) => {
    const signer = await startTestSigner(t);
    const key = signer.keys[0]!;
    const port = new URL(signer.url).port;
    const evil = await signWithHost(signer.url, key.pubkey, exit.body, `evil.example:${port}`);
    assert.equal(evil.status, 403, evil.body);
    assert.doesNotMatch(evil.body, /signature/);
    assert.match(evil.body, /evil\.example/);
    assert.deepEqual(signLines(signer.logs, "VOLUNTARY_EXIT"), []);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const ok = await signWithHost(signer.url, key.pubkey, exit.body, host);
      assert.equal(ok.status, 200, `${host}: ${ok.body}`);
    }
    await until(() => signLines(signer.logs, "VOLUNTARY_EXIT").length === 2);
  });

  it("accepts any Host when the allowlist says * explicitly", async (t) => {
    const signer = await startTestSigner(t, { flags: { "host-allowlist": "*" } });
    const res = await signWithHost(signer.url, signer.keys[0]!.pubkey, exit.body, "evil.example");
    assert.equal(res.status, 200, res.body);
  });

  it("with --signing-token-file, the signing API needs that token (or the API token), which grants nothing else", async (t) => {
    const dir = await tempDir(t, "signing-token");
    const tokenFile = join(dir, "signing-token.txt");
    const signer = await startTestSigner(t, { flags: { "signing-token-file": tokenFile } });
    const signingToken = (await readFile(tokenFile, "utf8")).trim();
    assert.ok(signingToken.length >= 32, "a random token was created");
    const key = signer.keys[0]!;

    const none = await sign(signer.url, key.pubkey, exit.body);
    assert.equal(none.status, 401, none.message);
    assert.equal(none.signature, undefined);
    assert.equal((await sign(signer.url, key.pubkey, exit.body, bearer("some-other-token-entirely"))).status, 403);
    assert.equal((await fetch(`${signer.url}/api/v1/eth2/publicKeys`)).status, 401);
    for (const token of [signingToken, signer.apiToken]) {
      const res = await sign(signer.url, key.pubkey, exit.body, bearer(token));
      assert.equal(res.status, 200, res.message);
      assert.ok(verifies(key, exit.expectedRoot, res.signature));
    }
    const listed = await fetch(`${signer.url}/api/v1/eth2/publicKeys`, { headers: bearer(signingToken) });
    assert.deepEqual(await listed.json(), [key.pubkey]);

    // A validator client's token changes no keys and no state.
    assert.equal((await fetch(`${signer.url}/eth/v1/keystores`, { headers: bearer(signingToken) })).status, 403);
    assert.equal((await fetch(`${signer.url}/reload`, { method: "POST", headers: bearer(signingToken) })).status, 403);
    assert.equal((await sign(signer.url, key.pubkey, deposit.body, bearer(signingToken))).status, 403);
    // Health stays open to load balancers.
    assert.equal((await fetch(`${signer.url}/upcheck`)).status, 200);
  });
});

describe("who may ask for what: the API token file", () => {
  const scratch = (t: { after(fn: () => Promise<void>): void }) => tempDir(t, "token-file");

  it("--keymanager-token-file holds the API token: the operator's token is used, none is made in the data dir", async (t) => {
    const dir = await scratch(t);
    const tokenFile = join(dir, "operator-token");
    const chosen = randomBytes(32).toString("base64url");
    assert.equal(chosen.length, 43);
    await writeFile(tokenFile, `${chosen}\n`, { mode: 0o600 });
    const signer = await startTestSigner(t, { flags: { "keymanager-token-file": tokenFile } });
    assert.equal(signer.apiToken, chosen);
    assert.equal((await fetch(`${signer.url}/eth/v1/keystores`, { headers: bearer(chosen) })).status, 200);
    assert.equal((await fetch(`${signer.url}/eth/v1/keystores`, { headers: bearer("0".repeat(64)) })).status, 403);
    await assert.rejects(stat(join(signer.dataDir, "api-token.txt")), { code: "ENOENT" });
  });

  it("a missing --keymanager-token-file is created with a 256-bit random token, 0600", async (t) => {
    const tokenFile = join(await scratch(t), "new-token");
    const signer = await startTestSigner(t, { flags: { "keymanager-token-file": tokenFile } });
    assert.match(signer.apiToken, /^[0-9a-f]{64}$/);
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    assert.equal((await fetch(`${signer.url}/eth/v1/keystores`, { headers: bearer(signer.apiToken) })).status, 200);
  });

  it("a serve process refuses to start on a token under 256 bits, naming the file and the minimum", async (t) => {
    const dir = await scratch(t);
    const dirs = await writeKeystores(dir, 1);
    const weak: [string, string, RegExp][] = [
      ["16 characters, once accepted", "abcdefghijklmnop", /holds 16 characters/],
      ["63 hex digits", "a".repeat(63), /holds 63 hex digits/],
      ["42 base64url characters", randomBytes(32).toString("base64url").slice(0, 42), /holds 42 characters/],
      ["a space inside", `${"x".repeat(30)} ${"y".repeat(30)}`, /characters a bearer token cannot carry/],
    ];
    for (const [name, token, detail] of weak) {
      const tokenFile = join(dir, "weak-token");
      await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
      const started = spawnSigner(serveArgs(join(dir, "data"), dirs, "--keymanager-token-file", tokenFile));
      await assert.rejects(started, (e: Error) => {
        assert.match(e.message, /exited \(1\)/, name);
        assert.ok(e.message.includes(`${tokenFile} must hold a token of at least 256 bits: 64 hex digits or 43 base64url characters`), `${name}: ${e.message}`);
        assert.match(e.message, detail, name);
        return true;
      });
    }
    // The data directory's own token file is held to the same rule.
    await writeFile(join(dir, "data", "api-token.txt"), "abcdefghijklmnop\n", { mode: 0o600 });
    await assert.rejects(spawnSigner(serveArgs(join(dir, "data"), dirs)), /api-token\.txt must hold a token of at least 256 bits/);
  });
});
