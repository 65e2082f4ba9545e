import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalSigningKeys } from "../../src/bls/localKeys.js";
import { importKeystoreDirToSealed, importRequestFromDir } from "../../src/keys/lifecycle.js";
import { KeyRegistry } from "../../src/keys/registry.js";
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
  it("imports a keystore dir into the sealed store once, with progress, and loads it back", async (t) => {
    const { dir, keys } = await keystoreDir(t, 3);
    const store = await SealedKeyStore.open(await createDevPlatform(dir), join(dir, "data"));
    const progress: string[] = [];
    const first = await importKeystoreDirToSealed(join(dir, "ks"), join(dir, "pw"), store, {
      maxKdfCost: 1,
      onProgress: (done, total, file) => progress.push(`${done}/${total} ${file.replace(/^.*\//, "")}`),
    });
    assert.deepEqual(first.imported.sort(), keys.map((k) => k.pubkey).sort());
    assert.equal(first.errors.length, 1);
    assert.match(first.errors[0]!.message, /bad\.json is not a valid EIP-2335 keystore/);
    assert.equal(progress.length, 4);
    assert.ok(progress.some((p) => p.startsWith("4/4")));

    const second = await importKeystoreDirToSealed(join(dir, "ks"), join(dir, "pw"), store, { maxKdfCost: 1 });
    assert.deepEqual(second.imported, []);
    assert.deepEqual(second.existing.sort(), keys.map((k) => k.pubkey).sort());

    const signing = new LocalSigningKeys();
    const registry = new KeyRegistry(signing, store);
    const loaded = await registry.loadSealed();
    assert.deepEqual(loaded.errors, []);
    assert.deepEqual(signing.pubkeys().sort(), keys.map((k) => k.pubkey).sort());
    // The keystores' path was sealed with each key.
    for (const listed of await registry.list()) assert.equal(listed.path, "m/12381/3600/0/0/0");
  });

  it("builds an import request from a dir without decrypting, ready to encrypt for a signer", async (t) => {
    const { dir, keys } = await keystoreDir(t, 2);
    const { request, files, errors } = await importRequestFromDir(join(dir, "ks"), join(dir, "pw"), 1, '{"x":1}');
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
