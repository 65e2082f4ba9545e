import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { SealedKeyStore, sealContext } from "../../src/keys/sealedStore.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { checkReportData } from "../../src/tee/reportData.js";
import { cheapKeystore, costlyKeystore, randomKey, tempDir, type TestKey } from "../helpers/keysFixtures.js";
import { attestationBody, sign, verifyReturned } from "../helpers/messages.js";
import { startKeymanager, TEST_GVR, type KeymanagerHarness } from "../helpers/keysServer.js";
import { startTestSigner } from "../helpers/signer.js";

const interchangeFor = (pubkey: string, slot: number, gvr = TEST_GVR) =>
  JSON.stringify({
    metadata: { interchange_format_version: "5", genesis_validators_root: gvr },
    data: [{ pubkey, signed_blocks: [{ slot: String(slot) }], signed_attestations: [] }],
  });

describe("keymanager API over HTTP", () => {
  let h: KeymanagerHarness;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "secure-signer-km-"));
    h = await startKeymanager(dataDir);
  });
  after(async () => {
    await h.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("creates a 0600 API token; no token is 401, a wrong one 403, and nothing happens", async () => {
    assert.equal((await stat(join(dataDir, "api-token.txt"))).mode & 0o777, 0o600);
    assert.match(h.token, /^[0-9a-f]{64}$/);
    const key = randomKey();
    const keystore = JSON.stringify(await cheapKeystore(key, "pw"));
    const routes: [string, string, unknown][] = [
      ["GET", "/eth/v1/keystores", undefined],
      ["POST", "/eth/v1/keystores", { keystores: [keystore], passwords: ["pw"] }],
      ["DELETE", "/eth/v1/keystores", { pubkeys: [key.pubkey] }],
      ["POST", "/eth/v1/keygen/bls", { count: 1 }],
      ["GET", "/eth/v1/transport-key", undefined],
    ];
    for (const [method, path, body] of routes) {
      const missing = await h.call(method, path, body, null);
      assert.equal(missing.status, 401, `${method} ${path}`);
      assert.match(missing.json.message, /missing Authorization/);
      const wrong = await h.call(method, path, body, "f".repeat(64));
      assert.equal(wrong.status, 403, `${method} ${path}`);
      assert.deepEqual(wrong.json, { message: "invalid API token" });
    }
    assert.equal((await h.call("GET", "/eth/v1/keystores", undefined, `${h.token}x`)).status, 403);
    // Authentication comes before validation: an invalid body without a token is still a 401.
    assert.equal((await h.call("POST", "/eth/v1/keystores", { nonsense: true }, null)).status, 401);
    assert.deepEqual(h.keys.pubkeys(), []);
    assert.deepEqual(await h.sealedStore.list(), []);
  });

  it("imports with slashing protection merged first, reports per-keystore status, lists, deletes", async () => {
    const [a, b, c] = [randomKey(), randomKey(), randomKey()];
    const res = await h.call("POST", "/eth/v1/keystores", {
      keystores: [
        JSON.stringify(await cheapKeystore(a, "pa")),
        JSON.stringify(await cheapKeystore(b, "pb", "scrypt")),
        JSON.stringify(await cheapKeystore(c, "pc")),
        "{not json",
        JSON.stringify(await cheapKeystore(a, "other")),
      ],
      passwords: ["pa", "pb", "wrong", "x", "other"],
      slashing_protection: interchangeFor(a.pubkey, 100),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.data.map((d: { status: string }) => d.status), ["imported", "imported", "error", "error", "duplicate"]);
    assert.match(res.json.data[2].message, /keystores\[2\]: checksum mismatch, the password is wrong/);
    assert.match(res.json.data[3].message, /keystores\[3\] is not valid JSON/);
    assert.equal(h.slashing.states.get(a.pubkey)?.maxSlot, 100);
    assert.deepEqual(await h.sealedStore.list(), [a.pubkey, b.pubkey].sort());

    const again = await h.call("POST", "/eth/v1/keystores", {
      keystores: [JSON.stringify(await cheapKeystore(b, "pb"))],
      passwords: ["pb"],
    });
    assert.deepEqual(again.json.data, [{ status: "duplicate" }]);

    // A key signing without a sealed file (as when its file is removed while the signer runs):
    // listed read-only, not deletable.
    const unsealed = randomKey();
    await h.registry.install([unsealed], "sealed");
    const list = await h.call("GET", "/eth/v1/keystores");
    assert.deepEqual(list.json.data, [
      { validating_pubkey: a.pubkey, derivation_path: "m/12381/3600/0/0/0", readonly: false },
      { validating_pubkey: b.pubkey, derivation_path: "m/12381/3600/0/0/0", readonly: false },
      { validating_pubkey: unsealed.pubkey, readonly: true },
    ]);

    // A's protection from the import holds; a new block is recorded as a sign would do.
    assert.throws(() => h.slashing.recordBlock(a.pubkey, 100, "0x" + "00".repeat(32)), /at or below 100/);
    h.slashing.recordBlock(a.pubkey, 101, "0x" + "01".repeat(32));

    const unknown = randomKey();
    const del = await h.call("DELETE", "/eth/v1/keystores", { pubkeys: [a.pubkey, b.pubkey.toUpperCase().replace("0X", "0x"), unknown.pubkey, unsealed.pubkey] });
    assert.equal(del.status, 200);
    assert.deepEqual(del.json.data.map((d: { status: string }) => d.status), ["deleted", "deleted", "not_found", "error"]);
    assert.match(del.json.data[3].message, /has no sealed file in the data directory .* and is read-only$/);
    const exported = JSON.parse(del.json.slashing_protection);
    assert.equal(exported.metadata.genesis_validators_root, TEST_GVR);
    assert.deepEqual(exported.data.map((d: { pubkey: string }) => d.pubkey), [a.pubkey]);
    assert.deepEqual(exported.data[0].signed_blocks, [{ slot: "100" }, { slot: "101", signing_root: "0x" + "01".repeat(32) }]);
    assert.equal(h.keys.has(a.pubkey), false);
    assert.equal(h.keys.has(unsealed.pubkey), true);
    await assert.rejects(h.keys.sign(a.pubkey, new Uint8Array(32)));
    assert.deepEqual(await h.sealedStore.list(), []);

    // Records are kept: a repeated delete still returns them (not_active); B never signed (not_found).
    const del2 = await h.call("DELETE", "/eth/v1/keystores", { pubkeys: [a.pubkey, b.pubkey] });
    assert.deepEqual(del2.json.data, [{ status: "not_active" }, { status: "not_found" }]);
    assert.deepEqual(JSON.parse(del2.json.slashing_protection), exported);

    // Re-import (even without interchange) can never sign below what was signed before.
    const back = await h.call("POST", "/eth/v1/keystores", { keystores: [JSON.stringify(await cheapKeystore(a, "pa"))], passwords: ["pa"] });
    assert.deepEqual(back.json.data, [{ status: "imported" }]);
    assert.throws(() => h.slashing.recordBlock(a.pubkey, 101, "0x" + "02".repeat(32)), /at or below 101/);
    await h.registry.remove(unsealed.pubkey);
    await h.call("DELETE", "/eth/v1/keystores", { pubkeys: [a.pubkey] });
  });

  it("refuses a bad request whole: lengths, slashing_protection, schema, both forms at once", async () => {
    const key = randomKey();
    const keystore = JSON.stringify(await cheapKeystore(key, "pw"));
    const cases: [unknown, RegExp][] = [
      [{ keystores: [keystore], passwords: [] }, /keystores has 1 entries but passwords has 0/],
      [{ keystores: [keystore], passwords: ["pw"], slashing_protection: "{" }, /slashing_protection is not valid JSON/],
      [
        { keystores: [keystore], passwords: ["pw"], slashing_protection: interchangeFor(key.pubkey, 5, "0x" + "11".repeat(32)) },
        /slashing_protection refused, nothing imported/,
      ],
      [
        { keystores: [keystore], passwords: ["pw"], slashing_protection: JSON.stringify({ metadata: {} }) },
        /slashing_protection refused, nothing imported: interchange file does not match/,
      ],
      [{ keystores: [keystore] }, /^passwords: required field is missing$/],
      [{ transport_encrypted: "AAAA", keystores: [keystore], passwords: ["pw"] }, /either transport_encrypted or keystores/],
      [{ transport_encrypted: "AAAA" }, /bad magic or too short/],
    ];
    for (const [body, message] of cases) {
      const res = await h.call("POST", "/eth/v1/keystores", body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.match(res.json.message, message);
    }
    const badDelete = await h.call("DELETE", "/eth/v1/keystores", { pubkeys: ["0x1234"] });
    assert.equal(badDelete.status, 400);
    assert.equal((await h.call("POST", "/eth/v1/keygen/bls", { count: 0 })).status, 400);
    assert.equal(h.keys.has(key.pubkey), false);
    assert.equal(h.slashing.states.has(key.pubkey), false);
    assert.deepEqual(await h.sealedStore.list(), []);
  });

  it("generates keys inside, sealed and usable, with evidence stating each key generated under the identity the report data binds", async () => {
    const res = await h.call("POST", "/eth/v1/keygen/bls", { count: 2 });
    assert.equal(res.status, 200);
    const transport = await h.call("GET", "/eth/v1/transport-key");
    assert.deepEqual(transport.json.data, {
      public_key: h.transportKey.publicKeyHex,
      algorithm: "x25519-hkdf-sha256-xchacha20poly1305",
      version: 1,
    });
    assert.equal(res.json.data.length, 2);
    assert.match(res.json.recovery, /^none: .*never exported.*withdrawal address/);
    for (const { pubkey, evidence } of res.json.data) {
      assert.ok(h.keys.has(pubkey));
      assert.equal(evidence.format, "none");
      assert.equal(evidence.version, 2);
      assert.deepEqual(evidence.statements.map((s: { pubkey: string; origin: string }) => [s.pubkey, s.origin]), [[pubkey, "generated"]]);
      assert.equal(evidence.transportPublicKey, transport.json.data.public_key);
      assert.equal(evidence.identityPublicKey, h.identity.publicKeyHex);
      const check = checkReportData(Buffer.from(evidence.reportData.slice(2), "hex"), {
        transportPublicKey: Buffer.from(transport.json.data.public_key.slice(2), "hex"),
        identityPublicKey: h.identity.publicKey,
        blsPubkeys: [],
      });
      assert.deepEqual(check, { ok: true });
      const sig = await h.keys.sign(pubkey, new Uint8Array(32).fill(9));
      assert.ok(verify(new Uint8Array(32).fill(9), PublicKey.fromHex(pubkey), Signature.fromBytes(sig)));
    }
    const pubkeys = res.json.data.map((d: { pubkey: string }) => d.pubkey);
    const reloaded = await (await SealedKeyStore.open(h.platform, dataDir)).loadAll();
    assert.deepEqual(reloaded.keys.map((k) => k.pubkey), [...pubkeys].sort());
    const del = await h.call("DELETE", "/eth/v1/keystores", { pubkeys });
    assert.deepEqual(del.json.data, [{ status: "deleted" }, { status: "deleted" }]);
  });

  it("imports a request encrypted by another process to the published transport key", async () => {
    const key = randomKey();
    const request = { keystores: [JSON.stringify(await cheapKeystore(key, "secret-pw"))], passwords: ["secret-pw"] };
    const { json } = await h.call("GET", "/eth/v1/transport-key");
    const script = fileURLToPath(new URL("../helpers/keysEncryptClient.ts", import.meta.url));
    const body = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", script, json.data.public_key], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`client exited ${code}`))));
      child.stdin.end(JSON.stringify(request));
    });
    const envelope = JSON.parse(body);
    assert.deepEqual(Object.keys(envelope), ["transport_encrypted"]);
    assert.ok(!body.includes("secret-pw"));
    const res = await h.call("POST", "/eth/v1/keystores", envelope);
    assert.deepEqual(res.json.data, [{ status: "imported" }]);
    assert.ok(h.keys.has(key.pubkey));
    // The same envelope is for the import purpose of this signer only: tampering is refused.
    const tampered = Buffer.from(envelope.transport_encrypted, "base64");
    tampered[tampered.length - 1]! ^= 1;
    const bad = await h.call("POST", "/eth/v1/keystores", { transport_encrypted: tampered.toString("base64") });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /failed authentication/);
    await h.call("DELETE", "/eth/v1/keystores", { pubkeys: [key.pubkey] });
  });
});

describe("keymanager persistence and concurrency", () => {
  it("three concurrent imports of one key: one imported, two duplicate; a restart keeps keys and token", async (t) => {
    const dataDir = await tempDir(t, "kmrestart");
    const first = await startKeymanager(dataDir);
    t.after(() => first.close());
    const key = randomKey();
    const body = { keystores: [JSON.stringify(await cheapKeystore(key, "pw"))], passwords: ["pw"] };
    const results = await Promise.all([1, 2, 3].map(() => first.call("POST", "/eth/v1/keystores", body)));
    const statuses = results.map((r) => r.json.data[0].status).sort();
    assert.deepEqual(statuses, ["duplicate", "duplicate", "imported"]);
    await first.close();

    const second = await startKeymanager(dataDir);
    t.after(() => second.close());
    assert.equal(second.token, first.token);
    assert.equal(second.transportKey.publicKeyHex, first.transportKey.publicKeyHex);
    const list = await second.call("GET", "/eth/v1/keystores");
    assert.deepEqual(list.json.data, [{ validating_pubkey: key.pubkey, derivation_path: "m/12381/3600/0/0/0", readonly: false }]);
  });
});

describe("keymanager API: what standard clients send and what a delete promises", () => {
  it("takes slashing_protection null or empty as none; keeps a keystore-directory key read-only with a sealed copy; answers a failed export per key", async (t) => {
    const dataDir = await tempDir(t, "kmstandard");
    const first = await startKeymanager(dataDir);
    t.after(() => first.close());
    const [k, l, m] = [randomKey(), randomKey(), randomKey()];
    const keystore = async (key: TestKey) => JSON.stringify(await cheapKeystore(key, "pw"));
    // Lighthouse's client sends null when it has no slashing data, some Go clients "".
    for (const [key, slashing_protection] of [[k, null], [m, ""], [l, interchangeFor(l.pubkey, 5)]] as const) {
      const r = await first.call("POST", "/eth/v1/keystores", { keystores: [await keystore(key)], passwords: ["pw"], slashing_protection });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.data, [{ status: "imported" }]);
    }
    await first.close();

    // k is also in --keystores-dir now: deleting it through the API would not keep it from coming back.
    const second = await startKeymanager(dataDir, { fromDir: [k.secretKey] });
    t.after(() => second.close());
    const list = await second.call("GET", "/eth/v1/keystores");
    const readonly = Object.fromEntries(list.json.data.map((d: { validating_pubkey: string; readonly: boolean }) => [d.validating_pubkey, d.readonly]));
    assert.deepEqual(readonly, { [k.pubkey]: true, [l.pubkey]: false, [m.pubkey]: false });
    const refused = await second.call("DELETE", "/eth/v1/keystores", { pubkeys: [k.pubkey] });
    assert.equal(refused.json.data[0].status, "error");
    assert.equal(refused.json.data[0].message, `${k.pubkey} was loaded from a keystore directory and is read-only`);
    assert.ok(second.keys.has(k.pubkey));

    // The export fails after l stopped signing: an error for l, an empty interchange, and a second
    // delete returns l's records (the harness keeps slashing data in memory: given again here).
    await second.slashing.importInterchange(JSON.parse(interchangeFor(l.pubkey, 5)));
    const exportInterchange = second.slashing.exportInterchange.bind(second.slashing);
    second.slashing.exportInterchange = async () => {
      throw new Error("disk unreadable");
    };
    const failed = await second.call("DELETE", "/eth/v1/keystores", { pubkeys: [l.pubkey] });
    assert.equal(failed.status, 200);
    assert.equal(failed.json.data[0].status, "error");
    assert.match(failed.json.data[0].message, /could not be exported \(disk unreadable\)/);
    assert.deepEqual(JSON.parse(failed.json.slashing_protection).data, []);
    assert.ok(!second.keys.has(l.pubkey));
    second.slashing.exportInterchange = exportInterchange;
    const again = await second.call("DELETE", "/eth/v1/keystores", { pubkeys: [l.pubkey] });
    assert.deepEqual(again.json.data, [{ status: "not_active" }]);
    assert.equal(JSON.parse(again.json.slashing_protection).data[0].pubkey, l.pubkey);
  });
});

describe("keymanager session leaks no secret", () => {
  it("no response body and no log line holds any secret key, in hex or base64", async (t) => {
    const dataDir = await tempDir(t, "kmleak");
    const h = await startKeymanager(dataDir);
    t.after(() => h.close());
    const imported: TestKey[] = [randomKey(), randomKey()];
    const passwords = [randomBytes(12).toString("hex"), randomBytes(12).toString("hex")];
    const gen = await h.call("POST", "/eth/v1/keygen/bls", { count: 2 });
    const generatedPubkeys: string[] = gen.json.data.map((d: { pubkey: string }) => d.pubkey);
    const transport = (await h.call("GET", "/eth/v1/transport-key")).json.data.public_key;
    await h.call("POST", "/eth/v1/keystores", {
      keystores: [JSON.stringify(await cheapKeystore(imported[0]!, passwords[0]!))],
      passwords: [passwords[0]!],
    });
    const { encryptImportRequest } = await import("../../src/keys/transport.js");
    await h.call(
      "POST",
      "/eth/v1/keystores",
      encryptImportRequest(transport, {
        keystores: [JSON.stringify(await cheapKeystore(imported[1]!, passwords[1]!))],
        passwords: [passwords[1]!],
      }),
    );
    await h.call("POST", "/eth/v1/keystores", { keystores: ["{}"], passwords: ["x"] });
    await h.call("GET", "/eth/v1/keystores");
    // The generated secrets are only readable by unsealing their files, as a restart would.
    const secrets = [
      ...imported.map((k) => k.secretKey),
      ...(await h.sealedStore.loadAll()).keys.filter((k) => generatedPubkeys.includes(k.pubkey)).map((k) => k.secretKey),
    ];
    assert.equal(secrets.length, 4);
    for (const pubkey of h.keys.pubkeys()) await h.keys.sign(pubkey, new Uint8Array(32));
    await h.call("DELETE", "/eth/v1/keystores", { pubkeys: h.keys.pubkeys() });
    await h.call("POST", "/eth/v1/keygen/bls", { count: 1 }, "wrong");

    const haystack = [...h.bodies, ...h.logs].join("\n").toLowerCase();
    assert.ok(h.bodies.length >= 8 && h.logs.length > 0);
    for (const secret of secrets) {
      const b = Buffer.from(secret);
      for (const needle of [b.toString("hex"), b.toString("base64"), b.toString("base64url")]) {
        assert.equal(haystack.includes(needle.toLowerCase()), false);
      }
    }
    for (const password of passwords) assert.equal(haystack.includes(password), false);
    assert.deepEqual((await readdir(join(dataDir, "keys"))).filter((n) => !n.startsWith(".")), []);
  });
});

describe("keymanager API: what Web3Signer and the spec do with pubkey prefixes, repeats and paths", () => {
  it("imports a keystore whose pubkey has a 0x prefix, as Web3Signer does, and still refuses one not matching its key", async (t) => {
    const h = await startKeymanager(await tempDir(t, "kmprefix"));
    t.after(() => h.close());
    const [a, b, c] = [randomKey(), randomKey(), randomKey()];
    // The keymanager spec's own example keystore writes its pubkey this way.
    const prefixed = async (key: TestKey, pubkey: string) => JSON.stringify({ ...(await cheapKeystore(key, "pw")), pubkey });
    const res = await h.call("POST", "/eth/v1/keystores", {
      keystores: [
        await prefixed(a, a.pubkey),
        await prefixed(b, "0x" + b.pubkey.slice(2).toUpperCase()),
        await prefixed(c, a.pubkey),
        await prefixed(c, "0x"),
      ],
      passwords: ["pw", "pw", "pw", "pw"],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.data.slice(0, 2), [{ status: "imported" }, { status: "imported" }]);
    assert.equal(res.json.data[2].status, "error");
    assert.equal(res.json.data[2].message, `keystores[2]: keystore pubkey ${a.pubkey} does not match the decrypted secret's ${c.pubkey}`);
    assert.equal(res.json.data[3].status, "error");
    assert.match(res.json.data[3].message, /^keystores\[3\] is not a valid EIP-2335 keystore \(\/pubkey/);
    assert.deepEqual(h.keys.pubkeys().sort(), [a.pubkey, b.pubkey].sort());
    assert.deepEqual(await h.sealedStore.list(), [a.pubkey, b.pubkey].sort());
  });

  it("answers a pubkey repeated in one DELETE as a key already gone: not_active with its records once, or not_found", async (t) => {
    const h = await startKeymanager(await tempDir(t, "kmrepeat"));
    t.after(() => h.close());
    const [quiet, signed] = [randomKey(), randomKey()];
    const imported = await h.call("POST", "/eth/v1/keystores", {
      keystores: [JSON.stringify(await cheapKeystore(quiet, "pw")), JSON.stringify(await cheapKeystore(signed, "pw"))],
      passwords: ["pw", "pw"],
    });
    assert.deepEqual(imported.json.data, [{ status: "imported" }, { status: "imported" }]);
    h.slashing.recordBlock(signed.pubkey, 7, "0x" + "07".repeat(32));

    // As the keymanager flows, Lighthouse and Teku take the keys in order: the repeat finds the key
    // gone; not_active promises slashing data for it, so a key that never signed is not_found.
    const del = await h.call("DELETE", "/eth/v1/keystores", { pubkeys: [quiet.pubkey, signed.pubkey, quiet.pubkey, signed.pubkey] });
    assert.equal(del.status, 200);
    assert.deepEqual(del.json.data, [{ status: "deleted" }, { status: "deleted" }, { status: "not_found" }, { status: "not_active" }]);
    const exported = JSON.parse(del.json.slashing_protection);
    assert.deepEqual(exported.data, [
      { pubkey: signed.pubkey, signed_blocks: [{ slot: "7", signing_root: "0x" + "07".repeat(32) }], signed_attestations: [] },
    ]);
    assert.deepEqual(h.keys.pubkeys(), []);
    assert.deepEqual(await h.sealedStore.list(), []);
  });

  it("lists the derivation path of each imported keystore that had one, after a restart too; sealed files of earlier versions still load", async (t) => {
    const dataDir = await tempDir(t, "kmpath");
    // A key sealed as every earlier version wrote it: the 32-byte secret alone.
    const legacy = randomKey();
    const platform = await createDevPlatform(dataDir);
    const store = await SealedKeyStore.open(platform, dataDir);
    await writeFile(join(store.dir, `${legacy.pubkey}.sealed`), await platform.seal(legacy.secretKey, sealContext(legacy.pubkey)), { mode: 0o600 });

    const first = await startKeymanager(dataDir);
    t.after(() => first.close());
    const [derived, underived, longPath] = [randomKey(), randomKey(), randomKey()];
    const withPath = async (key: TestKey, path: string) => JSON.stringify({ ...(await cheapKeystore(key, "pw")), path });
    const res = await first.call("POST", "/eth/v1/keystores", {
      keystores: [await withPath(derived, "m/12381/3600/7/0/0"), await withPath(underived, ""), await withPath(longPath, "m/" + "1/".repeat(128))],
      passwords: ["pw", "pw", "pw"],
    });
    assert.deepEqual(res.json.data.slice(0, 2), [{ status: "imported" }, { status: "imported" }]);
    assert.equal(res.json.data[2].status, "error");
    assert.match(res.json.data[2].message, /^keystores\[2\] is not a valid EIP-2335 keystore \(\/path: .*256/);
    assert.equal(first.keys.has(longPath.pubkey), false);

    const expected = [
      { validating_pubkey: legacy.pubkey, readonly: false },
      { validating_pubkey: derived.pubkey, derivation_path: "m/12381/3600/7/0/0", readonly: false },
      { validating_pubkey: underived.pubkey, readonly: false },
    ];
    const byPubkey = (list: Array<{ validating_pubkey: string }>) => [...list].sort((x, y) => x.validating_pubkey.localeCompare(y.validating_pubkey));
    assert.deepEqual(byPubkey((await first.call("GET", "/eth/v1/keystores")).json.data), byPubkey(expected));
    await first.close();

    const second = await startKeymanager(dataDir);
    t.after(() => second.close());
    assert.deepEqual(byPubkey((await second.call("GET", "/eth/v1/keystores")).json.data), byPubkey(expected));
    // Deleted and imported again without a path, the key no longer has one.
    await second.call("DELETE", "/eth/v1/keystores", { pubkeys: [derived.pubkey] });
    await second.call("POST", "/eth/v1/keystores", { keystores: [await withPath(derived, "")], passwords: ["pw"] });
    const list = (await second.call("GET", "/eth/v1/keystores")).json.data;
    assert.deepEqual(list.find((d: { validating_pubkey: string }) => d.validating_pubkey === derived.pubkey), { validating_pubkey: derived.pubkey, readonly: false });
  });

  it("lists the derivation path of keys from --keystores-dir in a running signer", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1 });
    const token = (await readFile(join(signer.dataDir, "api-token.txt"), "utf8")).trim();
    const res = await fetch(`${signer.url}/eth/v1/keystores`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(((await res.json()) as { data: unknown }).data, [{ validating_pubkey: signer.keys[0]!.pubkey, derivation_path: "m/12381/3600/0/0/0", readonly: true }]);
  });
});

/** `base` with its KDF parameters replaced; refused before decryption, it needs no valid checksum. */
const withKdfParams = (base: Awaited<ReturnType<typeof cheapKeystore>>, params: object) =>
  JSON.stringify({ ...base, crypto: { ...base.crypto, kdf: { ...base.crypto.kdf, params: { ...base.crypto.kdf.params, ...params } } } });

describe("hostile keystores: a KDF bound, and imports beside signing", () => {
  const bound = /costs [0-9.]+× staking-deposit-cli's .*; at most 1× is accepted \(--max-keystore-kdf-cost\)/;

  it("refuses a keystore costlier than staking-deposit-cli's, naming the bound, at once: keymanager import and --keystores-dir", async (t) => {
    // Each would hold a core for minutes (and the first 1 GiB) if it were decrypted.
    const heavyScrypt = withKdfParams(await cheapKeystore(randomKey(), "pw", "scrypt"), { n: 2 ** 20, r: 8, p: 1 });
    const heavyPbkdf2 = withKdfParams(await cheapKeystore(randomKey(), "pw"), { c: 2 ** 24 });
    const signer = await startTestSigner(t, {
      prepare: async ({ keystoresDir, passwordsDir }) => {
        await writeFile(join(keystoresDir, "heavy.json"), heavyScrypt);
        await writeFile(join(passwordsDir, "heavy.txt"), "pw");
      },
    });
    const health = (await (await fetch(`${signer.url}/healthcheck`)).json()) as { checks: Array<{ id: string; status: string; data: Record<string, number> }> };
    const keysCheck = health.checks.find((c) => c.id === "keys-check")!;
    // The other key still signs, so keys-check stays UP and names the refused file (Web3Signer's semantics).
    assert.deepEqual([keysCheck.status, keysCheck.data["error-count"], keysCheck.data["keys-loaded"]], ["UP", 1, 1]);
    assert.deepEqual(keysCheck.data["failed-files"], ["heavy.json"]);
    const logged = signer.logs.find((l) => /keystore not loaded/.test(String(l.msg)));
    assert.match(String(logged?.msg), bound);

    const started = performance.now();
    const res = await fetch(`${signer.url}/eth/v1/keystores`, {
      method: "POST",
      headers: { authorization: `Bearer ${signer.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ keystores: Array.from({ length: 100 }, (_, i) => (i % 2 ? heavyScrypt : heavyPbkdf2)), passwords: Array(100).fill("pw") }),
    });
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    const data = ((await res.json()) as { data: Array<{ status: string; message: string }> }).data;
    assert.equal(data.length, 100);
    for (const [i, d] of data.entries()) {
      assert.equal(d.status, "error");
      assert.match(d.message, new RegExp(`^keystores\\[${i}\\]: ${i % 2 ? "scrypt n=1048576, r=8, p=1 costs 4×" : "pbkdf2 c=16777216 costs 64×"}`));
      assert.match(d.message, bound);
    }
    // Fifty of either KDF would take an hour; refused undecrypted, the answer takes a moment.
    assert.ok(elapsed < 3000, `answered in ${elapsed.toFixed(0)} ms`);
  });

  it("takes a costlier keystore with --max-keystore-kdf-cost, and keeps signing while an import decrypts", async (t) => {
    const signer = await startTestSigner(t, { flags: { "max-keystore-kdf-cost": "2" } });
    const keys = [randomKey(), randomKey(), randomKey()];
    const keystores = await Promise.all(keys.map(async (k, i) => JSON.stringify(await costlyKeystore(k, "pw", i === 0 ? 2 : 1))));
    let importDone = false;
    const imported = fetch(`${signer.url}/eth/v1/keystores`, {
      method: "POST",
      headers: { authorization: `Bearer ${signer.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({ keystores, passwords: ["pw", "pw", "pw"] }),
    }).then(async (res) => {
      importDone = true;
      return { status: res.status, data: ((await res.json()) as { data: Array<{ status: string }> }).data };
    });
    // Seconds of KDFs run in their threads: the signer signs meanwhile.
    const { pubkey } = signer.keys[0]!;
    let signedDuringImport = 0;
    for (let target = 1; !importDone; target++) {
      const body = attestationBody(target - 1, target);
      const r = await sign(signer.url, pubkey, body);
      assert.equal(r.status, 200, r.message);
      assert.ok(verifyReturned(pubkey, body, r.signature!));
      if (!importDone) signedDuringImport++;
    }
    const result = await imported;
    assert.equal(result.status, 200);
    assert.deepEqual(result.data.map((d) => d.status), ["imported", "imported", "imported"]);
    assert.ok(signedDuringImport > 0, "signed while the import decrypted");
  });
});
