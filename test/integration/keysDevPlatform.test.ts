import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createDevPlatform } from "../../src/tee/dev.js";
import { tempDir } from "../helpers/keysFixtures.js";

describe("dev platform", () => {
  it("creates one 0600 sealing secret, even when two processes start at once, and reuses it", async (t) => {
    const dir = await tempDir(t, "dev");
    const [a, b] = await Promise.all([createDevPlatform(dir), createDevPlatform(dir)]);
    const file = join(dir, "dev-sealing-key");
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await readFile(file)).length, 32);
    assert.equal(a.attested, false);

    const secret = new Uint8Array(randomBytes(32));
    const blob = await a.seal(secret, "bls-key:0xaa");
    assert.deepEqual(await b.unseal(blob, "bls-key:0xaa"), secret);
    const restarted = await createDevPlatform(dir);
    assert.deepEqual(await restarted.unseal(blob, "bls-key:0xaa"), secret);
  });

  it("refuses a blob under another context, a flipped bit anywhere, another sealing secret", async (t) => {
    const dir = await tempDir(t, "dev2");
    const platform = await createDevPlatform(dir);
    const secret = new Uint8Array(randomBytes(32));
    const blob = await platform.seal(secret, "ctx-a");
    await assert.rejects(platform.unseal(blob, "ctx-b"), { code: "UNSEAL_FAILED", message: /ctx-b failed authentication/ });
    for (let i = 0; i < blob.length; i++) {
      const tampered = Uint8Array.from(blob);
      tampered[i]! ^= 0x01;
      await assert.rejects(platform.unseal(tampered, "ctx-a"), { code: "UNSEAL_FAILED" }, `byte ${i}`);
    }
    await assert.rejects(platform.unseal(blob.subarray(0, 20), "ctx-a"), { code: "UNSEAL_FAILED", message: /bad length/ });
    const other = await createDevPlatform(await tempDir(t, "dev3"));
    await assert.rejects(other.unseal(blob, "ctx-a"), { code: "UNSEAL_FAILED" });
    // Same plaintext twice seals differently (fresh nonce).
    assert.notDeepEqual(await platform.seal(secret, "ctx-a"), blob);
  });

  it("refuses a sealing-secret file of the wrong size", async (t) => {
    const dir = await tempDir(t, "dev4");
    await writeFile(join(dir, "dev-sealing-key"), "short");
    await assert.rejects(createDevPlatform(dir), { code: "PLATFORM_UNAVAILABLE", message: /exactly 32 bytes, has 5/ });
  });

  it("gives unattested evidence over exactly 64 bytes of report data", async (t) => {
    const platform = await createDevPlatform(await tempDir(t, "dev5"));
    const reportData = new Uint8Array(randomBytes(64));
    const evidence = await platform.evidence(reportData);
    assert.deepEqual(evidence, {
      platform: "dev",
      format: "none",
      quote: "",
      reportData: "0x" + Buffer.from(reportData).toString("hex"),
    });
    await assert.rejects(platform.evidence(new Uint8Array(32)), { code: "EVIDENCE_FAILED" });
  });
});
