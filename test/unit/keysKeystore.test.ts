import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decryptKeystore, parseKeystore } from "../../src/keys/keystore.js";
import { cheapKeystore, randomKey } from "../helpers/keysFixtures.js";

describe("keystore schema and decryption", () => {
  it("derives the pubkey when the keystore has none, and refuses a secret that is not a BLS key", async () => {
    const key = randomKey();
    const keystore = parseKeystore({ ...(await cheapKeystore(key, "pw")), pubkey: "" }, "k");
    assert.equal((await decryptKeystore(keystore, "pw", "k")).pubkey, key.pubkey);
    const zero = { ...key, secretKey: new Uint8Array(32) };
    const zeroKeystore = parseKeystore({ ...(await cheapKeystore(zero, "pw")), pubkey: "" }, "z");
    await assert.rejects(decryptKeystore(zeroKeystore, "pw", "z"), { code: "INVALID_SECRET", message: /^z: decrypted secret/ });
  });

  it("takes a pubkey with a 0x prefix in either case as the same key, and still compares it with the secret's", async () => {
    const [key, other] = [randomKey(), randomKey()];
    const base = await cheapKeystore(key, "pw");
    const prefixed = parseKeystore({ ...base, pubkey: "0x" + base.pubkey.toUpperCase() }, "k");
    assert.equal(prefixed.pubkey, base.pubkey);
    assert.equal((await decryptKeystore(prefixed, "pw", "k")).pubkey, key.pubkey);
    const wrong = parseKeystore({ ...base, pubkey: other.pubkey }, "w");
    await assert.rejects(decryptKeystore(wrong, "pw", "w"), {
      code: "PUBKEY_MISMATCH",
      message: `w: keystore pubkey ${other.pubkey} does not match the decrypted secret's ${key.pubkey}`,
    });
    assert.throws(() => parseKeystore({ ...base, pubkey: "0x" }, "z"), { message: /^z is not a valid EIP-2335 keystore \(\/pubkey: Expected string to match/ });
  });

  it("refuses scrypt parameters that are not a power of two or need more than 1 GiB", async () => {
    const base = await cheapKeystore(randomKey(), "pw", "scrypt");
    const withParams = (params: object) => ({
      ...base,
      crypto: { ...base.crypto, kdf: { ...base.crypto.kdf, params: { ...base.crypto.kdf.params, ...params } } },
    });
    assert.throws(() => parseKeystore(withParams({ n: 1000 }), "a"), { code: "INVALID_KEYSTORE", message: /power of two/ });
    assert.throws(() => parseKeystore(withParams({ n: 2 ** 20, r: 16 }), "b"), { message: /needs more than 1 GiB/ });
    assert.throws(() => parseKeystore(withParams({ n: 2 ** 21 }), "c"), { message: /\/crypto\/kdf/ });
    assert.doesNotThrow(() => parseKeystore(withParams({ n: 2 ** 18, r: 8 }), "d"));
  });

  it("names the first schema violation", async () => {
    const base = await cheapKeystore(randomKey(), "pw");
    assert.throws(() => parseKeystore({ ...base, crypto: { ...base.crypto, cipher: { ...base.crypto.cipher, function: "aes-256-gcm" } } }, "k"), {
      message: /^k is not a valid EIP-2335 keystore \(\/crypto\/cipher\/function/,
    });
    assert.throws(() => parseKeystore({ ...base, pubkey: "abc" }, "k"), { message: /\/pubkey/ });
    assert.throws(() => parseKeystore([], "k"), { code: "INVALID_KEYSTORE" });
  });
});
