import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { derivedPair } from "../../src/bls/keyPair.js";
import { LocalSigningKeys } from "../../src/bls/localKeys.js";
import { KeyRegistry } from "../../src/keys/registry.js";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { randomKey, tempDir } from "../helpers/keysFixtures.js";

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const dir = await tempDir(t, "registry");
  const sealedStore = await SealedKeyStore.open(await createDevPlatform(dir), dir);
  const signing = new LocalSigningKeys();
  return { sealedStore, signing, registry: new KeyRegistry(signing, sealedStore) };
}

const copy = (k: ReturnType<typeof randomKey>, path?: string) => ({ ...derivedPair(k.pubkey, k.secretKey.slice()), ...(path && { path }) });

describe("KeyRegistry", () => {
  it("installs keys in order with their paths, stops after the lot holding one it cannot add, and wipes every secret", async (t) => {
    const { registry, signing } = await setup(t);
    const keys = Array.from({ length: 150 }, randomKey);
    const loaded = keys.map((k, i) => copy(k, `m/12381/3600/${i}/0/0`));
    // More keys than are added at once.
    assert.deepEqual(await registry.install(loaded.slice(0, 70), "sealed"), keys.slice(0, 70).map((k) => k.pubkey));

    // 81 keys: the first lot of 64 holds the bad one and keys 70..132, the second keys 133..149.
    const bad = derivedPair("0x" + "00".repeat(48), new Uint8Array(32));
    const rest = [...loaded.slice(70, 80), bad, ...loaded.slice(80)];
    await assert.rejects(registry.install(rest, "sealed"));
    assert.deepEqual(signing.pubkeys(), keys.slice(0, 133).map((k) => k.pubkey));
    const listed = await registry.list();
    assert.deepEqual(listed.map((l) => l.pubkey), signing.pubkeys(), "the registry holds exactly what signs");
    assert.equal(listed[132]!.path, "m/12381/3600/132/0/0", "a key added beside the bad one has its path");
    for (const key of [...loaded, ...rest]) assert.ok(key.secretKey.every((b) => b === 0), "every secret is wiped");
  });

  it("keeps one entry per key, whatever origins bring it, read-only while a keystore directory does", async (t) => {
    const { registry, signing, sealedStore } = await setup(t);
    const both = randomKey();
    await sealedStore.save(both.secretKey.slice());
    await registry.loadSealed();
    await registry.install([copy(both, "m/12381/3600/7/0/0")], "keystore-dir");
    assert.deepEqual(signing.pubkeys(), [both.pubkey]);
    assert.deepEqual(await registry.list(), [{ pubkey: both.pubkey, path: "m/12381/3600/7/0/0", readOnly: true }]);

    // The directory lets go: sealed as well, so it signs on and the API may delete it.
    assert.deepEqual(await registry.release([both.pubkey], "keystore-dir"), []);
    assert.deepEqual(await registry.list(), [{ pubkey: both.pubkey, path: "m/12381/3600/7/0/0", readOnly: false }]);
    assert.ok(signing.has(both.pubkey));
  });

  it("a released key stops signing unless a sealed file for it appeared meanwhile", async (t) => {
    const { registry, signing, sealedStore } = await setup(t);
    const [dirOnly, sealedLater] = [randomKey(), randomKey()];
    await registry.install([copy(dirOnly), copy(sealedLater)], "keystore-dir");
    // An offline `keys import` of the second key's keystore while the signer ran.
    await sealedStore.save(sealedLater.secretKey.slice());
    assert.deepEqual(await registry.release([dirOnly.pubkey, sealedLater.pubkey], "keystore-dir"), [dirOnly.pubkey]);
    assert.deepEqual(signing.pubkeys(), [sealedLater.pubkey]);
    assert.deepEqual(await registry.list(), [{ pubkey: sealedLater.pubkey, readOnly: false }]);
    assert.equal(registry.has(dirOnly.pubkey), false);
  });

  it("names why a key is read-only: from a directory, or its sealed file gone", async (t) => {
    const { registry, sealedStore } = await setup(t);
    const [fromDir, sealed, lost] = [randomKey(), randomKey(), randomKey()];
    await registry.install([copy(fromDir)], "keystore-dir");
    for (const k of [sealed, lost]) await sealedStore.save(k.secretKey.slice());
    await registry.loadSealed();
    await sealedStore.delete(lost.pubkey);
    const files = new Set(await sealedStore.list());
    assert.match(registry.readOnlyReason(fromDir.pubkey, files)!, /keystore directory/);
    assert.equal(registry.readOnlyReason(sealed.pubkey, files), undefined);
    assert.match(registry.readOnlyReason(lost.pubkey, files)!, /no sealed file/);
    assert.equal(await registry.remove(sealed.pubkey), true);
    assert.equal(await registry.remove(sealed.pubkey), false);
  });
});
