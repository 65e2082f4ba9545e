import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { deriveKeyFromEntropy, deriveKeyFromMaster, deriveKeyFromMnemonic } from "@chainsafe/bls-keygen";
import { SecretKey } from "@chainsafe/blst";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { vectorsUrl } from "../helpers/keysFixtures.js";

interface Case {
  name: string;
  seed: string;
  seed_hex: string;
  master_SK: string;
  master_SK_hex: string;
  child_index: number;
  child_SK: string;
  child_SK_hex: string;
  bip39?: { mnemonic: string; passphrase: string };
}
interface Intermediate extends Case {
  lamport_0: string[];
  lamport_1: string[];
  compressed_lamport_PK: string;
}
interface PathCase {
  name: string;
  mnemonic?: string;
  passphrase?: string;
  seed_hex: string;
  path: string;
  secret_hex: string;
  pubkey_hex: string;
}

const load = async <T>(name: string) => JSON.parse(await readFile(vectorsUrl(`eip2333/${name}`), "utf8")) as T;
const cases = await load<Case[]>("cases.json");
const intermediate = await load<Intermediate>("intermediate.json");
const paths = await load<PathCase[]>("eip2334-paths.json");

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
// BIP-39 mnemonic to seed, written out: PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" ‖ passphrase.
const bip39Seed = (mnemonic: string, passphrase: string) =>
  pbkdf2(sha512, mnemonic.normalize("NFKD"), ("mnemonic" + passphrase).normalize("NFKD"), { c: 2048, dkLen: 64 });

// bls-keygen only accepts full EIP-2334 paths (five levels), so the single child step of these
// cases is taken with blst's derive_child_SK; the master key comes from both libraries.
function checkCase(c: Case) {
  const master = deriveKeyFromEntropy(bytes(c.seed_hex));
  assert.equal(hex(master), c.master_SK_hex);
  assert.equal(hex(SecretKey.deriveMasterEip2333(bytes(c.seed_hex)).toBytes()), c.master_SK_hex);
  assert.equal(BigInt("0x" + hex(master)), BigInt(c.master_SK));
  const child = SecretKey.fromBytes(master).deriveChildEip2333(c.child_index).toBytes();
  assert.equal(hex(child), c.child_SK_hex);
  assert.equal(BigInt("0x" + hex(child)), BigInt(c.child_SK));
}

describe("EIP-2333 test vectors", () => {
  it("has the EIP's four cases", () => assert.equal(cases.length, 4));

  for (const c of cases) {
    it(`${c.name}: master and child secret keys`, () => {
      assert.equal(c.seed.toLowerCase(), "0x" + c.seed_hex);
      checkCase(c);
      if (c.bip39) assert.equal(hex(bip39Seed(c.bip39.mnemonic, c.bip39.passphrase)), c.seed_hex);
    });
  }

  it("the intermediate-values vector gives the same master and child keys", () => {
    assert.equal(intermediate.lamport_0.length, 255);
    assert.equal(intermediate.lamport_1.length, 255);
    checkCase(intermediate);
  });
});

describe("EIP-2334 path derivations", () => {
  it("has seven derivations", () => assert.equal(paths.length, 7));

  for (const p of paths) {
    it(`${p.name}: ${p.path}`, () => {
      if (p.mnemonic !== undefined) {
        assert.equal(hex(bip39Seed(p.mnemonic, p.passphrase ?? "")), p.seed_hex);
        if (!p.passphrase) assert.equal(hex(deriveKeyFromMnemonic(p.mnemonic, p.path)), p.secret_hex);
      }
      const secret = deriveKeyFromEntropy(bytes(p.seed_hex), p.path);
      const viaMaster = deriveKeyFromMaster(deriveKeyFromEntropy(bytes(p.seed_hex)), p.path);
      assert.equal(hex(viaMaster), p.secret_hex);
      assert.equal(hex(secret), p.secret_hex);
      assert.equal(hex(SecretKey.fromBytes(secret).toPublicKey().toBytes()), p.pubkey_hex);
    });
  }
});
