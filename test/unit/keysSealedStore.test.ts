import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
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

  it("refuses to save a secret that is not a BLS key", async (t) => {
    const { store } = await setup(t);
    await assert.rejects(store.save(new Uint8Array(32)), { code: "INVALID_SECRET" });
    await assert.rejects(store.save(new Uint8Array(32).fill(0xff)), { code: "INVALID_SECRET" });
  });
});
