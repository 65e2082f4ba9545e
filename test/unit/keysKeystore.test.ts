import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decryptKeystore, parseKeystore } from "../../src/keys/keystore.js";
import { cheapKeystore, randomKey } from "../helpers/keysFixtures.js";

const withKdfParams = <K extends { crypto: { kdf: { params: object } } }>(base: K, params: object): K => ({
  ...base,
  crypto: { ...base.crypto, kdf: { ...base.crypto.kdf, params: { ...base.crypto.kdf.params, ...params } } },
});

describe("keystore schema and decryption", () => {
  it("derives the pubkey when the keystore has none, and refuses a secret that is not a BLS key", async () => {
    const key = randomKey();
    const keystore = parseKeystore({ ...(await cheapKeystore(key, "pw")), pubkey: "" }, "k", 1);
    assert.equal((await decryptKeystore(keystore, "pw", "k")).pubkey, key.pubkey);
    const zero = { ...key, secretKey: new Uint8Array(32) };
    const zeroKeystore = parseKeystore({ ...(await cheapKeystore(zero, "pw")), pubkey: "" }, "z", 1);
    await assert.rejects(decryptKeystore(zeroKeystore, "pw", "z"), { code: "INVALID_SECRET", message: /^z: decrypted secret/ });
  });

  it("takes a pubkey with a 0x prefix in either case as the same key, and still compares it with the secret's", async () => {
    const [key, other] = [randomKey(), randomKey()];
    const base = await cheapKeystore(key, "pw");
    const prefixed = parseKeystore({ ...base, pubkey: "0x" + base.pubkey.toUpperCase() }, "k", 1);
    assert.equal(prefixed.pubkey, base.pubkey);
    assert.equal((await decryptKeystore(prefixed, "pw", "k")).pubkey, key.pubkey);
    const wrong = parseKeystore({ ...base, pubkey: other.pubkey }, "w", 1);
    await assert.rejects(decryptKeystore(wrong, "pw", "w"), {
      code: "PUBKEY_MISMATCH",
      message: `w: keystore pubkey ${other.pubkey} does not match the decrypted secret's ${key.pubkey}`,
    });
    assert.throws(() => parseKeystore({ ...base, pubkey: "0x" }, "z", 1), { message: /^z is not a valid EIP-2335 keystore \(\/pubkey: Expected string to match/ });
  });

  it("refuses scrypt parameters that are not a power of two", async () => {
    const base = await cheapKeystore(randomKey(), "pw", "scrypt");
    assert.throws(() => parseKeystore(withKdfParams(base, { n: 1000 }), "a", 1), { code: "INVALID_KEYSTORE", message: /power of two/ });
    assert.throws(() => parseKeystore(withKdfParams(base, { n: 2 ** 21 }), "c", 1), { message: /\/crypto\/kdf/ });
  });

  it("refuses a KDF costlier than --max-keystore-kdf-cost times staking-deposit-cli's, naming the bound, before any KDF runs", async () => {
    const scrypt = await cheapKeystore(randomKey(), "pw", "scrypt");
    const pbkdf2 = await cheapKeystore(randomKey(), "pw", "pbkdf2");
    // staking-deposit-cli's own parameters pass at the default bound.
    assert.doesNotThrow(() => parseKeystore(withKdfParams(scrypt, { n: 2 ** 18, r: 8, p: 1 }), "d", 1));
    assert.doesNotThrow(() => parseKeystore(withKdfParams(pbkdf2, { c: 262_144 }), "d", 1));
    const started = performance.now();
    // Each of these would take tens of seconds (and the first 1 GiB) to decrypt.
    for (const [keystore, cost, bound] of [
      [withKdfParams(scrypt, { n: 2 ** 20, r: 8, p: 1 }), "4", 1],
      [withKdfParams(scrypt, { n: 2 ** 18, r: 8, p: 16 }), "16", 4],
      [withKdfParams(scrypt, { n: 2 ** 17, r: 32, p: 1 }), "2", 1],
      [withKdfParams(pbkdf2, { c: 262_145 }), "1", 1],
      [withKdfParams(pbkdf2, { c: 2 ** 24 }), "64", 4],
    ] as const) {
      assert.throws(() => parseKeystore(keystore, "k", bound), {
        code: "INVALID_KEYSTORE",
        message: new RegExp(`^k: .* costs ${cost}(\\.[0-9]+)?× staking-deposit-cli's .*; at most ${bound}× is accepted \\(--max-keystore-kdf-cost\\)`),
      });
    }
    assert.ok(performance.now() - started < 1000, "refused without running the KDF");
    assert.doesNotThrow(() => parseKeystore(withKdfParams(scrypt, { n: 2 ** 19, r: 8, p: 2 }), "k", 4));
  });

  it("names the first schema violation", async () => {
    const base = await cheapKeystore(randomKey(), "pw");
    assert.throws(() => parseKeystore({ ...base, crypto: { ...base.crypto, cipher: { ...base.crypto.cipher, function: "aes-256-gcm" } } }, "k", 1), {
      message: /^k is not a valid EIP-2335 keystore \(\/crypto\/cipher\/function/,
    });
    assert.throws(() => parseKeystore({ ...base, pubkey: "abc" }, "k", 1), { message: /\/pubkey/ });
    assert.throws(() => parseKeystore([], "k", 1), { code: "INVALID_KEYSTORE" });
  });
});
