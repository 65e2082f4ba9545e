import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { TransportKey } from "../../src/keys/transport.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { createPlatform, STATE_KEY_FILE } from "../../src/tee/index.js";
import { openStateKey, provideEncryptedFsKey } from "../../src/tee/stateKey.js";
import { randomKey, tempDir } from "../helpers/keysFixtures.js";

const magic = async (file: string) => (await readFile(file)).subarray(0, 4).toString("latin1");

describe("state master key", () => {
  it("is made on first start, sealed by the platform, and seals every key from then on", async (t) => {
    const dataDir = await tempDir(t, "state-key");
    const platform = await createPlatform("dev", { dataDir });
    assert.equal(await magic(join(dataDir, STATE_KEY_FILE)), "SSDV", "the master key itself is sealed by the platform");
    const store = await SealedKeyStore.open(platform, dataDir);
    const key = randomKey();
    await store.save(key.secretKey);
    assert.equal(await magic(join(store.dir, `${key.pubkey}.sealed`)), "SSMK");
    const again = await SealedKeyStore.open(await createPlatform("dev", { dataDir }), dataDir);
    const loaded = await again.loadAll();
    assert.deepEqual(loaded.errors, []);
    assert.deepEqual(loaded.keys.map((k) => k.pubkey), [key.pubkey]);
  });

  it("opens files sealed before it existed and re-seals them under it", async (t) => {
    const dataDir = await tempDir(t, "state-legacy");
    // What a data directory from before the master key holds: keys and the transport key sealed by the platform itself.
    const legacy = await createDevPlatform(dataDir);
    const key = randomKey();
    const keyFile = join(dataDir, "keys", `${key.pubkey}.sealed`);
    await (await SealedKeyStore.open(legacy, dataDir)).save(key.secretKey, { path: "m/12381/3600/0/0/0" });
    const transportBefore = await TransportKey.open(legacy, dataDir);
    assert.equal(await magic(keyFile), "SSDV");

    const platform = await createPlatform("dev", { dataDir });
    const first = await (await SealedKeyStore.open(platform, dataDir)).loadAll();
    assert.deepEqual(first.keys.map((k) => [k.pubkey, k.path]), [[key.pubkey, "m/12381/3600/0/0/0"]]);
    assert.equal(await magic(keyFile), "SSMK", "migrated on first open");
    assert.equal((await TransportKey.open(platform, dataDir)).publicKeyHex, transportBefore.publicKeyHex);
    assert.equal(await magic(join(dataDir, "transport-key.sealed")), "SSMK");

    // Migrated, they open under the master key alone: the dev secret's own blobs no longer matter.
    const second = await (await SealedKeyStore.open(await createPlatform("dev", { dataDir }), dataDir)).loadAll();
    assert.deepEqual(second.keys.map((k) => [k.pubkey, k.path]), [[key.pubkey, "m/12381/3600/0/0/0"]]);
  });

  it("does not open under another platform's seal, naming the migration", async (t) => {
    const dataDir = await tempDir(t, "state-other");
    const file = join(dataDir, "state.sealed");
    await openStateKey(await createDevPlatform(join(dataDir, "a")), file);
    await assert.rejects(openStateKey(await createDevPlatform(join(dataDir, "b")), file), /does not open.*migration/);
  });

  it("gives Gramine's encrypted mount a 16-byte key that follows the master key, not the platform", async (t) => {
    const dataDir = await tempDir(t, "state-fs");
    const file = join(dataDir, "state.sealed");
    const platform = await createDevPlatform(join(dataDir, "dev"));
    await provideEncryptedFsKey(await openStateKey(platform, file), join(dataDir, "fs-key"));
    const key = await readFile(join(dataDir, "fs-key"));
    assert.equal(key.length, 16);
    await provideEncryptedFsKey(await openStateKey(platform, file), join(dataDir, "fs-key-again"));
    assert.deepEqual(await readFile(join(dataDir, "fs-key-again")), key);
    await provideEncryptedFsKey(await openStateKey(platform, join(dataDir, "other.sealed")), join(dataDir, "fs-key-other"));
    assert.notDeepEqual(await readFile(join(dataDir, "fs-key-other")), key);
  });
});
