import assert from "node:assert/strict";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readOrCreateSecretFile } from "../../src/util/secretFile.js";
import { tempDir } from "../helpers/keysFixtures.js";

describe("readOrCreateSecretFile", () => {
  it("creates a 0600 file once, zeroes what it wrote, and later only reads it", async (t) => {
    const path = join(await tempDir(t, "secret-file"), "secret");
    const made = new Uint8Array([1, 2, 3, 4]);
    let calls = 0;
    const first = await readOrCreateSecretFile(path, () => (calls++, made));
    assert.deepEqual([...first], [1, 2, 3, 4]);
    assert.deepEqual([...made], [0, 0, 0, 0], "the bytes handed over are zeroed once written");
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const again = await readOrCreateSecretFile(path, () => (calls++, new Uint8Array([9])));
    assert.deepEqual([...again], [1, 2, 3, 4]);
    assert.equal(calls, 1, "an existing file is not made again");
  });

  it("returns what is there without calling make", async (t) => {
    const dir = await tempDir(t, "secret-file");
    const path = join(dir, "token");
    await writeFile(path, "existing\n", { mode: 0o600 });
    const got = await readOrCreateSecretFile(path, () => assert.fail("make must not run"));
    assert.equal(got.toString("utf8"), "existing\n");
  });

  it("gives every concurrent first caller the one file that won", async (t) => {
    const dir = await tempDir(t, "secret-file");
    const path = join(dir, "secret");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => readOrCreateSecretFile(path, () => `caller ${i}\n`)),
    );
    assert.equal(new Set(results.map((r) => r.toString("utf8"))).size, 1);
    assert.deepEqual(await readdir(dir), ["secret"], "no temporary file is left behind");
  });
});
