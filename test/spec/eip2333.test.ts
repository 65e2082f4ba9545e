import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { deriveKeyFromEntropy, deriveKeyFromMaster, deriveKeyFromMnemonic } from "@chainsafe/bls-keygen";
import { SecretKey } from "@chainsafe/blst";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
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

// IKM_to_lamport_SK: HKDF-SHA256 with L = 255 · 32, split into 255 chunks of 32 bytes.
function ikmToLamportSk(ikm: Uint8Array, salt: Uint8Array): Uint8Array[] {
  const okm = expand(sha256, extract(sha256, ikm, salt), new Uint8Array(0), 255 * 32);
  return Array.from({ length: 255 }, (_, i) => okm.subarray(i * 32, (i + 1) * 32));
}

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

  it("the intermediate-values vector: Lamport keys, compressed Lamport PK, child key", () => {
    assert.equal(intermediate.lamport_0.length, 255);
    assert.equal(intermediate.lamport_1.length, 255);
    checkCase(intermediate);
    // parent_SK_to_lamport_PK written out from the EIP: salt = I2OSP(index, 4), IKM = I2OSP(parent_SK, 32).
    const ikm = bytes(intermediate.master_SK_hex);
    const salt = new Uint8Array(4);
    new DataView(salt.buffer).setUint32(0, intermediate.child_index);
    const lamport0 = ikmToLamportSk(ikm, salt);
    const lamport1 = ikmToLamportSk(ikm.map((b) => b ^ 0xff), salt);
    assert.deepEqual(lamport0.map(hex), intermediate.lamport_0);
    assert.deepEqual(lamport1.map(hex), intermediate.lamport_1);
    const compressed = sha256(Buffer.concat([...lamport0, ...lamport1].map((chunk) => sha256(chunk))));
    assert.equal(hex(compressed), intermediate.compressed_lamport_PK);
    // HKDF_mod_r is the KeyGen of the BLS signature draft, which blst implements.
    assert.equal(hex(SecretKey.fromKeygen(compressed).toBytes()), intermediate.child_SK_hex);
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
