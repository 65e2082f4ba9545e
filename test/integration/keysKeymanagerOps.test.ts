import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, rename, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { WorkerPoolSigningKeys } from "../../src/bls/pool.js";
import { derivedPair } from "../../src/bls/keyPair.js";
import type { SigningKeys } from "../../src/bls/signingKeys.js";
import { deleteKeys, importKeystores, type DeleteCollaborators, type ImportCollaborators } from "../../src/keys/keymanagerOps.js";
import { KeyRegistry } from "../../src/keys/registry.js";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { openSqliteStore } from "../../src/slashing/sqlite.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { cheapKeystore, randomKey, tempDir, type TestKey } from "../helpers/keysFixtures.js";

const GVR = "0x" + "42".repeat(32);
const ROOT = new Uint8Array(32).fill(7);

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<ImportCollaborators & DeleteCollaborators & { keys: SigningKeys }> {
  const dir = await tempDir(t, "kmops");
  const keys = new WorkerPoolSigningKeys(1);
  t.after(() => keys.close());
  const slashing = await openSqliteStore(join(dir, "slashing.sqlite"), { genesisValidatorsRoot: GVR });
  t.after(() => slashing.close());
  const sealedStore = await SealedKeyStore.open(await createDevPlatform(dir), join(dir, "data"));
  return {
    keys,
    registry: new KeyRegistry(keys, sealedStore),
    sealedStore,
    slashing,
    maxKdfCost: 1,
    genesisValidatorsRoot: GVR,
    onExportFailed: (e) => assert.fail(`export failed: ${String(e)}`),
  };
}

const keystore = async (key: TestKey) => JSON.stringify(await cheapKeystore(key, "pw"));

/** Something real in the way of a key's sealed file: a directory, which can be neither renamed onto nor rm'd. */
async function blockSealedFile(sealedStore: SealedKeyStore, pubkey: string): Promise<string> {
  const file = join(sealedStore.dir, `${pubkey}.sealed`);
  await mkdir(file);
  return file;
}

describe("keymanager key changes, with real sealed files, BLS workers and SQLite", () => {
  it("never adds a key it could not seal", async (t) => {
    const s = await setup(t);
    const [blocked, fine] = [randomKey(), randomKey()];
    await blockSealedFile(s.sealedStore, blocked.pubkey);
    const statuses = await importKeystores({ keystores: [await keystore(blocked), await keystore(fine)], passwords: ["pw", "pw"] }, s);
    assert.equal(statuses[0]!.status, "error");
    assert.match(statuses[0]!.message!, /^keystores\[0\]: .*EISDIR/);
    assert.deepEqual(statuses[1], { status: "imported" });
    assert.deepEqual(s.keys.pubkeys(), [fine.pubkey]);
    assert.deepEqual((await s.registry.list()).map((l) => l.pubkey), [fine.pubkey]);
  });

  it("stops a key signing before removing its file: when the file cannot go, the key is stopped all the same and keeps its records", async (t) => {
    const s = await setup(t);
    const key = randomKey();
    const interchange = {
      metadata: { interchange_format_version: "5", genesis_validators_root: GVR },
      data: [{ pubkey: key.pubkey, signed_blocks: [{ slot: "9" }], signed_attestations: [] }],
    };
    const imported = await importKeystores({ keystores: [await keystore(key)], passwords: ["pw"], slashing_protection: JSON.stringify(interchange) }, s);
    assert.deepEqual(imported, [{ status: "imported" }]);
    await s.keys.sign(key.pubkey, ROOT);

    const file = join(s.sealedStore.dir, `${key.pubkey}.sealed`);
    await rename(file, `${file}.aside`);
    await blockSealedFile(s.sealedStore, key.pubkey);
    const failed = await deleteKeys([key.pubkey], s);
    assert.equal(failed.data[0]!.status, "error");
    assert.match(failed.data[0]!.message!, new RegExp(`^${key.pubkey}: .*directory`));
    assert.equal(s.keys.has(key.pubkey), false);
    await assert.rejects(s.keys.sign(key.pubkey, ROOT), { code: "KEY_NOT_LOADED" });
    assert.deepEqual(await s.sealedStore.list(), [key.pubkey]);

    // Once the file can go, deleting again removes it and returns the key's records.
    await rmdir(file);
    await rename(`${file}.aside`, file);
    const again = await deleteKeys([key.pubkey], s);
    assert.deepEqual(again.data, [{ status: "not_active" }]);
    assert.deepEqual(JSON.parse(again.slashing_protection).data, interchange.data);
    assert.deepEqual(await s.sealedStore.list(), []);
  });

  it("refuses to delete a read-only key with the reason that applies to it", async (t) => {
    const s = await setup(t);
    const [fromDir, sealedToo, orphan] = [randomKey(), randomKey(), randomKey()];
    // As KeystoreDirKeys loads a directory key; sealedToo was imported through the API as well.
    await s.registry.install([derivedPair(fromDir.pubkey, fromDir.secretKey.slice())], "keystore-dir");
    assert.deepEqual(await importKeystores({ keystores: [await keystore(sealedToo), await keystore(orphan)], passwords: ["pw", "pw"] }, s), [
      { status: "imported" },
      { status: "imported" },
    ]);
    await s.registry.install([derivedPair(sealedToo.pubkey, sealedToo.secretKey.slice())], "keystore-dir");
    // A sealed file removed by hand while the signer runs (`secure-signer keys delete` refuses to).
    assert.ok(await s.sealedStore.delete(orphan.pubkey));

    const refused = await deleteKeys([fromDir.pubkey, sealedToo.pubkey, orphan.pubkey], s);
    assert.deepEqual(refused.data, [
      { status: "error", message: `${fromDir.pubkey} was loaded from a keystore directory and is read-only` },
      { status: "error", message: `${sealedToo.pubkey} was loaded from a keystore directory and is read-only` },
      {
        status: "error",
        message: `${orphan.pubkey} has no sealed file in the data directory (removed while the signer ran; it signs until the next start) and is read-only`,
      },
    ]);
    for (const key of [fromDir, sealedToo, orphan]) await s.keys.sign(key.pubkey, ROOT);
    assert.deepEqual(await s.sealedStore.list(), [sealedToo.pubkey]);
  });
});
