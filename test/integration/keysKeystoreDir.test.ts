import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadKeystoreDir } from "../../src/keys/keystoreDir.js";
import { cheapKeystore, randomKey, tempDir } from "../helpers/keysFixtures.js";

async function writeKeystore(dir: string, name: string, keystore: unknown, password?: string) {
  await writeFile(join(dir, "keystores", `${name}.json`), JSON.stringify(keystore));
  if (password !== undefined) await writeFile(join(dir, "passwords", `${name}.txt`), password);
}

describe("loadKeystoreDir", () => {
  it("loads the good keystores and names each bad one with its reason", async (t) => {
    const dir = await tempDir(t, "ksdir");
    await mkdir(join(dir, "keystores"));
    await mkdir(join(dir, "passwords"));
    const good = [randomKey(), randomKey(), randomKey()];
    await writeKeystore(dir, "good0", await cheapKeystore(good[0]!, "pw0"), "pw0\n");
    await writeKeystore(dir, "good1", await cheapKeystore(good[1]!, "pw1", "scrypt"), "pw1\r\n");
    // Only one trailing line break is stripped: the second is part of the password.
    await writeKeystore(dir, "good2", await cheapKeystore(good[2]!, "pw2\n"), "pw2\n\n");

    const wrong = randomKey();
    await writeKeystore(dir, "wrongpw", await cheapKeystore(wrong, "right"), "wrong");
    await writeKeystore(dir, "nopw", await cheapKeystore(randomKey(), "x"));
    await writeFile(join(dir, "keystores", "notjson.json"), "{ nope");
    await writeFile(join(dir, "passwords", "notjson.txt"), "x");
    const bad = await cheapKeystore(randomKey(), "x");
    await writeKeystore(dir, "schema", { ...bad, version: 3 }, "x");
    const other = randomKey();
    const mismatched = await cheapKeystore(randomKey(), "x");
    await writeKeystore(dir, "mismatch", { ...mismatched, pubkey: other.pubkey.slice(2) }, "x");
    await writeKeystore(dir, "zdup", await cheapKeystore(good[0]!, "d"), "d");
    await writeFile(join(dir, "keystores", "README.md"), "not a keystore");

    const progress: number[] = [];
    const result = await loadKeystoreDir(join(dir, "keystores"), join(dir, "passwords"), {
      maxKdfCost: 1,
      onProgress: (done, total) => {
        assert.equal(total, 9);
        progress.push(done);
      },
    });

    assert.deepEqual(
      result.keys.map((k) => k.pubkey).sort(),
      good.map((k) => k.pubkey).sort(),
    );
    for (const k of result.keys) {
      const expected = good.find((g) => g.pubkey === k.pubkey)!;
      assert.deepEqual(Buffer.from(k.secretKey), Buffer.from(expected.secretKey));
      assert.match(k.file, /good\d\.json$/);
    }
    assert.deepEqual(progress.sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const byName = new Map(result.errors.map((e) => [e.file.replace(/^.*\//, ""), e.message]));
    assert.equal(result.errors.length, 6);
    assert.match(byName.get("wrongpw.json")!, /wrongpw\.json: checksum mismatch, the password is wrong/);
    assert.match(byName.get("nopw.json")!, /password file .*nopw\.txt does not exist/);
    assert.match(byName.get("notjson.json")!, /notjson\.json is not valid JSON/);
    assert.match(byName.get("schema.json")!, /schema\.json is not a valid EIP-2335 keystore \(\/version/);
    assert.match(byName.get("mismatch.json")!, /mismatch\.json: keystore pubkey .* does not match/);
    assert.match(byName.get("zdup.json")!, /zdup\.json: key 0x[0-9a-f]{96} is already loaded from .*good0\.json/);
  });

  it("decrypts on the calling thread when asked for no workers", async (t) => {
    const dir = await tempDir(t, "ksdir1");
    await mkdir(join(dir, "keystores"));
    await mkdir(join(dir, "passwords"));
    const key = randomKey();
    await writeKeystore(dir, "a", await cheapKeystore(key, "pw"), "pw");
    await writeKeystore(dir, "b", await cheapKeystore(randomKey(), "pw"), "bad");
    const result = await loadKeystoreDir(join(dir, "keystores"), join(dir, "passwords"), { maxKdfCost: 1, workers: 0 });
    assert.deepEqual(result.keys.map((k) => k.pubkey), [key.pubkey]);
    assert.equal(result.errors.length, 1);
  });

  it("fails as a whole only when the directory itself cannot be read", async (t) => {
    const dir = await tempDir(t, "ksdir2");
    await assert.rejects(loadKeystoreDir(join(dir, "missing"), dir, { maxKdfCost: 1 }), { code: "IO_FAILED" });
  });
});
