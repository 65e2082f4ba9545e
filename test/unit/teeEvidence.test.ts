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
import { reportData } from "../../src/tee/reportData.js";
import { verifyEvidence } from "../../src/tee/verify/index.js";

const realQuote = new Uint8Array(readFileSync(new URL("../../../shared/vectors/tee/sgx-dcap-v3.quote", import.meta.url)));
const transportPublicKey = new Uint8Array(randomBytes(32));
const keys = ["0x" + "cc".repeat(48), "0x" + "0A".repeat(48)];
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

describe("attest: evidence binding the signer's keys", () => {
  it("produces a document whose report data the verifier matches to the listed keys and nonce", async () => {
    const claim = { transportPublicKey, blsPubkeys: keys, nonce };
    const platform = await createGraminePlatform({ root: gramineRootQuoting(reportData(claim)) });
    const doc = await attest(platform, claim);
    assert.deepEqual(doc.blsPubkeys, ["0x" + "0a".repeat(48), "0x" + "cc".repeat(48)]);
    assert.equal(doc.nonce, "0x" + Buffer.from(nonce).toString("hex"));

    const r = verifyEvidence(JSON.parse(JSON.stringify(doc)) as object, { now: new Date("2025-07-01T00:00:00Z"), anyMeasurement: true, noCollateral: true });
    assert.ok(r.checks.some((c) => c.id === "REPORT_DATA" && c.ok), r.reasons.join("; "));
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.id), ["QUOTE_SIGNATURE"]);
  });

  it("is refused when the document lists a key set other than the one bound", async () => {
    const claim = { transportPublicKey, blsPubkeys: keys };
    const platform = await createGraminePlatform({ root: gramineRootQuoting(reportData(claim)) });
    const doc = await attest(platform, claim);
    for (const altered of [
      { ...doc, blsPubkeys: doc.blsPubkeys.slice(1) },
      { ...doc, blsPubkeys: [...doc.blsPubkeys, "0x" + "dd".repeat(48)] },
      { ...doc, transportPublicKey: "0x" + "00".repeat(32) },
      // Bytes 32..63 are zero without a nonce, so only a non-zero nonce differs from "none".
      { ...doc, nonce: "0x" + "01".repeat(32) },
    ]) {
      const r = verifyEvidence(altered, { now: new Date("2025-07-01T00:00:00Z"), anyMeasurement: true, noCollateral: true });
      assert.ok(r.checks.some((c) => c.id === "REPORT_DATA" && !c.ok), JSON.stringify(altered.blsPubkeys));
    }
  });

  it("evidence for a freshly generated key binds that key alone", async () => {
    const fresh = { transportPublicKey, blsPubkeys: [keys[0]!] };
    const platform = await createGraminePlatform({ root: gramineRootQuoting(reportData(fresh)) });
    const doc = await attest(platform, fresh);
    const r = verifyEvidence(doc, { now: new Date("2025-07-01T00:00:00Z"), anyMeasurement: true, noCollateral: true, claim: { transportPublicKey, blsPubkeys: keys } });
    assert.ok(r.checks.some((c) => c.id === "REPORT_DATA" && !c.ok), "the full key set is not what was bound");
    assert.ok(verifyEvidence(doc, { now: new Date("2025-07-01T00:00:00Z"), anyMeasurement: true, noCollateral: true }).checks.some((c) => c.id === "REPORT_DATA" && c.ok));
  });

  it("dev evidence carries the binding but the verifier refuses it as unattested", async () => {
    const dev = await createDevPlatform(mkdtempSync(join(tmpdir(), "attest-dev-")));
    const doc = await attest(dev, { transportPublicKey, blsPubkeys: keys });
    assert.equal(doc.format, "none");
    assert.equal(doc.reportData, "0x" + Buffer.from(reportData({ transportPublicKey, blsPubkeys: keys })).toString("hex"));
    assert.throws(() => verifyEvidence(doc), (e: unknown) => e instanceof TeeError && e.code === "INVALID_EVIDENCE" && /not attested/.test(e.message));
  });
});
