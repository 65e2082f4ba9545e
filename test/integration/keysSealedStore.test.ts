import { describe, it } from "node:test";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SealedKeyStore, sealContext } from "../../src/keys/sealedStore.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { randomKey, tempDir } from "../helpers/keysFixtures.js";

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const dataDir = await tempDir(t, "sealed");
  const platform = await createDevPlatform(dataDir);
  return { dataDir, platform, store: await SealedKeyStore.open(platform, dataDir) };
}

describe("SealedKeyStore", () => {
  it("round-trips keys through sealed 0600 files, survives a restart, lists and deletes", async (t) => {
    const { dataDir, store } = await setup(t);
    const keys = [randomKey(), randomKey(), randomKey()];
    for (const k of keys) assert.equal(await store.save(k.secretKey), k.pubkey);
    assert.deepEqual(await store.list(), keys.map((k) => k.pubkey).sort());
    for (const k of keys) {
      const file = join(dataDir, "keys", `${k.pubkey}.sealed`);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal(Buffer.from(await readFile(file)).indexOf(Buffer.from(k.secretKey)), -1);
    }
    assert.deepEqual(await readdir(join(dataDir, "keys")).then((n) => n.filter((x) => x.startsWith("."))), []);

    const reopened = await SealedKeyStore.open(await createDevPlatform(dataDir), dataDir);
    const loaded = await reopened.loadAll();
    assert.deepEqual(loaded.errors, []);
    assert.equal(loaded.keys.length, 3);
    for (const k of keys) {
      const got = loaded.keys.find((l) => l.pubkey === k.pubkey)!;
      assert.deepEqual(got.secretKey, k.secretKey);
    }

    assert.equal(await store.delete(keys[0]!.pubkey.toUpperCase().replace("0X", "0x")), true);
    assert.equal(await store.delete(keys[0]!.pubkey), false);
    assert.deepEqual(await store.list(), keys.slice(1).map((k) => k.pubkey).sort());
  });

  it("refuses a tampered, swapped, mismatched or misnamed file by name and loads the rest", async (t) => {
    const { dataDir, platform, store } = await setup(t);
    const [good, tampered, victim, mismatched] = [randomKey(), randomKey(), randomKey(), randomKey()];
    for (const k of [good, tampered, victim]) await store.save(k.secretKey);
    const fileOf = (pubkey: string) => join(dataDir, "keys", `${pubkey}.sealed`);

    const bytes = await readFile(fileOf(tampered.pubkey));
    bytes[bytes.length - 20]! ^= 0x80;
    await writeFile(fileOf(tampered.pubkey), bytes);
    // The good key's blob copied over another key's file: the context (pubkey) no longer matches.
    await copyFile(fileOf(good.pubkey), fileOf(victim.pubkey));
    // Correctly sealed for the name's context, but holding some other key's secret.
    await writeFile(fileOf(mismatched.pubkey), await platform.seal(good.secretKey, sealContext(mismatched.pubkey)));
    await writeFile(join(dataDir, "keys", "notes.txt"), "hello");

    const { keys, errors } = await store.loadAll();
    assert.deepEqual(keys.map((k) => k.pubkey), [good.pubkey]);
    assert.deepEqual(keys[0]!.secretKey, good.secretKey);
    const byFile = new Map(errors.map((e) => [e.file, e.message]));
    assert.equal(errors.length, 4);
    assert.match(byFile.get(fileOf(tampered.pubkey))!, new RegExp(`${tampered.pubkey}\\.sealed: cannot unseal: .*failed authentication`));
    assert.match(byFile.get(fileOf(victim.pubkey))!, /cannot unseal/);
    assert.match(byFile.get(fileOf(mismatched.pubkey))!, new RegExp(`unsealed secret belongs to ${good.pubkey}, not ${mismatched.pubkey}`));
    assert.match(byFile.get(join(dataDir, "keys", "notes.txt"))!, /not a sealed key file/);
  });

  it("loads a directory of more keys than it reads at once in name order, each file's error on that file", { timeout: 20_000 }, async (t) => {
    const { dataDir, store } = await setup(t);
    const keys = Array.from({ length: 150 }, () => randomKey());
    for (const k of keys) await store.save(k.secretKey);
    // Failures in the first and the last read batch: a directory with a key file's name (before
    // every real key, whose first hex digit is 8 to b), and a file that is not a key's.
    const sorted = keys.map((k) => k.pubkey).sort();
    await mkdir(join(dataDir, "keys", `0x7${"f".repeat(95)}.sealed`));
    await writeFile(join(dataDir, "keys", "zz-notes.txt"), "hello");
    // Not named as a key, so never read: reading a pipe nobody writes to would never end.
    execFileSync("mkfifo", [join(dataDir, "keys", "zz-pipe")]);
    const { keys: loaded, errors } = await store.loadAll();
    assert.deepEqual(loaded.map((k) => k.pubkey), sorted);
    for (const k of keys) assert.deepEqual(loaded.find((l) => l.pubkey === k.pubkey)!.secretKey, k.secretKey);
    assert.deepEqual(
      errors.map((e) => e.message.replace(dataDir, "D").replace(/0x[0-9a-f]{96}/, "PK").replace(/: EISDIR.*/, ": EISDIR")),
      [
        "D/keys/PK.sealed: cannot unseal: EISDIR",
        "D/keys/zz-notes.txt: not a sealed key file (expected <0x-pubkey>.sealed)",
        "D/keys/zz-pipe: not a sealed key file (expected <0x-pubkey>.sealed)",
      ],
    );
  });

  it("seals a key's derivation path with it; a file holding the secret alone, as earlier versions wrote, loads without one", async (t) => {
    const { dataDir, platform, store } = await setup(t);
    const [derived, underived, legacy] = [randomKey(), randomKey(), randomKey()];
    await store.save(derived.secretKey, { path: "m/12381/3600/3/0/0" });
    await store.save(underived.secretKey, { path: "" });
    await writeFile(join(dataDir, "keys", `${legacy.pubkey}.sealed`), await platform.seal(legacy.secretKey, sealContext(legacy.pubkey)));
    const file = join(dataDir, "keys", `${derived.pubkey}.sealed`);
    assert.equal(Buffer.from(await readFile(file)).indexOf("m/12381"), -1);
    // A key without a path is written exactly as before: the secret alone.
    const plain = await platform.unseal(new Uint8Array(await readFile(join(dataDir, "keys", `${underived.pubkey}.sealed`))), sealContext(underived.pubkey));
    assert.deepEqual(plain, underived.secretKey);

    const { keys, errors } = await (await SealedKeyStore.open(await createDevPlatform(dataDir), dataDir)).loadAll();
    assert.deepEqual(errors, []);
    const byPubkey = new Map(keys.map((k) => [k.pubkey, k]));
    assert.equal(byPubkey.get(derived.pubkey)!.path, "m/12381/3600/3/0/0");
    assert.deepEqual(byPubkey.get(derived.pubkey)!.secretKey, derived.secretKey);
    for (const k of [underived, legacy]) {
      assert.equal("path" in byPubkey.get(k.pubkey)!, false);
      assert.deepEqual(byPubkey.get(k.pubkey)!.secretKey, k.secretKey);
    }
  });

  it("refuses a file whose unsealed content is shorter than a secret or carries metadata it does not write", async (t) => {
    const { dataDir, platform, store } = await setup(t);
    const [short, notJson, badPath, good] = [randomKey(), randomKey(), randomKey(), randomKey()];
    const sealAs = async (k: { pubkey: string }, plaintext: Uint8Array) =>
      writeFile(join(dataDir, "keys", `${k.pubkey}.sealed`), await platform.seal(plaintext, sealContext(k.pubkey)));
    const withTail = (k: { secretKey: Uint8Array }, tail: string) => new Uint8Array([...k.secretKey, ...Buffer.from(tail)]);
    await sealAs(short, short.secretKey.slice(0, 31));
    await sealAs(notJson, withTail(notJson, "m/12381"));
    await sealAs(badPath, withTail(badPath, JSON.stringify({ path: 7 })));
    await store.save(good.secretKey, { path: "m/12381/3600/0/0/0" });
    const { keys, errors } = await store.loadAll();
    assert.deepEqual(keys.map((k) => k.pubkey), [good.pubkey]);
    const byFile = new Map(errors.map((e) => [e.file, e.message]));
    const fileOf = (k: { pubkey: string }) => join(dataDir, "keys", `${k.pubkey}.sealed`);
    assert.match(byFile.get(fileOf(short))!, /unsealed, but holds 31 bytes, fewer than a 32-byte secret key/);
    assert.match(byFile.get(fileOf(notJson))!, /unsealed, but the key's metadata is not UTF-8 JSON/);
    assert.match(byFile.get(fileOf(badPath))!, /unsealed, but the key's metadata is invalid \(\/path: /);
  });

  it("refuses to save a secret that is not a BLS key", async (t) => {
    const { store } = await setup(t);
    await assert.rejects(store.save(new Uint8Array(32)), { code: "INVALID_SECRET" });
    await assert.rejects(store.save(new Uint8Array(32).fill(0xff)), { code: "INVALID_SECRET" });
  });
});
