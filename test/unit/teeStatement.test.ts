import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import { createHash, createPublicKey, randomBytes, verify as nodeVerify } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { attest } from "../../src/tee/evidence.js";
import { TeeError } from "../../src/tee/errors.js";
import { InstanceIdentity } from "../../src/tee/identity.js";
import { reportData } from "../../src/tee/reportData.js";
import { signStatement, statementMessage, verifyStatement, type KeyProvenance } from "../../src/tee/statement.js";
import { renderResult, verifiedTransportKey, verifyEvidence } from "../../src/tee/verify/index.js";
import { buildCollateral, buildQuote, intelPki, TEST_AT, type IntelPki } from "../helpers/teeTestPki.js";
import { randomKey, tempDir } from "../helpers/keysFixtures.js";

const secret = new Uint8Array(32).fill(7);
const identityPublicKey = ed25519.getPublicKey(secret);
const pubkey = "0x" + "ab".repeat(48);
const deposit = {
  withdrawalCredentials: new Uint8Array(32).fill(1),
  amountGwei: 32_000_000_000,
  forkVersion: new Uint8Array([0x10, 0, 0x09, 0x10]),
  depositDataRoot: new Uint8Array(32).fill(2),
};
const isInvalid = (re: RegExp) => (e: unknown) => e instanceof TeeError && e.code === "INVALID_EVIDENCE" && re.test(e.message);

describe("key statement format", () => {
  it("signs exactly the documented bytes", () => {
    const generated: KeyProvenance = { origin: "generated", counter: 3, deposit };
    const message = Buffer.from(statementMessage(identityPublicKey, pubkey, generated));
    const want = Buffer.concat([
      Buffer.from("secure-signer/key-statement"),
      Buffer.from([1]),
      Buffer.from(identityPublicKey),
      Buffer.alloc(48, 0xab),
      Buffer.from([1]),
      Buffer.from("0000000000000003", "hex"),
      Buffer.from([1]),
      Buffer.alloc(32, 1),
      Buffer.from("0000000773594000", "hex"),
      Buffer.from("10000910", "hex"),
      Buffer.alloc(32, 2),
    ]);
    assert.equal(message.toString("hex"), want.toString("hex"));
    const imported = Buffer.from(statementMessage(identityPublicKey, pubkey, { origin: "imported", counter: 0 }));
    assert.equal(imported.subarray(-10).toString("hex"), "02" + "0000000000000000" + "00");
    const s = signStatement(secret, pubkey, generated);
    // Checked with node:crypto's Ed25519, not the library that signed.
    const spki = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(identityPublicKey)]), format: "der", type: "spki" });
    assert.ok(nodeVerify(null, message, spki, Buffer.from(s.signature.slice(2), "hex")));
    // Deterministic: the statement keygen returned is the one every later evidence document serves.
    assert.deepEqual(signStatement(secret, pubkey, generated), s);
  });

  it("verifies what it signed and refuses every changed field, another key and another identity", () => {
    const s = signStatement(secret, pubkey, { origin: "generated", counter: 3, deposit });
    assert.deepEqual(verifyStatement(identityPublicKey, s), { pubkey, origin: "generated", counter: 3, deposit });
    const imported = signStatement(secret, pubkey, { origin: "imported", counter: 4 });
    const changed: unknown[] = [
      { ...s, pubkey: "0x" + "ac".repeat(48) },
      { ...s, counter: 4 },
      { ...s, deposit: { ...s.deposit!, deposit_data_root: "0x" + "03".repeat(32) } },
      { ...s, deposit: { ...s.deposit!, withdrawal_credentials: "0x" + "00".repeat(32) } },
      { ...s, deposit: { ...s.deposit!, amount: 1 } },
      { ...imported, origin: "generated" },
    ];
    for (const c of changed) assert.throws(() => verifyStatement(identityPublicKey, c), isInvalid(/not signed by the instance identity key/));
    const { deposit: _, ...noDeposit } = s;
    assert.throws(() => verifyStatement(identityPublicKey, noDeposit), isInvalid(/not signed/));
    assert.throws(() => verifyStatement(ed25519.getPublicKey(new Uint8Array(32).fill(8)), s), isInvalid(/not signed/));
    assert.throws(() => verifyStatement(identityPublicKey, { ...imported, deposit: s.deposit }), isInvalid(/only a generated key's statement carries a deposit/));
    assert.throws(() => verifyStatement(identityPublicKey, { ...s, extra: 1 }), isInvalid(/not valid/));
  });
});

describe("InstanceIdentity", () => {
  it("is one key per data directory across restarts, and reuses a statement only for the same signed bytes", async (t) => {
    const dataDir = await tempDir(t, "identity");
    const a = await InstanceIdentity.open(await createDevPlatform(dataDir), dataDir);
    const b = await InstanceIdentity.open(await createDevPlatform(dataDir), dataDir);
    assert.equal(a.publicKeyHex, b.publicKeyHex);
    const first = a.statement(pubkey, { origin: "imported", counter: 1 });
    assert.equal(a.statement(pubkey, { origin: "imported", counter: 1 }), first);
    const again = a.statement(pubkey, { origin: "imported", counter: 2 });
    assert.equal(again.counter, 2);
    assert.deepEqual(verifyStatement(a.publicKey, again), { pubkey, origin: "imported", counter: 2 });
    const other = await tempDir(t, "identity-other");
    assert.notEqual((await InstanceIdentity.open(await createDevPlatform(other), other)).publicKeyHex, a.publicKeyHex);
  });
});

describe("origin in the sealed metadata", () => {
  it("is kept across a restart, and a key sealed without one (older files) is imported", async (t) => {
    const dataDir = await tempDir(t, "origin");
    const platform = await createDevPlatform(dataDir);
    const store = await SealedKeyStore.open(platform, dataDir);
    const [gen, imp, legacy] = [randomKey(), randomKey(), randomKey()];
    const g = await store.create(gen.secretKey.slice(), { origin: "generated", deposit });
    const i = await store.create(imp.secretKey.slice(), { path: "m/12381/3600/0/0/0", origin: "imported" });
    await store.save(legacy.secretKey.slice());
    assert.deepEqual([g.provenance.counter, i.provenance.counter], [1, 2]);
    const reopened = await SealedKeyStore.open(await createDevPlatform(dataDir), dataDir);
    const loaded = new Map((await reopened.loadAll()).keys.map((k) => [k.pubkey, k.provenance]));
    assert.deepEqual(loaded.get(gen.pubkey), { origin: "generated", counter: 1, deposit });
    assert.deepEqual(loaded.get(imp.pubkey), { origin: "imported", counter: 2 });
    assert.deepEqual(loaded.get(legacy.pubkey), { origin: "imported", counter: 0 });
    assert.equal((await reopened.create(randomKey().secretKey, { origin: "imported" })).provenance.counter, 3);
  });

  it("cannot be set by the host: a counter file it wrote is refused", async (t) => {
    const dataDir = await tempDir(t, "origin-counter");
    const store = await SealedKeyStore.open(await createDevPlatform(dataDir), dataDir);
    await writeFile(join(store.dir, ".creation-counter"), Buffer.alloc(40));
    await assert.rejects(store.create(randomKey().secretKey, { origin: "imported" }), { code: "SEALED_FILE_INVALID" });
  });
});

describe("evidence v2 through the verifier, quote from a test PKI", () => {
  let intel: IntelPki;
  before(() => {
    intel = intelPki();
  });

  it("checks the quote once and each key's origin from its statement", async (t) => {
    const dataDir = await tempDir(t, "v2");
    const identity = await InstanceIdentity.open(await createDevPlatform(dataDir), dataDir);
    const transportPublicKey = new Uint8Array(randomBytes(32));
    const nonce = new Uint8Array(randomBytes(32));
    const rd = reportData({ transportPublicKey, identityPublicKey: identity.publicKey, blsPubkeys: [], nonce });
    const quote = buildQuote(intel, { version: 3, tee: "sgx", reportData: rd });
    // The platform here is the test PKI's quoting enclave: what a Gramine signer would return for rd.
    const platform = {
      name: "test-pki",
      attested: true,
      seal: async () => new Uint8Array(),
      unseal: async () => new Uint8Array(),
      evidence: async (asked: Uint8Array) => {
        assert.deepEqual(asked, rd);
        return { platform: "test-pki", format: "sgx-dcap", quote: quote.toString("base64"), reportData: "0x" + Buffer.from(rd).toString("hex") };
      },
    };
    const [gen, imp] = [randomKey(), randomKey()];
    const doc = await attest({ platform, identity, transportPublicKey }, [
      { pubkey: gen.pubkey, provenance: { origin: "generated", counter: 1, deposit } },
      { pubkey: imp.pubkey, provenance: { origin: "imported", counter: 2 } },
    ], nonce);
    const opts = { now: TEST_AT, roots: { intel: intel.rootPin }, anyMeasurement: true, collateral: buildCollateral(intel, "sgx"), nonce };
    const r = verifyEvidence(JSON.parse(JSON.stringify(doc)) as object, opts);
    assert.equal(r.ok, true, r.reasons.join("; "));
    const byKey = new Map(r.keys!.map((k) => [k.pubkey, k]));
    assert.equal(byKey.get(gen.pubkey)?.origin, "generated");
    assert.deepEqual(byKey.get(gen.pubkey)?.deposit, deposit);
    assert.equal(byKey.get(imp.pubkey)?.origin, "imported");
    const text = renderResult("evidence.json", r);
    assert.match(text, new RegExp(`${gen.pubkey} GENERATED \\(creation #1\\) deposit root 0x${"02".repeat(32)}`));
    assert.match(text, new RegExp(`${imp.pubkey} IMPORTED \\(creation #2\\)`));
    assert.deepEqual(verifiedTransportKey(r, "0x" + Buffer.from(transportPublicKey).toString("hex")), transportPublicKey);

    const depositEntry = (root: Uint8Array, key = gen.pubkey) => ({
      pubkey: key.slice(2),
      withdrawal_credentials: "01".repeat(32),
      amount: 32_000_000_000,
      fork_version: "10000910",
      deposit_data_root: Buffer.from(root).toString("hex"),
    });
    assert.equal(verifyEvidence(doc, { ...opts, depositData: [depositEntry(deposit.depositDataRoot)] }).ok, true);
    const wrongRoot = verifyEvidence(doc, { ...opts, depositData: [depositEntry(createHash("sha256").update("other").digest())] });
    assert.match(wrongRoot.reasons.join("; "), /DEPOSIT_DATA: deposit for .* is not the one signed at keygen/);
    assert.equal(wrongRoot.keys, undefined);
    assert.doesNotMatch(renderResult("evidence.json", wrongRoot), /GENERATED/);
    const importedDeposit = verifyEvidence(doc, { ...opts, depositData: [depositEntry(deposit.depositDataRoot, imp.pubkey)] });
    assert.match(importedDeposit.reasons.join("; "), /DEPOSIT_DATA: .* is stated imported without a deposit/);
    const unstated = verifyEvidence(doc, { ...opts, claim: { transportPublicKey, blsPubkeys: [randomKey().pubkey] } });
    assert.match(unstated.reasons.join("; "), /KEY_STATED: no statement for/);
    const stale = verifyEvidence(doc, { ...opts, nonce: new Uint8Array(32).fill(1) });
    assert.ok(stale.reasons.some((x) => x.startsWith("NONCE:")) && stale.reasons.some((x) => x.startsWith("REPORT_DATA:")));
    assert.equal(stale.keys, undefined, "statements of an identity the quote does not bind are not reported");
  });
});
