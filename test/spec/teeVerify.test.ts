import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyEvidence, verifyEvidenceFile, type VerifyResult } from "../../src/tee/verify/index.js";
import { verifyChain } from "../../src/tee/verify/chain.js";
import { parseIntelQuote } from "../../src/tee/verify/intelQuote.js";
import { parsePemChain } from "../../src/tee/verify/x509.js";
import { AMD_ARK_GENOA, AMD_ARK_MILAN, INTEL_SGX_ROOT_CA } from "../../src/tee/roots/index.js";
import { TeeError } from "../../src/tee/errors.js";
import { InputError } from "../../src/errors.js";

const dir = new URL("../../../shared/vectors/tee/", import.meta.url);
const loadFile = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
/** A TDX v4 quote's own length: header ‖ TD report ‖ u32 signature data length ‖ signature data. */
const tdxQuoteLength = (b: Uint8Array) => 636 + Buffer.from(b).readUInt32LE(632);
/**
 * The two published TDX files hold more than the quote: tdx-v4.quote ends in 70 zero bytes,
 * tdx-v4-spr.quote in the text "extra bytes(only for testing purpose)". The verifier refuses bytes
 * no length field accounts for (tested below), so the vectors are verified as the quote they hold.
 */
const load = (name: string) => {
  const b = loadFile(name);
  return /tdx-v4/.test(name) ? b.subarray(0, tdxQuoteLength(b)) : b;
};

interface ValidVector {
  file: string;
  kind: "sgx-dcap" | "tdx" | "sev-snp";
  quoteVersion?: number;
  reportVersion?: number;
  mrenclave?: string;
  mrsigner?: string;
  mrtd?: string;
  measurement?: string;
  reportData: string;
  verifyAt?: string;
  vcek?: string;
  collateral?: string | null;
  tcbStatus?: string;
  advisoryIds?: string[];
}
interface TamperedVector {
  file: string;
  from: string;
  change: string;
  fails: string;
}
const expected = JSON.parse(readFileSync(new URL("expected.json", dir), "utf8")) as {
  roots: Record<string, { sha256: string }>;
  valid: ValidVector[];
  tampered: TamperedVector[];
};

// The SEV-SNP sample comes from a guest whose policy allows debugging; the signer refuses such
// guests by default (tested below), so the signature-level vectors opt in.
const VCEK = load("sev-snp-milan.vcek.der");
// Inside every vector certificate's validity; the same instant expected.json gives for the collateral.
const WITHIN_VALIDITY = new Date("2025-07-01T00:00:00Z");

// Signature-level checks only: the expectations a relying party adds are switched off explicitly.
function verifyVector(file: string, extra: Parameters<typeof verifyEvidence>[1] = {}): VerifyResult {
  return verifyEvidence(load(file), { now: WITHIN_VALIDITY, vcek: VCEK, allowDebug: true, anyMeasurement: true, noCollateral: true, allowSeptVe: true, ...extra });
}

const LAX = { anyMeasurement: true, noCollateral: true } as const;

function failedIds(r: VerifyResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => c.id);
}

function flipBit(bytes: Uint8Array, offset: number, bit = 0): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = copy[offset]! ^ (1 << bit);
  return copy;
}

describe("shipped vendor roots", () => {
  it("hash to the fingerprints published with the vectors", () => {
    const sha = (pem: string) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
    assert.equal(sha(INTEL_SGX_ROOT_CA.pem), expected.roots.intelSgxRootCA!.sha256);
    assert.equal(sha(AMD_ARK_MILAN.pem), expected.roots.amdArkMilan!.sha256);
    assert.equal(sha(AMD_ARK_GENOA.pem), AMD_ARK_GENOA.sha256);
  });
});

describe("verifyEvidence on real evidence", () => {
  it("accepts every valid vector and finds its measurement and report data", () => {
    let ran = 0;
    for (const v of expected.valid) {
      const r = verifyVector(v.file, { ...(v.verifyAt ? { now: new Date(v.verifyAt) } : {}), expectedMeasurement: v.mrenclave ?? v.mrtd ?? v.measurement!, anyMeasurement: false });
      assert.equal(r.ok, true, `${v.file}: ${r.reasons.join("; ")}`);
      assert.equal(r.format, v.kind, v.file);
      assert.equal(r.measurement, v.mrenclave ?? v.mrtd ?? v.measurement, v.file);
      assert.equal(r.reportData, v.reportData, v.file);
      if (v.quoteVersion !== undefined) assert.equal(r.details.quoteVersion, v.quoteVersion, v.file);
      if (v.reportVersion !== undefined) assert.equal(r.details.reportVersion, v.reportVersion, v.file);
      if (v.mrsigner !== undefined) assert.equal(r.details.mrsigner, v.mrsigner, v.file);
      const ids = r.checks.map((c) => c.id);
      const required = v.kind === "sev-snp" ? ["VCEK_CHAIN", "REPORT_SIGNATURE", "VCEK_BINDING"] : ["PCK_CHAIN", "QE_REPORT_SIGNATURE", "QE_REPORT_BINDING", "QUOTE_SIGNATURE"];
      for (const id of required) assert.ok(ids.includes(id as never), `${v.file} ran ${id}`);
      ran++;
    }
    assert.equal(ran, 4);
  });

  it("refuses every tampered vector at the step expected.json names", () => {
    const stepFor: Record<string, string> = {
      "quote signature (attestation key)": "QUOTE_SIGNATURE",
      "QE report signature (PCK certificate)": "QE_REPORT_SIGNATURE",
      "report signature (VCEK)": "REPORT_SIGNATURE",
    };
    let ran = 0;
    for (const t of expected.tampered) {
      const step = stepFor[t.fails];
      assert.ok(step, `no step known for "${t.fails}"`);
      const r = verifyVector(t.file);
      assert.equal(r.ok, false, t.file);
      assert.deepEqual(failedIds(r), [step], `${t.file} (${t.change}): ${r.reasons.join("; ")}`);
      assert.match(r.reasons[0]!, /does not verify/);
      ran++;
    }
    assert.equal(ran, 6);
  });

  it("compares the measurement with the expected value", () => {
    const mr = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
    assert.equal(verifyVector("sgx-dcap-v3.quote", { expectedMeasurement: "0x" + mr.toUpperCase() }).ok, true);
    const wrong = verifyVector("sgx-dcap-v3.quote", { expectedMeasurement: mr.replace(/^33/, "34") });
    assert.deepEqual(failedIds(wrong), ["MEASUREMENT"]);
    assert.match(wrong.reasons[0]!, /is not the expected 34d8/);
    const mrtd = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
    assert.equal(verifyVector("tdx-v4.quote", { expectedMeasurement: mrtd }).ok, true);
    assert.deepEqual(failedIds(verifyVector("sev-snp-milan.report", { expectedMeasurement: mrtd })), ["MEASUREMENT"]);
  });

  it("compares further expected fields (MRSIGNER, RTMRs, host data)", () => {
    const sgx = expected.valid.find((v) => v.file === "sgx-dcap-v3.quote")!;
    assert.equal(verifyVector(sgx.file, { expect: { mrsigner: "0x" + sgx.mrsigner! } }).ok, true);
    const tdx = verifyVector("tdx-v4.quote");
    const rtmr1 = String(tdx.details.rtmr1);
    assert.equal(verifyVector("tdx-v4.quote", { expect: { rtmr1, rtmr3: "00".repeat(48) } }).ok, true);
    const wrong = verifyVector("tdx-v4.quote", { expect: { rtmr1: rtmr1.replace(/^./, (c) => (c === "0" ? "1" : "0")) } });
    assert.deepEqual(failedIds(wrong), ["EXPECTED_FIELD"]);
    assert.match(wrong.reasons[0]!, /^EXPECTED_FIELD: rtmr1 .* is not the expected/);
    assert.throws(() => verifyVector("sev-snp-milan.report", { expect: { rtmr1 } }), (e: unknown) => e instanceof InputError && /cannot expect "rtmr1": sev-snp evidence has .*hostData/.test(e.message));
  });

  it("reports what it did not check when expectations were waived", () => {
    const r = verifyVector("tdx-v4.quote");
    assert.ok(r.notChecked.some((n) => n.startsWith("ANY MEASUREMENT")));
    assert.ok(r.notChecked.some((n) => n.startsWith("WITHOUT COLLATERAL")));
    assert.ok(r.notChecked.some((n) => n.startsWith("freshness")));
    assert.ok(r.notChecked.some((n) => n.startsWith("report data")));
    assert.deepEqual(r.labels, ["WITHOUT COLLATERAL", "FOR ANY MEASUREMENT"]);
  });

  it("refuses report data that does not bind the claimed keys", () => {
    // The public quotes' report data was not made by secure-signer, so no claim can match it.
    const claim = { transportPublicKey: new Uint8Array(32).fill(1), blsPubkeys: ["0x" + "aa".repeat(48)] };
    for (const f of ["sgx-dcap-v3.quote", "tdx-v4.quote", "sev-snp-milan.report"]) {
      const r = verifyVector(f, { claim });
      assert.deepEqual(failedIds(r), ["REPORT_DATA"], f);
      assert.match(r.reasons[0]!, /does not bind the claimed transport key and 1 BLS key/);
    }
  });

  it("refuses a debug TEE unless told to accept one", () => {
    const r = verifyEvidence(load("sev-snp-milan.report"), { now: WITHIN_VALIDITY, vcek: VCEK, ...LAX });
    assert.deepEqual(failedIds(r), ["DEBUG"]);
    assert.equal(r.details.debug, true);
  });

  it("refuses a quote whose attestation key was swapped (QE binding)", () => {
    // Attestation key starts after header (48) + body (384) + sig length (4) + signature (64).
    const r = verifyEvidence(flipBit(load("sgx-dcap-v3.quote"), 48 + 384 + 4 + 64 + 5), { now: WITHIN_VALIDITY, ...LAX });
    const ids = failedIds(r);
    assert.ok(ids.includes("QE_REPORT_BINDING") && ids.includes("QUOTE_SIGNATURE"), ids.join());
  });

  it("refuses certificates outside their validity window", () => {
    const late = verifyEvidence(load("sgx-dcap-v3.quote"), { now: new Date("2070-01-01T00:00:00Z"), ...LAX });
    assert.deepEqual(failedIds(late), ["PCK_CHAIN"]);
    assert.match(late.reasons[0]!, /expired/);
    const early = verifyEvidence(load("sev-snp-milan.report"), { now: new Date("2019-01-01T00:00:00Z"), vcek: VCEK, allowDebug: true, ...LAX });
    assert.deepEqual(failedIds(early), ["VCEK_CHAIN"]);
    assert.match(early.reasons[0]!, /not valid before/);
  });

  it("trusts only the pinned root, not any self-signed root", () => {
    // The real Intel chain, checked against a trust set that lacks Intel's root, stands in for a forged
    // chain ending in a self-signed certificate named "Intel SGX Root CA".
    const [pck, ...rest] = parsePemChain(parseIntelQuote(load("sgx-dcap-v3.quote")).pckChainPem, "test chain");
    const r = verifyChain(pck!, rest, [AMD_ARK_MILAN], WITHIN_VALIDITY);
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /self-signed "CN=Intel SGX Root CA.*not a pinned root \(ARK-Milan\)/);
    assert.equal(verifyChain(pck!, rest, [INTEL_SGX_ROOT_CA], WITHIN_VALIDITY).ok, true);
  });

  it("refuses a VCEK that did not sign the report", () => {
    // The ASK is a real AMD certificate chained to the pinned ARK, but its key did not sign this report.
    const askDer = parsePemChain(readFileSync(new URL("amd-milan-ask-ark.pem", dir), "utf8"), "ASK")[0]!.der;
    const r = verifyVector("sev-snp-milan.report", { vcek: new Uint8Array(askDer) });
    assert.ok(failedIds(r).includes("REPORT_SIGNATURE"));
  });

  it("refuses a report whose CHIP_ID or REPORTED_TCB is not the VCEK's", () => {
    const report = load("sev-snp-milan.report");
    const tcb = verifyEvidence(flipBit(report, 0x187), { now: WITHIN_VALIDITY, vcek: VCEK, allowDebug: true, ...LAX });
    assert.deepEqual(failedIds(tcb), ["REPORT_SIGNATURE", "VCEK_BINDING"]);
    assert.match(tcb.reasons[1]!, /REPORTED_TCB microcode SVN 69 is not the VCEK's 68/);
    const chip = verifyEvidence(flipBit(report, 0x1a0), { now: WITHIN_VALIDITY, vcek: VCEK, allowDebug: true, ...LAX });
    assert.deepEqual(failedIds(chip), ["REPORT_SIGNATURE", "VCEK_BINDING"]);
    assert.match(chip.reasons[1]!, /CHIP_ID 3bc3fe21.* is not the VCEK's hardware id 3ac3fe21/);
  });

  it("throws INVALID_EVIDENCE for input it cannot parse", () => {
    const isInvalid = (re: RegExp) => (e: unknown) => e instanceof TeeError && e.code === "INVALID_EVIDENCE" && re.test(e.message);
    assert.throws(() => verifyEvidence(load("sgx-dcap-v3.quote").subarray(0, 1000)), isInvalid(/truncated/));
    assert.throws(() => verifyEvidence(new Uint8Array(100)), isInvalid(/neither an Intel DCAP quote/));
    // Corrupt the base64 body of the first embedded certificate (the PCK certificate).
    const quote = load("sgx-dcap-v3.quote");
    const pem = Buffer.from(quote).indexOf("-----BEGIN CERTIFICATE-----\n") + 28;
    const broken = quote.slice();
    broken.fill(0x41, pem, pem + 40);
    assert.throws(() => verifyEvidence(broken), isInvalid(/PCK certificate chain: certificate 1 is not DER/));
    assert.throws(() => verifyEvidence(load("sev-snp-milan.report")), isInvalid(/needs the VCEK/));
    // KEY_INFO.SIGNING_KEY = 7: signed by no key at all.
    const unsigned = load("sev-snp-milan.report").slice();
    unsigned[0x48] = unsigned[0x48]! | 0x1c;
    assert.throws(() => verifyEvidence(unsigned, { vcek: VCEK }), isInvalid(/signed by no key/));
    // KEY_INFO.SIGNING_KEY = 1 (VLEK) with a VCEK certificate: the certificate is not the key type the report names.
    const vlek = verifyVector("sev-snp-milan.report", { vcek: VCEK, now: WITHIN_VALIDITY });
    assert.equal(vlek.ok, true);
    assert.ok(failedIds(verifyEvidence(flipBit(load("sev-snp-milan.report"), 0x48, 2), { vcek: VCEK, now: WITHIN_VALIDITY, allowDebug: true, ...LAX })).includes("VCEK_BINDING"));
    assert.throws(() => verifyEvidence(Buffer.from("{not json")), isInvalid(/not JSON/));
    assert.throws(() => verifyEvidence({ format: "none", quote: "AA==", platform: "dev" }), isInvalid(/not attested/));
    assert.throws(() => verifyEvidence({ quote: 5 }), isInvalid(/\/quote/));
  });
});

describe("Intel collateral (TCB info, QE identity, CRLs)", () => {
  const withCollateral = expected.valid.filter((v) => typeof v.collateral === "string");
  const collateralOf = (name: string) => JSON.parse(readFileSync(new URL(name, dir), "utf8")) as Record<string, string>;

  it("finds the TCB status and advisories a full DCAP verification found", () => {
    let ran = 0;
    for (const v of withCollateral) {
      // The statuses a relying party accepts are its choice; here, the one each vector has.
      const r = verifyVector(v.file, { now: new Date(v.verifyAt!), collateral: collateralOf(v.collateral!), noCollateral: false, acceptTcbStatuses: [v.tcbStatus!] });
      assert.equal(r.ok, true, `${v.file}: ${r.reasons.join("; ")}`);
      assert.ok(r.checks.some((c) => c.id === "COLLATERAL" && c.ok), v.file);
      assert.equal(r.details.tcbStatus, v.tcbStatus, v.file);
      assert.equal(r.details.advisoryIds, v.advisoryIds!.join(","), v.file);
      ran++;
    }
    assert.equal(ran, 2);
  });

  it("refuses expired collateral, by default and at a later date", () => {
    const collateral = collateralOf("sgx-dcap-v3.collateral.json");
    // The PCK CRL (next update 2025-07-19) has lapsed first, so the PCK cannot be checked for revocation.
    const later = verifyVector("sgx-dcap-v3.quote", { now: new Date("2025-08-01T00:00:00Z"), collateral });
    assert.deepEqual(failedIds(later), ["PCK_CHAIN"]);
    assert.match(later.reasons[0]!, /PCK CRL is valid from 2025-06-19T10:23:18.000Z to 2025-07-19T10:23:18.000Z, not at 2025-08-01/);
    assert.ok(later.notChecked.some((n) => /PCK certificate was refused/.test(n)));
    // The collateral's nextUpdate (2025-07-19) has passed, so "now" is always too late for it.
    const byDefault = verifyEvidence(load("sgx-dcap-v3.quote"), { collateral, anyMeasurement: true });
    assert.deepEqual(failedIds(byDefault), ["PCK_CHAIN"]);
    assert.match(byDefault.reasons[0]!, /PCK CRL is valid from .* not at /);
  });

  it("refuses collateral whose signed text or signature was altered", () => {
    const collateral = collateralOf("tdx-v4.collateral.json");
    const at = { now: WITHIN_VALIDITY };
    const edited = { ...collateral, tcb_info: collateral.tcb_info!.replace('"tcbStatus":"OutOfDate"', '"tcbStatus":"UpToDate"') };
    assert.notEqual(edited.tcb_info, collateral.tcb_info);
    const r1 = verifyVector("tdx-v4.quote", { ...at, collateral: edited });
    assert.deepEqual(failedIds(r1), ["COLLATERAL"]);
    assert.match(r1.reasons[0]!, /TCB info signature does not verify/);
    const sig = collateral.qe_identity_signature!;
    const r2 = verifyVector("tdx-v4.quote", { ...at, collateral: { ...collateral, qe_identity_signature: (sig[0] === "0" ? "1" : "0") + sig.slice(1) } });
    assert.match(r2.reasons[0]!, /QE identity signature does not verify/);
  });

  it("refuses collateral for another platform and TCB statuses outside the accepted set", () => {
    const other = verifyVector("tdx-v4-spr.quote", { collateral: collateralOf("tdx-v4.collateral.json") });
    assert.deepEqual(failedIds(other), ["COLLATERAL"]);
    assert.match(other.reasons[0]!, /TCB info is for FMSPC B0C06F000000 .* the PCK certificate has 50806f000000/);
    const strict = verifyVector("sgx-dcap-v3.quote", { collateral: collateralOf("sgx-dcap-v3.collateral.json"), acceptTcbStatuses: ["UpToDate"] });
    assert.deepEqual(failedIds(strict), ["TCB_STATUS"]);
    assert.match(strict.reasons[0]!, /ConfigurationAndSWHardeningNeeded is not accepted/);
  });

  it("throws INVALID_EVIDENCE for collateral that is not collateral", () => {
    assert.throws(() => verifyVector("sgx-dcap-v3.quote", { collateral: { tcb_info: "{}" } }), (e: unknown) => e instanceof TeeError && e.code === "INVALID_EVIDENCE" && /collateral is not in the expected format/.test(e.message));
  });
});

describe("secure-signer evidence JSON", () => {
  const quote = Buffer.from(load("tdx-v4.quote")).toString("base64");
  const reportData = expected.valid.find((v) => v.file === "tdx-v4.quote")!.reportData;

  it("verifies the quote inside and checks the stated fields against it", () => {
    const ok = verifyEvidence(Buffer.from(JSON.stringify({ platform: "tsm", format: "tdx", quote, reportData: "0x" + reportData })), {
      now: WITHIN_VALIDITY,
      ...LAX,
    });
    assert.equal(ok.ok, true, ok.reasons.join("; "));

    const lying = verifyEvidence({ format: "tdx", quote, reportData: "0x" + "00".repeat(64) }, { now: WITHIN_VALIDITY, ...LAX });
    assert.deepEqual(failedIds(lying), ["REPORT_DATA"]);
    assert.throws(() => verifyEvidence({ format: "sev-snp", quote }, { now: WITHIN_VALIDITY }), /says format "sev-snp" but the quote is tdx/);
  });

  it("checks the keys it claims to bind", () => {
    const claimed = { format: "tdx", quote, transportPublicKey: "0x0102", blsPubkeys: ["0x" + "11".repeat(48)] };
    assert.deepEqual(failedIds(verifyEvidence(claimed, { now: WITHIN_VALIDITY, ...LAX })), ["REPORT_DATA"]);
  });

  it("renders a printable result for the CLI", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "tee-verify-"));
    const path = join(tmp, "evidence.json");
    writeFileSync(path, JSON.stringify({ format: "sev-snp", quote: Buffer.from(load("sev-snp-milan.report")).toString("base64"), vcek: Buffer.from(VCEK).toString("base64") }));
    const { result, text } = await verifyEvidenceFile(path, { now: WITHIN_VALIDITY, allowDebug: true, anyMeasurement: true });
    assert.equal(result.ok, true, result.reasons.join("; "));
    assert.match(text, /^VERIFIED FOR ANY MEASUREMENT OF A DEBUG TEE: .*evidence\.json \(sev-snp\)/);
    assert.match(text, /\[ok\] REPORT_SIGNATURE/);
    assert.match(text, /\[not checked\] ANY MEASUREMENT/);
    const refused = await verifyEvidenceFile(path, { now: WITHIN_VALIDITY, anyMeasurement: true });
    assert.match(refused.text, /^REFUSED FOR ANY MEASUREMENT: .*\n[\s\S]*\[FAIL\] DEBUG/);
    const sgx = await verifyEvidenceFile(fileURLToPath(new URL("sgx-dcap-v3.quote", dir)), {
      now: WITHIN_VALIDITY,
      expectedMeasurement: "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
      acceptTcbStatuses: ["ConfigurationAndSWHardeningNeeded"],
      collateralPath: fileURLToPath(new URL("sgx-dcap-v3.collateral.json", dir)),
    });
    assert.equal(sgx.result.ok, true, sgx.result.reasons.join("; "));
    assert.match(sgx.text, /^VERIFIED: /);
    assert.match(sgx.text, /\[ok\] TCB_STATUS: TCB status ConfigurationAndSWHardeningNeeded/);
    await assert.rejects(verifyEvidenceFile(join(tmp, "missing")), (e: unknown) => e instanceof TeeError && /cannot read evidence file/.test(e.message));
  });
});

describe("issue 20 findings on the real vectors and Intel's real roots", () => {
  const collateralOf = (name: string) => JSON.parse(readFileSync(new URL(name, dir), "utf8")) as Record<string, string>;
  const sgxAt = { now: new Date("2025-07-01T00:00:00Z"), expectedMeasurement: "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb" };

  it("refuses the root CA's CRL passed as the PCK CRL, with the chain reordered (finding 2)", () => {
    // The PCK chain is not signed, so a host may reorder it; the root's CRL then verifies against the
    // "second" certificate. Each CRL must instead be the one its issuer signed.
    const quote = Buffer.from(load("sgx-dcap-v3.quote"));
    const text = quote.toString("latin1");
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!;
    assert.equal(blocks.length, 3);
    const start = text.indexOf(blocks[0]!);
    const reordered = Buffer.from(text.slice(0, start) + blocks[0] + blocks[2] + blocks[1] + text.slice(start + blocks.join("").length), "latin1");
    assert.equal(reordered.length, quote.length);
    const c = collateralOf("sgx-dcap-v3.collateral.json");
    const r = verifyEvidence(reordered, { ...sgxAt, collateral: { ...c, pck_crl: c.root_ca_crl }, acceptTcbStatuses: ["ConfigurationAndSWHardeningNeeded"] });
    assert.equal(r.ok, false);
    assert.deepEqual(failedIds(r), ["PCK_CHAIN"]);
    assert.match(r.reasons[0]!, /no CRL given is signed by "CN=Intel SGX PCK Processor CA/);
    // The honest collateral with the reordered chain still verifies: order carries no trust.
    assert.equal(verifyEvidence(reordered, { ...sgxAt, collateral: c, acceptTcbStatuses: ["ConfigurationAndSWHardeningNeeded"] }).ok, true);
  });

  it("refuses the published TDX files as they are, for the bytes after their quote (finding 4)", () => {
    const isTrailing = (e: unknown) => e instanceof TeeError && /quote has \d+ trailing bytes/.test(e.message);
    for (const f of ["tdx-v4.quote", "tdx-v4-spr.quote", "tampered/tdx-v4.mrtd-flipped.quote"]) {
      assert.throws(() => verifyEvidence(loadFile(f), { now: WITHIN_VALIDITY, ...LAX }), isTrailing, f);
    }
    const sgx = Buffer.concat([load("sgx-dcap-v3.quote"), Buffer.from([0])]);
    assert.throws(() => verifyEvidence(sgx, { now: WITHIN_VALIDITY, ...LAX }), isTrailing);
  });

  it("accepts only UpToDate by default (finding 5)", () => {
    const r = verifyEvidence(load("sgx-dcap-v3.quote"), { ...sgxAt, collateral: collateralOf("sgx-dcap-v3.collateral.json") });
    assert.deepEqual(failedIds(r), ["TCB_STATUS"]);
    assert.match(r.reasons[0]!, /ConfigurationAndSWHardeningNeeded is not accepted \(accepted: UpToDate\)/);
  });

  it("refuses the SPR TD, which runs without SEPT_VE_DISABLE, unless that is allowed (finding 6)", () => {
    const r = verifyEvidence(load("tdx-v4-spr.quote"), { now: WITHIN_VALIDITY, ...LAX });
    assert.deepEqual(failedIds(r), ["TD_POLICY"]);
    assert.match(r.reasons[0]!, /SEPT_VE_DISABLE is off/);
  });

  it("checks a nonce with no keys claimed (finding 3)", () => {
    const r = verifyEvidence(load("tdx-v4.quote"), { now: WITHIN_VALIDITY, ...LAX, nonce: new Uint8Array(32) });
    assert.deepEqual(failedIds(r), ["NONCE"]);
  });
});
