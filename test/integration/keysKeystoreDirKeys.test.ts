import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalSigningKeys } from "../../src/bls/localKeys.js";
import { loadKeystoreDir } from "../../src/keys/keystoreDir.js";
import { KeystoreDirKeys } from "../../src/keys/keystoreDirKeys.js";
import { KeyRegistry } from "../../src/keys/registry.js";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { Exclusive } from "../../src/util/exclusive.js";
import { cheapKeystore, randomKey, tempDir, type TestKey } from "../helpers/keysFixtures.js";

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const dir = await tempDir(t, "dirkeys");
  const keystoresDir = join(dir, "keystores");
  const passwordsDir = join(dir, "passwords");
  await mkdir(keystoresDir);
  await mkdir(passwordsDir);
  const keys = new LocalSigningKeys();
  const sealedStore = await SealedKeyStore.open(await createDevPlatform(dir), join(dir, "data"));
  const registry = new KeyRegistry(keys, sealedStore);
  const mutations = new Exclusive();
  const dirKeys = new KeystoreDirKeys({ keystoresDir, passwordsDir, registry, mutations, maxKdfCost: 1 });
  /** The keys the keymanager API lists read-only: here, every key from the directory. */
  const readOnly = async () => new Set((await registry.list()).filter((l) => l.readOnly).map((l) => l.pubkey));
  const pathOf = async (pubkey: string) => (await registry.list()).find((l) => l.pubkey === pubkey)?.path;
  const write = async (name: string, key: TestKey, password = `pw-${name}`, passwordFile = password) => {
    await writeFile(join(keystoresDir, `${name}.json`), JSON.stringify(await cheapKeystore(key, password)));
    await writeFile(join(passwordsDir, `${name}.txt`), passwordFile);
  };
  const counts = async () => {
    const { errors, ...rest } = await dirKeys.reload();
    return { ...rest, failed: errors.length };
  };
  return { dir, keystoresDir, passwordsDir, keys, registry, readOnly, pathOf, sealedStore, mutations, dirKeys, write, counts };
}

describe("KeystoreDirKeys", () => {
  it("adds what appeared, removes what is gone, and decrypts only new or changed keystores", async (t) => {
    const s = await setup(t);
    const [k0, k1, k2, k3, k4] = Array.from({ length: 5 }, randomKey) as [TestKey, TestKey, TestKey, TestKey, TestKey];
    await s.write("k0", k0);
    await s.write("k1", k1);
    await s.write("k2", k2, "right", "wrong");
    assert.deepEqual(await s.counts(), { added: 2, removed: 0, unchanged: 0, decrypted: 3, failed: 1 });
    assert.match(s.dirKeys.errors[0]!.message, /k2\.json.*password/);
    assert.deepEqual(new Set(s.keys.pubkeys()), new Set([k0.pubkey, k1.pubkey]));
    assert.deepEqual(await s.readOnly(), new Set([k0.pubkey, k1.pubkey]));
    assert.equal(await s.pathOf(k0.pubkey), "m/12381/3600/0/0/0");

    // Nothing changed: the loaded files are recognised, and so is the failing one, whose refusal is reported again.
    const refused = s.dirKeys.errors;
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 2, decrypted: 0, failed: 1 });
    assert.deepEqual(s.dirKeys.errors, refused);

    await writeFile(join(s.passwordsDir, "k2.txt"), "right");
    await s.write("k3", k3);
    await rm(join(s.keystoresDir, "k0.json"));
    // A renamed file is decrypted again but holds a key already loaded: unchanged.
    await rename(join(s.keystoresDir, "k1.json"), join(s.keystoresDir, "renamed.json"));
    await rename(join(s.passwordsDir, "k1.txt"), join(s.passwordsDir, "renamed.txt"));
    assert.deepEqual(await s.counts(), { added: 2, removed: 1, unchanged: 1, decrypted: 3, failed: 0 });
    assert.deepEqual(s.dirKeys.errors, [], "the latest scan's errors, not an accumulation");
    assert.deepEqual(new Set(s.keys.pubkeys()), new Set([k1.pubkey, k2.pubkey, k3.pubkey]));
    assert.deepEqual(await s.readOnly(), new Set([k1.pubkey, k2.pubkey, k3.pubkey]));
    assert.equal(await s.pathOf(k0.pubkey), undefined);

    // Same name, another key: the old key goes, the new one comes.
    await s.write("k3", k4);
    assert.deepEqual(await s.counts(), { added: 1, removed: 1, unchanged: 2, decrypted: 1, failed: 0 });
    assert.deepEqual(new Set(s.keys.pubkeys()), new Set([k1.pubkey, k2.pubkey, k4.pubkey]));

    // A password file that no longer unlocks a loaded keystore: as at a restart, its key stops signing.
    await writeFile(join(s.passwordsDir, "k2.txt"), "wrong");
    assert.deepEqual(await s.counts(), { added: 0, removed: 1, unchanged: 2, decrypted: 1, failed: 1 });
    assert.ok(!s.keys.has(k2.pubkey));
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 2, decrypted: 0, failed: 1 });
  });

  it("decrypts a refused keystore again only when its keystore or password file changes", async (t) => {
    const s = await setup(t);
    const [wrong, mismatched, other] = [randomKey(), randomKey(), randomKey()];
    await s.write("wrong", wrong, "right", "wrong");
    // Decrypts with its password, but to another key than its pubkey says.
    await writeFile(join(s.keystoresDir, "mismatch.json"), JSON.stringify({ ...(await cheapKeystore(mismatched, "pw")), pubkey: other.pubkey.slice(2) }));
    await writeFile(join(s.passwordsDir, "mismatch.txt"), "pw");
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 0, decrypted: 2, failed: 2 });
    const refused = s.dirKeys.errors;
    assert.deepEqual(refused.map((e) => e.code), ["PUBKEY_MISMATCH", "WRONG_PASSWORD"]);
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 0, decrypted: 0, failed: 2 });
    assert.deepEqual(s.dirKeys.errors, refused, "reported again, as when they were decrypted");

    // The same key and password in a new keystore file (a new salt) is a change; a password file
    // written again with the same content is not.
    await s.write("wrong", wrong, "right", "wrong");
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 0, decrypted: 1, failed: 2 });
    await writeFile(join(s.passwordsDir, "wrong.txt"), "wrong");
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 0, decrypted: 0, failed: 2 });

    await writeFile(join(s.passwordsDir, "wrong.txt"), "right");
    assert.deepEqual(await s.counts(), { added: 1, removed: 0, unchanged: 0, decrypted: 1, failed: 1 });
    assert.ok(s.keys.has(wrong.pubkey));
    await writeFile(join(s.keystoresDir, "mismatch.json"), JSON.stringify(await cheapKeystore(mismatched, "pw")));
    assert.deepEqual(await s.counts(), { added: 1, removed: 0, unchanged: 1, decrypted: 1, failed: 0 });
    assert.deepEqual(new Set(s.keys.pubkeys()), new Set([wrong.pubkey, mismatched.pubkey]));
  });

  it("keeps a key that is sealed too when its keystore goes, and refuses a second file with a loaded key", async (t) => {
    const s = await setup(t);
    const [sealedKey, other] = [randomKey(), randomKey()];
    await s.sealedStore.save(sealedKey.secretKey);
    await s.registry.loadSealed();
    await s.write("sealed", sealedKey);
    await s.write("other", other);
    assert.deepEqual(await s.counts(), { added: 2, removed: 0, unchanged: 0, decrypted: 2, failed: 0 });
    assert.ok((await s.readOnly()).has(sealedKey.pubkey), "from the directory as well, so read-only");

    await rm(join(s.keystoresDir, "sealed.json"));
    await rm(join(s.keystoresDir, "other.json"));
    // The other key moved to a new file: decrypted again, but it never stopped signing.
    await s.write("twin", other, "another password");
    assert.deepEqual(await s.counts(), { added: 0, removed: 1, unchanged: 1, decrypted: 1, failed: 0 });
    assert.ok(s.keys.has(sealedKey.pubkey), "sealed in the data directory: still signing");
    assert.ok(!(await s.readOnly()).has(sealedKey.pubkey), "and no longer read-only");
    assert.deepEqual(new Set(s.keys.pubkeys()), new Set([sealedKey.pubkey, other.pubkey]));

    await s.write("zcopy", other, "a third password");
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 1, decrypted: 1, failed: 1 });
    assert.match(s.dirKeys.errors[0]!.message, /zcopy\.json: key 0x[0-9a-f]{96} is already loaded from .*twin\.json/);
    // Not a refusal for good: once the other file goes, this one provides the key.
    await rm(join(s.keystoresDir, "twin.json"));
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 1, decrypted: 1, failed: 0 });
    assert.ok(s.keys.has(other.pubkey));
  });

  it("changes keys only while no keymanager mutation runs", async (t) => {
    const s = await setup(t);
    const key = randomKey();
    await s.write("k", key);
    let release!: () => void;
    const held = s.mutations.run(() => new Promise<void>((resolve) => (release = resolve)));
    const reload = s.dirKeys.reload();
    // The reload's own work, started after it: once this is done, the reload waits on the lock alone.
    const yardstick = await loadKeystoreDir(s.keystoresDir, s.passwordsDir, { maxKdfCost: 1, workers: 1 });
    for (const k of yardstick.keys) k.secretKey.fill(0);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!s.keys.has(key.pubkey), "the key waits for the running mutation");
    release();
    await held;
    assert.equal((await reload).added, 1);
    assert.ok(s.keys.has(key.pubkey));
  });

  it("fails as a whole, keeping its keys, when the directory cannot be read", async (t) => {
    const s = await setup(t);
    const key = randomKey();
    await s.write("k", key);
    await s.counts();
    await rename(s.keystoresDir, `${s.keystoresDir}.away`);
    await assert.rejects(s.dirKeys.reload(), { code: "IO_FAILED" });
    assert.equal(s.dirKeys.errors.length, 1);
    assert.equal(s.dirKeys.errors[0]!.file, s.keystoresDir);
    assert.ok(s.keys.has(key.pubkey));
    await rename(`${s.keystoresDir}.away`, s.keystoresDir);
    assert.deepEqual(await s.counts(), { added: 0, removed: 0, unchanged: 1, decrypted: 0, failed: 0 });
    assert.deepEqual(s.dirKeys.errors, []);
  });
});
