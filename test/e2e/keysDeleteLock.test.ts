import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, sign } from "../helpers/messages.js";
import { spawnSigner } from "../helpers/signer.js";

describe("offline keys delete beside a running signer", () => {
  it("refuses while a signer process holds the data directory, and deletes once it is gone, even by SIGKILL", async (t) => {
    const dir = await tempDir(t, "delete-lock");
    const dataDir = join(dir, "data");
    const generated = await cli("keys", "generate", "--data-dir", dataDir);
    assert.equal(generated.code, 0, generated.stderr);
    const pubkey = generated.stdout.trim();
    const signer = await spawnSigner(["--data-dir", dataDir, "--startup-floor-epochs", "off", "--log-level", "warn"]);
    t.after(() => signer.child.kill("SIGKILL"));
    assert.equal((await sign(signer.url, pubkey, attestationBody(1, 2))).status, 200);

    const refused = await cli("keys", "delete", pubkey, "--data-dir", dataDir);
    assert.equal(refused.code, 1, refused.stdout);
    assert.doesNotMatch(refused.stdout, /deleted/);
    assert.match(refused.stderr, /in use by a running signer .*DELETE \/eth\/v1\/keystores/);
    assert.deepEqual(await sealedFiles(dataDir), [`${pubkey}.sealed`], "the sealed file is still there");
    assert.equal((await sign(signer.url, pubkey, attestationBody(2, 3))).status, 200, "and the key signs, as the refusal says");

    // The lock is the kernel's: a signer that dies without closing anything leaves none behind.
    signer.child.kill("SIGKILL");
    await signer.exited;
    const deleted = await cli("keys", "delete", pubkey, "--data-dir", dataDir);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout.trim(), `deleted ${pubkey}`);
    assert.deepEqual(await sealedFiles(dataDir), []);
  });

  it("a second signer on the same data directory refuses to start, naming the lock", async (t) => {
    const dir = await tempDir(t, "second-signer");
    const dataDir = join(dir, "data");
    const first = await spawnSigner(["--data-dir", dataDir, "--startup-floor-epochs", "off", "--log-level", "warn"]);
    t.after(() => first.child.kill("SIGKILL"));
    await assert.rejects(
      spawnSigner(["--data-dir", dataDir, "--startup-floor-epochs", "off", "--log-level", "warn"]),
      /exited \(1\) before listening: .*in use by a running signer .*signer\.lock/,
    );
  });
});

/** The sealed key files, without the store's own bookkeeping (its creation counter). */
async function sealedFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, "keys"))).filter((f) => f.endsWith(".sealed"));
}
