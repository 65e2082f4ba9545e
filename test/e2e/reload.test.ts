import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { HELD_CLI, HOLD_MARK, HOLD_RELEASE } from "../helpers/holdCommandsLoad.js";
import { cheapKeystore, costlyKeystore, randomKey, tempDir, type TestKey } from "../helpers/keysFixtures.js";
import { sign } from "../helpers/messages.js";
import { serveArgs, spawnSigner, writeKeystores, type SignerProcess } from "../helpers/signer.js";
import { signingCases } from "../helpers/signingCases.js";

type Dirs = Awaited<ReturnType<typeof writeKeystores>>;

async function startWithDir(
  t: { after(fn: () => Promise<void>): void },
  keyCount: number,
  ...extraArgs: string[]
): Promise<{ dir: string; dirs: Dirs; signer: SignerProcess }> {
  const dir = await tempDir(t, "reload");
  const dirs = await writeKeystores(dir, keyCount);
  const signer = await spawnSigner(serveArgs(join(dir, "data"), dirs, ...extraArgs));
  t.after(async () => {
    signer.child.kill("SIGTERM");
    await signer.exited;
  });
  return { dir, dirs, signer };
}

async function addKeystore(dirs: Dirs, name: string, key: TestKey, passwordFile = `pw-${name}`): Promise<void> {
  await writeFile(join(dirs.keystoresDir, `${name}.json`), JSON.stringify(await cheapKeystore(key, `pw-${name}`)));
  await writeFile(join(dirs.passwordsDir, `${name}.txt`), passwordFile + "\n");
}

/** The API token of a signer whose data directory is `<dir>/data`. */
async function apiToken(dir: string): Promise<string> {
  return (await readFile(join(dir, "data", "api-token.txt"), "utf8")).trim();
}

async function reloadStatus(url: string): Promise<{ status: string; lastOperationTime?: string; lastError?: string }> {
  const res = await fetch(`${url}/reload`);
  assert.equal(res.status, 200);
  return (await res.json()) as { status: string; lastOperationTime?: string; lastError?: string };
}

/** Starts a reload as an operator would: with the API token, asking again after a 409 once the running one is done. */
async function postReload(url: string, dir: string, init: RequestInit = {}): Promise<void> {
  const headers = { authorization: `Bearer ${await apiToken(dir)}`, ...(init.headers as Record<string, string> | undefined) };
  for (;;) {
    const res = await fetch(`${url}/reload`, { ...init, method: "POST", headers });
    const body = (await res.json()) as { status: string; message: string };
    if (res.status === 202) {
      assert.equal(body.status, "accepted");
      return;
    }
    assert.equal(res.status, 409, JSON.stringify(body));
    await until("the running reload is done", async () => (await reloadStatus(url)).status !== "running");
  }
}

async function publicKeys(url: string): Promise<string[]> {
  return (await (await fetch(`${url}/api/v1/eth2/publicKeys`)).json()) as string[];
}

/** The counts of each `keystores reloaded` line so far (logged at info); stdout is buffered (src/log.ts), so a line shows within a flush period. */
function reloadCounts(signer: SignerProcess): Array<Record<string, unknown>> {
  return signer.stdout
    .join("")
    .split("\n")
    .slice(0, -1) // what follows the last line break is not a whole line yet
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === "keystores reloaded")
    .map(({ added, removed, unchanged, failed, decrypted }) => ({ added, removed, unchanged, failed, decrypted }));
}

/** Polls `probe` until it holds: a reload answers before it has run, so its effect shows a little later. */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Signs an ATTESTATION with `key` through the signer and checks the signature with blst, against a root computed apart from src/. */
async function signsAndVerifies(url: string, key: TestKey): Promise<void> {
  const c = signingCases().find((x) => x.type === "ATTESTATION")!;
  const res = await sign(url, key.pubkey, c.body);
  assert.equal(res.status, 200, res.message);
  const sig = Signature.fromBytes(Buffer.from(res.signature!.slice(2), "hex"));
  assert.ok(verify(c.expectedRoot, PublicKey.fromBytes(key.pubkeyBytes), sig), "the signature verifies with the new key");
}

describe("POST /reload and SIGHUP: the keystore directory of a running signer", () => {
  it("adds a keystore that appeared and signs with it; a removed one answers as an unknown key", async (t) => {
    const { dir, dirs, signer } = await startWithDir(t, 2);
    const added = randomKey();
    await addKeystore(dirs, "added", added);
    await postReload(signer.url, dir);
    await until("the new key is listed", async () => (await publicKeys(signer.url)).includes(added.pubkey));
    await signsAndVerifies(signer.url, added);

    const [gone, kept] = dirs.keys as [TestKey, TestKey];
    await rm(join(dirs.keystoresDir, "key-0.json"));
    await postReload(signer.url, dir);
    await until("the removed key is no longer listed", async () => !(await publicKeys(signer.url)).includes(gone.pubkey));
    assert.deepEqual(new Set(await publicKeys(signer.url)), new Set([kept.pubkey, added.pubkey]));
    const c = signingCases().find((x) => x.type === "RANDAO_REVEAL")!;
    const removed = await sign(signer.url, gone.pubkey, c.body);
    const unknown = await sign(signer.url, randomKey().pubkey, c.body);
    assert.equal(removed.status, 404);
    assert.equal(removed.status, unknown.status, "a removed key is refused as a key never loaded");
    assert.equal((await sign(signer.url, kept.pubkey, c.body)).status, 200);
  });

  it("keeps a key sealed in the data directory signing when its keystore is removed", async (t) => {
    const { dir, dirs, signer } = await startWithDir(t, 1);
    const token = (await readFile(join(dir, "data", "api-token.txt"), "utf8")).trim();
    const keymanager = async (method: string, body?: unknown) => {
      const res = await fetch(`${signer.url}/eth/v1/keystores`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      assert.equal(res.status, 200);
      return (await res.json()) as { data: Array<{ validating_pubkey: string; readonly: boolean; status?: string }> };
    };
    const readOnly = async (pubkey: string) => (await keymanager("GET")).data.find((d) => d.validating_pubkey === pubkey)?.readonly;

    const both = randomKey();
    const imported = await keymanager("POST", { keystores: [JSON.stringify(await cheapKeystore(both, "pw-both"))], passwords: ["pw-both"] });
    assert.equal(imported.data[0]!.status, "imported");
    assert.equal(await readOnly(both.pubkey), false);
    await addKeystore(dirs, "both", both);
    await postReload(signer.url, dir);
    await until("the key is read-only, from the directory too", async () => (await readOnly(both.pubkey)) === true);

    await rm(join(dirs.keystoresDir, "both.json"));
    await rm(join(dirs.keystoresDir, "key-0.json"));
    await postReload(signer.url, dir);
    await until("the directory-only key is gone", async () => !(await publicKeys(signer.url)).includes(dirs.keys[0]!.pubkey));
    assert.equal(await readOnly(both.pubkey), false, "only sealed now: the API may delete it");
    assert.deepEqual(await publicKeys(signer.url), [both.pubkey]);
    await signsAndVerifies(signer.url, both);
  });

  it("names a keystore that fails to load in keys-check (UP while the other key signs), keeps naming it without decrypting it again, and drops it once it is fixed", async (t) => {
    const { dir, dirs, signer } = await startWithDir(t, 1, "--log-level", "info");
    const keysCheck = async () => {
      const res = await fetch(`${signer.url}/healthcheck`);
      const body = (await res.json()) as { checks: Array<{ id: string; status: string; data: Record<string, unknown> }> };
      return { httpStatus: res.status, ...body.checks.find((c) => c.id === "keys-check")! };
    };
    assert.equal((await keysCheck()).status, "UP");

    const key = randomKey();
    await addKeystore(dirs, "bad", key, "not the password");
    await postReload(signer.url, dir);
    await until("keys-check counts the failure", async () => (await keysCheck()).data["error-count"] === 1);
    const failing = await keysCheck();
    assert.equal(failing.httpStatus, 200, "one bad file does not take the signer out of rotation");
    assert.equal(failing.status, "UP");
    assert.deepEqual(failing.data, { "keys-loaded": 1, "error-count": 1, "failed-files": ["bad.json"] });
    // stdout is buffered (src/log.ts): the line is written within a flush period.
    await until("the failure is logged", async () => /keystore not loaded: .*bad\.json.*password/.test(signer.stdout.join("")));
    await until("the reload is logged", async () => reloadCounts(signer).length === 1);
    assert.deepEqual(reloadCounts(signer)[0], { added: 0, removed: 0, unchanged: 1, failed: 1, decrypted: 1 });
    await until("GET /reload reports the outcome", async () => (await reloadStatus(signer.url)).status !== "running");
    const report = await reloadStatus(signer.url);
    assert.equal(report.status, "completed_with_errors");
    assert.equal(report.lastError, "1 keystore(s) failed to load");
    assert.ok(report.lastOperationTime && !Number.isNaN(Date.parse(report.lastOperationTime)));

    // Neither file changed: the failure is reported as before, without another KDF.
    await postReload(signer.url, dir);
    await until("the second reload is logged", async () => reloadCounts(signer).length === 2);
    assert.deepEqual(reloadCounts(signer)[1], { added: 0, removed: 0, unchanged: 1, failed: 1, decrypted: 0 });
    assert.equal(signer.stdout.join("").match(/keystore not loaded: .*bad\.json.*password/g)?.length, 2);
    assert.deepEqual((await keysCheck()).data, { "keys-loaded": 1, "error-count": 1, "failed-files": ["bad.json"] });

    await writeFile(join(dirs.passwordsDir, "bad.txt"), "pw-bad\n");
    await postReload(signer.url, dir);
    await until("keys-check has no failure", async () => (await keysCheck()).data["error-count"] === 0);
    const up = await keysCheck();
    assert.equal(up.httpStatus, 200);
    assert.deepEqual(up.data, { "keys-loaded": 2, "error-count": 0 }, "the latest scan's errors, not every one seen");
    await until("the third reload is logged", async () => reloadCounts(signer).length === 3);
    assert.deepEqual(reloadCounts(signer)[2], { added: 1, removed: 0, unchanged: 1, failed: 0, decrypted: 1 });
    await until("GET /reload reports success", async () => (await reloadStatus(signer.url)).status === "completed");
    await signsAndVerifies(signer.url, key);
  });

  it("reloads on SIGHUP and keeps running", async (t) => {
    const { dirs, signer } = await startWithDir(t, 1);
    const key = randomKey();
    await addKeystore(dirs, "hup", key);
    signer.child.kill("SIGHUP");
    await until("the new key is listed", async () => (await publicKeys(signer.url)).includes(key.pubkey));
    await signsAndVerifies(signer.url, key);
  });

  it("reloads on a SIGHUP received during start-up once started, instead of exiting", async (t) => {
    const dir = await tempDir(t, "reload-starting");
    const dirs = await writeKeystores(dir, 1);
    // A keystore that takes seconds to decrypt holds start-up open after its first log line.
    const slow = randomKey();
    await writeFile(join(dirs.keystoresDir, "slow.json"), JSON.stringify(await costlyKeystore(slow, "pw-slow")));
    await writeFile(join(dirs.passwordsDir, "slow.txt"), "pw-slow\n");
    const late = randomKey();
    let listeningWhenSignalled: boolean | undefined;
    const signer = await spawnSigner(serveArgs(join(dir, "data"), dirs), {}, async (child, url) => {
      // The dev platform's warning is start-up's first line, logged after the signal handler is set.
      if (listeningWhenSignalled !== undefined) return;
      listeningWhenSignalled = await fetch(`${url}/upcheck`).then(() => true, () => false);
      await addKeystore(dirs, "late", late);
      child.kill("SIGHUP");
    });
    t.after(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });
    assert.equal(listeningWhenSignalled, false, "the SIGHUP reached the signer before it listened");
    await until("the keystore added during start-up is listed", async () => (await publicKeys(signer.url)).includes(late.pubkey));
    assert.ok((await publicKeys(signer.url)).includes(slow.pubkey));
    await signsAndVerifies(signer.url, late);
  });

  it("survives a SIGHUP received while its modules load, and reloads once started", async (t) => {
    const dir = await tempDir(t, "reload-loading");
    const dirs = await writeKeystores(dir, 1);
    const release = join(dir, "release");
    let signalled = false;
    const signer = await spawnSigner(
      serveArgs(join(dir, "data"), dirs, "--log-level", "info"),
      { [HOLD_RELEASE]: release },
      async (child) => {
        // The first output is the hold's: the entry point waits for the command modules.
        if (signalled) return;
        signalled = true;
        child.kill("SIGHUP");
        await writeFile(release, "");
      },
      HELD_CLI,
    );
    t.after(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });
    assert.equal(signer.stdout[0], HOLD_MARK);
    assert.ok(signalled);
    await signsAndVerifies(signer.url, dirs.keys[0]!);
    await until("the held SIGHUP's reload is logged", async () => /"msg":"keystores reloaded"/.test(signer.stdout.join("")));
    signer.child.kill("SIGTERM");
    await signer.exited;
    const log = signer.stdout.join("");
    assert.equal(log.match(/"signal":"SIGHUP","msg":"reloading keystores"/g)?.length, 1);
    assert.equal(log.match(/"msg":"keystores reloaded"/g)?.length, 1, "one reload");
    assert.ok(log.indexOf('"msg":"secure-signer listening"') < log.indexOf('"msg":"keystores reloaded"'), "once started");
  });

  it("answers 202 and only logs without --keystores-dir", async (t) => {
    const dir = await tempDir(t, "reload-nodir");
    const signer = await spawnSigner(["--data-dir", join(dir, "data"), "--startup-floor-epochs", "off", "--log-level", "info"]);
    t.after(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });
    await postReload(signer.url, dir);
    await until("the reload is logged", async () => /no --keystores-dir, nothing to reload/.test(signer.stdout.join("")));
    // What clients send for a bare POST: nothing, a JSON content type with no body, or some body.
    for (const init of [{ headers: { "content-type": "application/json" } }, { headers: { "content-type": "application/json" }, body: "{}" }, { body: "x".repeat(100) }]) {
      await postReload(signer.url, dir, init);
    }
    assert.equal((await fetch(`${signer.url}/upcheck`)).status, 200, "the connection is still usable");
    assert.deepEqual(await publicKeys(signer.url), []);
    assert.equal((await fetch(`${signer.url}/healthcheck`)).status, 200);
    await until("the last reload is done", async () => (await reloadStatus(signer.url)).status === "completed");
  });
});

describe("/reload on Web3Signer's current contract, behind the API token", () => {
  it("refuses POST /reload without the API token (401) or with another (403), and reloads nothing", async (t) => {
    const { dir, dirs, signer } = await startWithDir(t, 1);
    assert.deepEqual(await reloadStatus(signer.url), { status: "idle" });
    const key = randomKey();
    await addKeystore(dirs, "new", key);
    const missing = await fetch(`${signer.url}/reload`, { method: "POST" });
    assert.equal(missing.status, 401);
    assert.match(((await missing.json()) as { message: string }).message, /Authorization: Bearer/);
    const wrong = await fetch(`${signer.url}/reload`, { method: "POST", headers: { authorization: "Bearer not-the-api-token-at-all" } });
    assert.equal(wrong.status, 403);
    assert.deepEqual(await reloadStatus(signer.url), { status: "idle" }, "no reload ran");
    assert.ok(!(await publicKeys(signer.url)).includes(key.pubkey));

    await postReload(signer.url, dir);
    await until("the new key is listed", async () => (await publicKeys(signer.url)).includes(key.pubkey));
    await until("GET /reload says completed", async () => (await reloadStatus(signer.url)).status === "completed");
  });

  it("answers 409 while a reload runs, GET /reload says running, and accepts again once it is done", async (t) => {
    const { dir, dirs, signer } = await startWithDir(t, 1);
    const token = await apiToken(dir);
    // A keystore that takes seconds to decrypt keeps the reload running.
    const slow = randomKey();
    await writeFile(join(dirs.passwordsDir, "slow.txt"), "pw-slow\n");
    await writeFile(join(dirs.keystoresDir, "slow.json"), JSON.stringify(await costlyKeystore(slow, "pw-slow")));
    const post = () => fetch(`${signer.url}/reload`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    const first = await post();
    assert.equal(first.status, 202);
    assert.deepEqual(((await first.json()) as { status: string }).status, "accepted");
    const running = await reloadStatus(signer.url);
    assert.equal(running.status, "running");
    assert.ok(running.lastOperationTime);
    const conflict = await post();
    assert.equal(conflict.status, 409);
    const body = (await conflict.json()) as { status: string; message: string };
    assert.equal(body.status, "error");
    assert.match(body.message, /already running/);

    await until("the reload is done", async () => (await reloadStatus(signer.url)).status !== "running");
    assert.equal((await reloadStatus(signer.url)).status, "completed");
    assert.ok((await publicKeys(signer.url)).includes(slow.pubkey));
    const again = await post();
    assert.equal(again.status, 202);
  });
});
