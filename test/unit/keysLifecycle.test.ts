import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalSigningKeys } from "../../src/bls/localKeys.js";
import { DerivationPaths } from "../../src/keys/derivationPaths.js";
import { addAll, importKeystoreDirToSealed, importRequestFromDir, loadSealedKeys } from "../../src/keys/lifecycle.js";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { encryptImportRequest, IMPORT_PURPOSE, TransportKey } from "../../src/keys/transport.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { cheapKeystore, randomKey, tempDir } from "../helpers/keysFixtures.js";

async function keystoreDir(t: { after(fn: () => Promise<void>): void }, good: number) {
  const dir = await tempDir(t, "life");
  await mkdir(join(dir, "ks"));
  await mkdir(join(dir, "pw"));
  const keys = Array.from({ length: good }, randomKey);
  for (const [i, k] of keys.entries()) {
    await writeFile(join(dir, "ks", `k${i}.json`), JSON.stringify(await cheapKeystore(k, `pw${i}`)));
    await writeFile(join(dir, "pw", `k${i}.txt`), `pw${i}\n`);
  }
  await writeFile(join(dir, "ks", "bad.json"), JSON.stringify({ version: 4 }));
  await writeFile(join(dir, "pw", "bad.txt"), "x");
  return { dir, keys };
}

describe("key lifecycle functions", () => {
  it("adds keys in order with their paths, stops after the lot holding one it cannot add, and wipes every secret", async () => {
    const keys = Array.from({ length: 150 }, randomKey);
    const loaded = keys.map((k, i) => ({ secretKey: k.secretKey.slice(), path: `m/12381/3600/${i}/0/0` }));
    const signing = new LocalSigningKeys();
    const paths = new DerivationPaths();
    // More keys than are added at once.
    assert.deepEqual(await addAll(signing, loaded.slice(0, 70), paths), keys.slice(0, 70).map((k) => k.pubkey));
    assert.equal(paths.get(keys[69]!.pubkey), "m/12381/3600/69/0/0");

    // 81 keys: the first lot of 64 holds the bad one and keys 70..132, the second keys 133..149.
    const rest = [...loaded.slice(70, 80), { secretKey: new Uint8Array(32) }, ...loaded.slice(80)];
    await assert.rejects(addAll(signing, rest, paths), { code: "INVALID_INPUT" });
    assert.deepEqual(signing.pubkeys(), keys.slice(0, 133).map((k) => k.pubkey));
    assert.equal(paths.get(keys[132]!.pubkey), "m/12381/3600/132/0/0", "a key added beside the bad one has its path");
    for (const key of [...loaded, ...rest]) assert.ok(key.secretKey.every((b) => b === 0), "every secret is wiped");
  });

  it("imports a keystore dir into the sealed store once, with progress, and loads it back", async (t) => {
    const { dir, keys } = await keystoreDir(t, 3);
    const store = await SealedKeyStore.open(await createDevPlatform(dir), join(dir, "data"));
    const progress: string[] = [];
    const first = await importKeystoreDirToSealed(join(dir, "ks"), join(dir, "pw"), store, {
      onProgress: (done, total, file) => progress.push(`${done}/${total} ${file.replace(/^.*\//, "")}`),
    });
    assert.deepEqual(first.imported.sort(), keys.map((k) => k.pubkey).sort());
    assert.equal(first.errors.length, 1);
    assert.match(first.errors[0]!.message, /bad\.json is not a valid EIP-2335 keystore/);
    assert.equal(progress.length, 4);
    assert.ok(progress.some((p) => p.startsWith("4/4")));

    const second = await importKeystoreDirToSealed(join(dir, "ks"), join(dir, "pw"), store);
    assert.deepEqual(second.imported, []);
    assert.deepEqual(second.existing.sort(), keys.map((k) => k.pubkey).sort());

    const signing = new LocalSigningKeys();
    const paths = new DerivationPaths();
    const loaded = await loadSealedKeys(store, signing, paths);
    assert.deepEqual(loaded.errors, []);
    assert.deepEqual(signing.pubkeys().sort(), keys.map((k) => k.pubkey).sort());
    // The keystores' path was sealed with each key.
    for (const k of keys) assert.equal(paths.get(k.pubkey), "m/12381/3600/0/0/0");
  });

  it("builds an import request from a dir without decrypting, ready to encrypt for a signer", async (t) => {
    const { dir, keys } = await keystoreDir(t, 2);
    const { request, files, errors } = await importRequestFromDir(join(dir, "ks"), join(dir, "pw"), '{"x":1}');
    assert.equal(errors.length, 1);
    assert.deepEqual(files.map((f) => f.replace(/^.*\//, "")), ["k0.json", "k1.json"]);
    assert.deepEqual(request.passwords, ["pw0", "pw1"]);
    assert.equal(JSON.parse(request.keystores[0]!).pubkey, keys[0]!.pubkey.slice(2));
    assert.equal(request.slashing_protection, '{"x":1}');

    const transport = await TransportKey.open(await createDevPlatform(dir), dir);
    const body = encryptImportRequest(transport.publicKeyHex, request);
    const opened = JSON.parse(Buffer.from(transport.decrypt(body.transport_encrypted, IMPORT_PURPOSE)).toString());
    assert.deepEqual(opened, request);
  });
});
