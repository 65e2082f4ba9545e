import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSealer } from "../../src/tee/aead.js";
import { createDevPlatform, DEV_SEAL_FORMAT } from "../../src/tee/dev.js";
import { TeeError } from "../../src/tee/errors.js";

describe("aead sealer", () => {
  // Sealed key files written before the dev platform moved onto createSealer must still open: this
  // blob was sealed by that earlier implementation (secret = 32 bytes of 0x07).
  it("opens dev-platform blobs sealed before the shared format existed, and seals compatibly", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "aead-dev-"));
    writeFileSync(join(dataDir, "dev-sealing-key"), new Uint8Array(32).fill(7), { mode: 0o600 });
    const dev = await createDevPlatform(dataDir);
    const earlier = Buffer.from("53534456016d3244c50cb6d1a8abaabca9bbf2d9aa2d2770b816e34ddcec6b1c68c3640f49", "hex");
    const secret = new Uint8Array([1, 2, 3, 4]);
    assert.deepEqual(await dev.unseal(new Uint8Array(earlier), "bls-key:0x01"), secret);
    await assert.rejects(dev.unseal(new Uint8Array(earlier), "bls-key:0x02"), /failed authentication/);
    const sealer = createSealer(new Uint8Array(readFileSync(join(dataDir, "dev-sealing-key"))), DEV_SEAL_FORMAT);
    assert.deepEqual(sealer.unseal(await dev.seal(secret, "bls-key:0x01"), "bls-key:0x01"), secret);
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
