import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSealer } from "../../src/tee/aead.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { TeeError } from "../../src/tee/errors.js";

const DEV_FORMAT = { magic: "SSDV", infoPrefix: "secure-signer/dev-seal/v1/", platform: "dev" };

describe("aead sealer", () => {
  // createSealer claims to be the dev platform's format generalised; this keeps the claim true, so
  // dev.ts can be rebuilt on it without breaking blobs already on disk.
  it("reads and writes the dev platform's blobs given the dev secret and format", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "aead-dev-"));
    const dev = await createDevPlatform(dataDir);
    const sealer = createSealer(new Uint8Array(readFileSync(join(dataDir, "dev-sealing-key"))), DEV_FORMAT);
    const secret = new Uint8Array([1, 2, 3, 4]);
    assert.deepEqual(sealer.unseal(await dev.seal(secret, "bls-key:0x01"), "bls-key:0x01"), secret);
    assert.deepEqual(await dev.unseal(sealer.seal(secret, "bls-key:0x01"), "bls-key:0x01"), secret);
  });

  it("binds magic, version and context", () => {
    const s = createSealer(new Uint8Array(32).fill(1), { magic: "TEST", infoPrefix: "t/v1/", platform: "test" });
    const blob = s.seal(new Uint8Array([9]), "ctx");
    assert.deepEqual(s.unseal(blob, "ctx"), new Uint8Array([9]));
    const badVersion = blob.slice();
    badVersion[4] = 2;
    assert.throws(() => s.unseal(badVersion, "ctx"), (e: unknown) => e instanceof TeeError && e.code === "UNSEAL_FAILED" && /version 2/.test(e.message));
    assert.throws(() => s.unseal(blob, "ctx2"), /failed authentication/);
    assert.throws(() => s.unseal(blob.subarray(0, 20), "ctx"), /bad length or magic/);
    const other = createSealer(new Uint8Array(32).fill(1), { magic: "TEST", infoPrefix: "t/v2/", platform: "test" });
    assert.throws(() => other.unseal(blob, "ctx"), /failed authentication/);
  });
});
