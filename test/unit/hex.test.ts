import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputError } from "../../src/errors.js";
import { normalizePubkey, toHex } from "../../src/util/hex.js";

describe("normalizePubkey", () => {
  it("gives the lower-case 0x form of any 48 bytes, whatever the case of the hex digits", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), fc.array(fc.boolean(), { minLength: 96, maxLength: 96 }), (bytes, upper) => {
        const canonical = toHex(bytes);
        const mixed = "0x" + [...canonical.slice(2)].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("");
        assert.equal(normalizePubkey(mixed), canonical);
      }),
      { numRuns: 200, seed: 20261126 },
    );
  });

  it("takes 48 bytes of hex with or without 0x, as Web3Signer does, and refuses anything else, saying which", () => {
    const refused = (value: unknown, message: RegExp) =>
      assert.throws(() => normalizePubkey(value as string), (e: unknown) => e instanceof InputError && e.code === "INVALID_INPUT" && message.test(e.message));
    const key = "ab".repeat(48);
    assert.equal(normalizePubkey(key.toUpperCase()), "0x" + key.toLowerCase());
    refused("0x" + key.slice(1), /pubkey must be 0x-prefixed hex/);
    refused("0x" + key.slice(2), /pubkey must be 48 bytes, got 47/);
    refused("0x" + key + "00", /pubkey must be 48 bytes, got 49/);
    refused("0x" + key.slice(2) + "zz", /pubkey must be 0x-prefixed hex/);
    refused(" 0x" + key, /pubkey must be 0x-prefixed hex/);
    refused(48, /pubkey must be 0x-prefixed hex/);
  });
});
