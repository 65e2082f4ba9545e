import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { encryptForSigner, TransportKey } from "../../src/keys/transport.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { tempDir } from "../helpers/keysFixtures.js";

describe("transport encryption", () => {
  it("round-trips to the sealed transport key, which persists across restarts", async (t) => {
    const dataDir = await tempDir(t, "transport");
    const platform = await createDevPlatform(dataDir);
    const [key, again] = await Promise.all([TransportKey.open(platform, dataDir), TransportKey.open(platform, dataDir)]);
    assert.deepEqual(again.publicKey, key.publicKey);
    assert.equal((await stat(join(dataDir, "transport-key.sealed"))).mode & 0o777, 0o600);
    const restarted = await TransportKey.open(await createDevPlatform(dataDir), dataDir);
    assert.equal(restarted.publicKeyHex, key.publicKeyHex);

    const plaintext = new Uint8Array(randomBytes(100));
    const envelope = encryptForSigner(key.publicKeyHex, plaintext, "p");
    assert.deepEqual(restarted.decrypt(envelope, "p"), plaintext);
    assert.notEqual(encryptForSigner(key.publicKey, plaintext, "p"), envelope);
  });

  it("follows the documented construction (decrypted here independently)", async (t) => {
    const dataDir = await tempDir(t, "transport2");
    const platform = await createDevPlatform(dataDir);
    const key = await TransportKey.open(platform, dataDir);
    // Build an envelope by hand from docs/transport-encryption.md and let the signer open it.
    const eph = x25519.utils.randomSecretKey();
    const ephPub = x25519.getPublicKey(eph);
    const shared = x25519.getSharedSecret(eph, key.publicKey);
    const info = new TextEncoder().encode("secure-signer/transport/v1 x25519-hkdf-sha256-xchacha20poly1305");
    const k = hkdf(sha256, shared, Buffer.concat([ephPub, key.publicKey]), info, 32);
    const nonce = randomBytes(24);
    const header = Buffer.from("SSTE\x01", "latin1");
    const ct = xchacha20poly1305(k, nonce, Buffer.concat([header, Buffer.from("purpose-x")])).encrypt(Buffer.from("hello"));
    const envelope = Buffer.concat([header, ephPub, nonce, ct]).toString("base64");
    assert.equal(Buffer.from(key.decrypt(envelope, "purpose-x")).toString(), "hello");
  });

  it("refuses another purpose, another key, any flipped byte, bad magic or version, low-order keys", async (t) => {
    const dataDir = await tempDir(t, "transport3");
    const key = await TransportKey.open(await createDevPlatform(dataDir), dataDir);
    const otherDir = await tempDir(t, "transport4");
    const other = await TransportKey.open(await createDevPlatform(otherDir), otherDir);
    const envelope = encryptForSigner(key.publicKey, Buffer.from("secret"), "a");
    assert.throws(() => key.decrypt(envelope, "b"), { code: "INVALID_ENVELOPE", message: /failed authentication/ });
    assert.throws(() => other.decrypt(envelope, "a"), { code: "INVALID_ENVELOPE" });
    const bytes = Buffer.from(envelope, "base64");
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i]! ^= 0x01;
      assert.throws(() => key.decrypt(tampered.toString("base64"), "a"), { code: "INVALID_ENVELOPE" }, `byte ${i}`);
    }
    const v2 = Buffer.from(bytes);
    v2[4] = 2;
    assert.throws(() => key.decrypt(v2.toString("base64"), "a"), { message: /version 2 is not supported/ });
    assert.throws(() => key.decrypt("AAAA", "a"), { message: /bad magic or too short/ });
    assert.throws(() => encryptForSigner(new Uint8Array(32), Buffer.from("x"), "a"), { message: /low-order/ });
    assert.throws(() => encryptForSigner("0x1234", Buffer.from("x"), "a"), { code: "INVALID_INPUT" });
  });
});
