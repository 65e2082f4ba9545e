import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { decryptKeystore, parseKeystoreJson } from "../../src/keys/keystore.js";
import { vectorsUrl } from "../helpers/keysFixtures.js";

interface Expected {
  password: string;
  password_nfkd_utf8_hex: string;
  secret_hex: string;
  pubkey_hex: string;
  keystores: string[];
}

const expected = JSON.parse(await readFile(vectorsUrl("eip2335/expected.json"), "utf8")) as Expected;

describe("EIP-2335 test vectors", () => {
  it("has the EIP's two keystores", () => {
    assert.equal(expected.keystores.length, 2);
  });

  it("the EIP's password processing gives its encoded password", () => {
    // EIP-2335: NFKD, then drop C0 (U+0000-001F), Delete (U+007F) and C1 (U+0080-009F), then UTF-8.
    const processed = [...expected.password.normalize("NFKD")]
      .filter((ch) => !/[\u0000-\u001f\u007f-\u009f]/.test(ch))
      .join("");
    assert.equal(Buffer.from(processed, "utf8").toString("hex"), expected.password_nfkd_utf8_hex);
    assert.notEqual(processed, expected.password);
  });

  for (const name of expected.keystores) {
    it(`${name}: validates, decrypts to the secret and its pubkey, refuses another password`, async () => {
      const text = await readFile(vectorsUrl(`eip2335/${name}`), "utf8");
      const keystore = parseKeystoreJson(text, name, 1);
      const key = await decryptKeystore(keystore, expected.password, name);
      assert.equal(Buffer.from(key.secretKey).toString("hex"), expected.secret_hex);
      assert.equal(key.pubkey, "0x" + expected.pubkey_hex);
      assert.equal(keystore.pubkey, expected.pubkey_hex);
      await assert.rejects(decryptKeystore(keystore, "testpassword", name), {
        code: "WRONG_PASSWORD",
        message: `${name}: checksum mismatch, the password is wrong`,
      });
    });
  }
});
