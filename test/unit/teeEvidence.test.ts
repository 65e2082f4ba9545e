import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attest } from "../../src/tee/evidence.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { createGraminePlatform } from "../../src/tee/gramine.js";
import { TeeError } from "../../src/tee/errors.js";
import { InstanceIdentity } from "../../src/tee/identity.js";
import { reportData } from "../../src/tee/reportData.js";
import type { KeyProvenance } from "../../src/tee/statement.js";
import { verifyEvidence } from "../../src/tee/verify/index.js";

const realQuote = new Uint8Array(readFileSync(new URL("../../../shared/vectors/tee/sgx-dcap-v3.quote", import.meta.url)));
const transportPublicKey = new Uint8Array(randomBytes(32));
const keys: { pubkey: string; provenance: KeyProvenance }[] = [
  { pubkey: "0x" + "cc".repeat(48), provenance: { origin: "imported", counter: 2 } },
  { pubkey: "0x" + "0A".repeat(48), provenance: { origin: "generated", counter: 1 } },
];
const AT = new Date("2025-07-01T00:00:00Z");
const LAX = { now: AT, anyMeasurement: true, noCollateral: true };
const nonce = new Uint8Array(randomBytes(32));

/**
 * Gramine's interface in a temp dir. Its quote is a FAKE for this binding test only: the real vector
 * quote with the report data the signer will ask for, so the binding can be checked end to end while
 * the hardware signature (QUOTE_SIGNATURE) rightly fails.
 */
function gramineRootQuoting(rd: Uint8Array): string {
  const root = mkdtempSync(join(tmpdir(), "attest-gramine-"));
  mkdirSync(join(root, "keys"));
  writeFileSync(join(root, "attestation_type"), "dcap");
  writeFileSync(join(root, "keys", "_sgx_mrenclave"), randomBytes(16));
  const quote = realQuote.slice();
  quote.set(rd, 48 + 320);
  writeFileSync(join(root, "quote"), quote);
  return root;
}

async function identityIn(): Promise<InstanceIdentity> {
  return InstanceIdentity.open(await createDevPlatform(mkdtempSync(join(tmpdir(), "attest-id-"))), mkdtempSync(join(tmpdir(), "attest-id-data-")));
}

describe("attest: evidence v2, the identity bound once and a statement per key", () => {
  it("produces a document whose report data the verifier matches to the transport and identity keys and the nonce", async () => {
    const identity = await identityIn();
    const rd = reportData({ transportPublicKey, identityPublicKey: identity.publicKey, blsPubkeys: [], nonce });
    const platform = await createGraminePlatform({ root: gramineRootQuoting(rd) });
    const doc = await attest({ platform, identity, transportPublicKey }, keys, nonce);
    assert.equal(doc.version, 2);
    assert.deepEqual(doc.statements.map((s) => [s.pubkey, s.origin, s.counter]), [["0x" + "0a".repeat(48), "generated", 1], ["0x" + "cc".repeat(48), "imported", 2]]);
    assert.equal(doc.nonce, "0x" + Buffer.from(nonce).toString("hex"));

    const r = verifyEvidence(JSON.parse(JSON.stringify(doc)) as object, { ...LAX, nonce });
    assert.ok(r.checks.some((c) => c.id === "REPORT_DATA" && c.ok), r.reasons.join("; "));
    assert.ok(r.checks.some((c) => c.id === "KEY_STATEMENTS" && c.ok), r.reasons.join("; "));
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.id), ["QUOTE_SIGNATURE"]);
    assert.equal(r.keys, undefined, "no origin is reported from evidence that was refused");
  });

  it("is refused when the document names another identity or transport key, or moves a statement to another key", async () => {
    const identity = await identityIn();
    const platform = await createGraminePlatform({ root: gramineRootQuoting(reportData({ transportPublicKey, identityPublicKey: identity.publicKey, blsPubkeys: [] })) });
    const doc = await attest({ platform, identity, transportPublicKey }, keys);
    const other = await identityIn();
    const [gen, imp] = doc.statements as [(typeof doc.statements)[0], (typeof doc.statements)[0]];
    const cases: [object, string][] = [
      [{ ...doc, identityPublicKey: other.publicKeyHex }, "REPORT_DATA"],
      [{ ...doc, transportPublicKey: "0x" + "00".repeat(32) }, "REPORT_DATA"],
      [{ ...doc, statements: [{ ...gen, pubkey: imp.pubkey }, { ...imp, pubkey: gen.pubkey }] }, "KEY_STATEMENTS"],
      [{ ...doc, statements: [gen, { ...imp, origin: "generated" }] }, "KEY_STATEMENTS"],
      [{ ...doc, statements: [gen, other.statement(imp.pubkey, { origin: "generated", counter: 9 })] }, "KEY_STATEMENTS"],
      [{ ...doc, statements: [gen, gen] }, "KEY_STATEMENTS"],
    ];
    for (const [altered, id] of cases) {
      const r = verifyEvidence(altered, LAX);
      assert.ok(r.checks.some((c) => c.id === id && !c.ok), `${id}: ${r.reasons.join("; ")}`);
    }
  });

  it("dev evidence carries the binding but the verifier refuses it as unattested", async () => {
    const dev = await createDevPlatform(mkdtempSync(join(tmpdir(), "attest-dev-")));
    const identity = await identityIn();
    const doc = await attest({ platform: dev, identity, transportPublicKey }, keys);
    assert.equal(doc.format, "none");
    assert.equal(doc.reportData, "0x" + Buffer.from(reportData({ transportPublicKey, identityPublicKey: identity.publicKey, blsPubkeys: [] })).toString("hex"));
    assert.throws(() => verifyEvidence(doc), (e: unknown) => e instanceof TeeError && e.code === "INVALID_EVIDENCE" && /not attested/.test(e.message));
  });
});
