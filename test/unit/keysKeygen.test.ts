import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { LocalSigningKeys } from "../../src/bls/localKeys.js";
import { generateKeys } from "../../src/keys/keygen.js";
import { KeyRegistry } from "../../src/keys/registry.js";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { tempDir } from "../helpers/keysFixtures.js";

describe("generateKeys", () => {
  it("seals distinct keys that load after a restart and sign verifiably", async (t) => {
    const dataDir = await tempDir(t, "keygen");
    const store = await SealedKeyStore.open(await createDevPlatform(dataDir), dataDir);
    const keys = new LocalSigningKeys();
    const generated = await generateKeys(5, { sealedStore: store, registry: new KeyRegistry(keys, store) });
    const pubkeys = generated.map((g) => g.pubkey);
    assert.deepEqual(generated.map((g) => g.provenance), [1, 2, 3, 4, 5].map((counter) => ({ origin: "generated", counter })));
    assert.equal(new Set(pubkeys).size, 5);
    assert.deepEqual(keys.pubkeys(), pubkeys);
    assert.deepEqual(await store.list(), [...pubkeys].sort());

    const reloaded = await (await SealedKeyStore.open(await createDevPlatform(dataDir), dataDir)).loadAll();
    assert.deepEqual(reloaded.errors, []);
    const fresh = new LocalSigningKeys();
    for (const k of reloaded.keys) await fresh.add(k);
    const message = new Uint8Array(32).fill(7);
    for (const pubkey of pubkeys) {
      const sig = await fresh.sign(pubkey, message);
      assert.ok(verify(message, PublicKey.fromHex(pubkey), Signature.fromBytes(sig)));
    }
  });

  it("refuses counts outside 1..1000", async (t) => {
    const dataDir = await tempDir(t, "keygen2");
    const store = await SealedKeyStore.open(await createDevPlatform(dataDir), dataDir);
    for (const count of [0, -1, 1.5, 1001, Number.NaN]) {
      await assert.rejects(generateKeys(count, { sealedStore: store }), { code: "INVALID_INPUT" });
    }
    assert.deepEqual(await store.list(), []);
  });
});
