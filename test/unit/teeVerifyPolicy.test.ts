import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { verifiedTransportKey, verifyEvidence, type VerifyOptions, type VerifyResult } from "../../src/tee/verify/index.js";
import { reportData } from "../../src/tee/reportData.js";
import { TeeError } from "../../src/tee/errors.js";
import {
  amdPki,
  buildCollateral,
  buildQuote,
  buildSnpReport,
  der,
  intelPki,
  P256,
  testCrl,
  testParty,
  TEST_AT,
  type AmdPki,
  type IntelPki,
  type QuoteSpec,
} from "../helpers/teeTestPki.js";

// Each finding of issue 20 against a PKI of our own, injected through the library's `roots` option:
// quotes and reports Intel's or AMD's keys would have to sign are signed here by test keys.

let intel: IntelPki;
let amd: AmdPki;
before(() => {
  intel = intelPki();
  amd = amdPki();
});

const failed = (r: VerifyResult) => r.checks.filter((c) => !c.ok).map((c) => c.id);
const isInvalid = (re: RegExp) => (e: unknown) => e instanceof TeeError && e.code === "INVALID_EVIDENCE" && re.test(e.message);

function intelOpts(tee: "sgx" | "tdx", extra: VerifyOptions = {}): VerifyOptions {
  return { now: TEST_AT, roots: { intel: intel.rootPin }, anyMeasurement: true, collateral: buildCollateral(intel, tee), ...extra };
}
function verifyQuote(spec: QuoteSpec, extra: VerifyOptions = {}): VerifyResult {
  return verifyEvidence(buildQuote(intel, spec), intelOpts(spec.tee, extra));
}

describe("Intel quotes from a test PKI", () => {
  it("verify end to end: SGX v3, TDX v4, TDX v5 with TD report 1.0 and 1.5", () => {
    const specs: QuoteSpec[] = [
      { version: 3, tee: "sgx" },
      { version: 4, tee: "tdx" },
      { version: 5, tee: "tdx" },
      { version: 5, tee: "tdx", td15: true },
    ];
    for (const spec of specs) {
      const r = verifyQuote(spec);
      assert.equal(r.ok, true, `${JSON.stringify(spec)}: ${r.reasons.join("; ")}`);
      assert.equal(r.details.quoteVersion, spec.version);
      assert.equal(r.details.tcbStatus, "UpToDate");
    }
  });

  it("trust only the injected root, and the shipped one by default", () => {
    const r = verifyEvidence(buildQuote(intel, { version: 3, tee: "sgx" }), { ...intelOpts("sgx"), roots: undefined });
    assert.ok(failed(r).includes("PCK_CHAIN"));
    assert.match(r.reasons.find((x) => x.startsWith("PCK_CHAIN"))!, /not a pinned root \(Intel SGX Root CA\)/);
  });
});

describe("finding 1: rogue quoting enclave, foreign vendor id", () => {
  it("refuses a QE not signed by Intel's enclave key, with or without collateral", () => {
    const rogue = { version: 3, tee: "sgx", qeMrSigner: "ab".repeat(32) } as const;
    const without = verifyQuote(rogue, { collateral: undefined, noCollateral: true });
    assert.deepEqual(failed(without), ["QE_IDENTITY"]);
    assert.match(without.reasons[0]!, /QE MRSIGNER abab.* is not Intel's QE's 8c4f/);
    assert.ok(failed(verifyQuote(rogue)).includes("QE_IDENTITY"));
    const tdRogue = verifyQuote({ version: 4, tee: "tdx", qeProdId: 1 }, { collateral: undefined, noCollateral: true });
    assert.deepEqual(failed(tdRogue), ["QE_IDENTITY"]);
    assert.match(tdRogue.reasons[0]!, /QE ISVPRODID 1 is not Intel's TD QE's 2/);
    const wrongProduct = verifyQuote({ version: 3, tee: "sgx", qeProdId: 7 }, { collateral: undefined, noCollateral: true });
    assert.match(wrongProduct.reasons[0]!, /ISVPRODID 7 is not Intel's QE's 1/);
  });

  it("refuses a quote whose QE vendor id is not Intel's", () => {
    const r = verifyQuote({ version: 4, tee: "tdx", vendorId: "00".repeat(16) });
    assert.deepEqual(failed(r), ["QE_VENDOR"]);
    assert.match(r.reasons[0]!, /QE vendor id 0{32} is not Intel's 939a7233/);
  });
});

describe("finding 5: PCK leaf profile, TCB signer profile", () => {
  it("refuses a QE report signed by an Intel-issued key that is not a PCK certificate", () => {
    const chain = [intel.tcbSigner, intel.root].map((p) => p.pem + "\n").join("");
    const r = verifyQuote({ version: 3, tee: "sgx", pckChain: chain, qeSigner: intel.tcbSigner.node });
    assert.ok(failed(r).includes("PCK_CHAIN"), r.reasons.join("; "));
    assert.match(r.reasons.find((x) => x.startsWith("PCK_CHAIN"))!, /leaf, PCK CA, root \(3 certificates\), not 2/);
  });

  it("refuses TCB info signed by a root-issued certificate that is not the TCB Signing certificate", () => {
    const other = testParty(P256, "CN=Intel SGX Something Else, O=Intel Corporation, L=Santa Clara, ST=CA, C=US", intel.root, false);
    const r = verifyQuote({ version: 3, tee: "sgx" }, { collateral: buildCollateral(intel, "sgx", { tcbSigner: other }) });
    assert.deepEqual(failed(r), ["COLLATERAL"]);
    assert.match(r.reasons[0]!, /TCB info signer: "Intel SGX Something Else" is not the Intel SGX TCB Signing certificate/);
  });
});

describe("finding 2: CRLs are matched to their issuer by name and signature", () => {
  it("refuses a revoked PCK certificate", () => {
    const serial = intel.pck.serial;
    const pckCrl = testCrl(intel.pckCa, [serial]);
    const r = verifyQuote({ version: 3, tee: "sgx" }, { collateral: buildCollateral(intel, "sgx", { pckCrl }) });
    assert.ok(failed(r).includes("PCK_CHAIN"));
    assert.match(r.reasons[0]!, /Intel SGX PCK Certificate.*is revoked by the PCK CRL/);
  });

  it("refuses when the PCK CRL slot holds the root's CRL, in any chain order", () => {
    const reordered = [intel.pck, intel.root, intel.pckCa].map((p) => p.pem + "\n").join("");
    for (const pckChain of [intel.pckChain, reordered]) {
      const r = verifyQuote({ version: 3, tee: "sgx", pckChain }, { collateral: buildCollateral(intel, "sgx", { pckCrl: intel.rootCrl }) });
      assert.ok(failed(r).includes("PCK_CHAIN"), r.reasons.join("; "));
      assert.match(r.reasons[0]!, /no CRL given is signed by "CN=Intel SGX PCK Platform CA/);
    }
  });

  it("refuses a CRL whose name is right but whose signature is not the issuer's", () => {
    const impostor = testParty(P256, intel.pckCa.subject, intel.root, true);
    const forged = testCrl(impostor);
    const r = verifyQuote({ version: 3, tee: "sgx" }, { collateral: buildCollateral(intel, "sgx", { pckCrl: forged }) });
    assert.match(r.reasons[0]!, /no CRL given is signed by "CN=Intel SGX PCK Platform CA/);
  });
});

describe("finding 4: strict lengths", () => {
  // Offset of the signature data length: header ‖ report body.
  const sigLenAt = (tee: "sgx" | "tdx") => 48 + (tee === "sgx" ? 384 : 584);

  it("refuses bytes after the quote (SGX and TDX)", () => {
    for (const spec of [{ version: 3, tee: "sgx" }, { version: 4, tee: "tdx" }, { version: 5, tee: "tdx" }] as const) {
      const q = Buffer.concat([buildQuote(intel, spec), Buffer.from([0])]);
      assert.throws(() => verifyEvidence(q, intelOpts(spec.tee)), isInvalid(/quote has 1 trailing bytes/), JSON.stringify(spec));
    }
  });

  it("refuses a signature data length padded past its content", () => {
    for (const spec of [{ version: 3, tee: "sgx" }, { version: 4, tee: "tdx" }] as const) {
      const q = buildQuote(intel, spec);
      const at = sigLenAt(spec.tee);
      const padded = Buffer.concat([q, Buffer.alloc(4)]);
      padded.writeUInt32LE(q.readUInt32LE(at) + 4, at);
      assert.throws(() => verifyEvidence(padded, intelOpts(spec.tee)), isInvalid(/signature data has 4 trailing bytes/), JSON.stringify(spec));
    }
  });

  it("refuses bytes after the QE report certification block of a TDX quote", () => {
    const q = buildQuote(intel, { version: 4, tee: "tdx" });
    const sigLen = sigLenAt("tdx");
    const certSize = sigLen + 4 + 128 + 2;
    const grown = Buffer.concat([q, Buffer.alloc(3)]);
    grown.writeUInt32LE(q.readUInt32LE(sigLen) + 3, sigLen);
    grown.writeUInt32LE(q.readUInt32LE(certSize) + 3, certSize);
    assert.throws(() => verifyEvidence(grown, intelOpts("tdx")), isInvalid(/QE report certification data has 3 trailing bytes/));
  });

  it("refuses garbage between or after the PEM certificates", () => {
    const [a, b, c] = intel.pckChain.split(/(?<=-----END CERTIFICATE-----\n)/);
    for (const chain of [`${a}junk\n${b}${c}`, `${a}${b}${c}trailer`]) {
      assert.throws(() => verifyEvidence(buildQuote(intel, { version: 3, tee: "sgx", pckChain: chain }), intelOpts("sgx")), isInvalid(/PCK certificate chain: unexpected/));
    }
  });
});

describe("findings 3 and 5: nonce, measurement, collateral and TCB status defaults", () => {
  it("checks the nonce whenever one is given, with no keys claimed", () => {
    const nonce = new Uint8Array(32).fill(9);
    const reportData = new Uint8Array(64);
    reportData.set(nonce, 32);
    const q = buildQuote(intel, { version: 4, tee: "tdx", reportData });
    assert.equal(verifyEvidence(q, intelOpts("tdx", { nonce })).ok, true);
    const stale = verifyEvidence(q, intelOpts("tdx", { nonce: new Uint8Array(32).fill(8) }));
    assert.deepEqual(failed(stale), ["NONCE"]);
    assert.match(stale.reasons[0]!, /not the nonce 0808.*stale or replayed/);
  });

  it("requires a measurement unless anyMeasurement is set", () => {
    const measurement = new Uint8Array(48).fill(0x11);
    const q = buildQuote(intel, { version: 4, tee: "tdx", measurement });
    const bare = verifyEvidence(q, { ...intelOpts("tdx"), anyMeasurement: undefined });
    assert.deepEqual(failed(bare), ["MEASUREMENT"]);
    assert.match(bare.reasons[0]!, /no expected measurement given/);
    assert.equal(verifyEvidence(q, { ...intelOpts("tdx"), anyMeasurement: undefined, expectedMeasurement: "11".repeat(48) }).ok, true);
    assert.deepEqual(verifyEvidence(q, intelOpts("tdx")).labels, ["FOR ANY MEASUREMENT"]);
  });

  it("requires Intel collateral unless noCollateral is set, and labels the result when it is", () => {
    const q = buildQuote(intel, { version: 3, tee: "sgx" });
    const bare = verifyEvidence(q, { ...intelOpts("sgx"), collateral: undefined });
    assert.deepEqual(failed(bare), ["COLLATERAL"]);
    const waived = verifyEvidence(q, { ...intelOpts("sgx"), collateral: undefined, noCollateral: true });
    assert.equal(waived.ok, true);
    assert.ok(waived.labels.includes("WITHOUT COLLATERAL"));
    assert.ok(waived.notChecked.some((n) => n.startsWith("WITHOUT COLLATERAL")));
  });
});

describe("finding 6: TDX policy", () => {
  const tdx = (over: Partial<QuoteSpec>, extra: VerifyOptions = {}) => verifyQuote({ version: 4, tee: "tdx", ...over }, extra);

  it("refuses debug and reserved TD attribute bits", () => {
    assert.deepEqual(failed(tdx({ tdAttributes: "0100001000000000" })), ["DEBUG"]);
    for (const attrs of ["0200001000000000", "0000011000000000", "0000003000000000", "0000001000000040"]) {
      const r = tdx({ tdAttributes: attrs });
      assert.deepEqual(failed(r), ["TD_POLICY"], attrs);
      assert.match(r.reasons[0]!, /set reserved bits/);
    }
  });

  it("requires SEPT_VE_DISABLE unless allowSeptVe is set", () => {
    const r = tdx({ tdAttributes: "0000000000000000" });
    assert.deepEqual(failed(r), ["TD_POLICY"]);
    assert.match(r.reasons[0]!, /SEPT_VE_DISABLE is off/);
    assert.equal(tdx({ tdAttributes: "0000000000000000" }, { allowSeptVe: true }).ok, true);
  });

  it("refuses a TDX module not signed by Intel (MRSIGNERSEAM not zero) and a bound service TD", () => {
    const r = tdx({ mrSignerSeam: new Uint8Array(48).fill(1) });
    assert.deepEqual(failed(r), ["TD_POLICY"]);
    assert.match(r.reasons[0]!, /MRSIGNERSEAM 0101.* is not zero/);
    const svc = verifyQuote({ version: 5, tee: "tdx", td15: true, mrServiceTd: new Uint8Array(48).fill(2) });
    assert.match(svc.reasons[0]!, /MRSERVICETD .* is not zero/);
  });

  it("refuses a v5 body whose type or size does not fit", () => {
    const q = buildQuote(intel, { version: 5, tee: "tdx" });
    const wrong = Buffer.from(q);
    wrong.writeUInt16LE(1, 48);
    assert.throws(() => verifyEvidence(wrong, intelOpts("tdx")), isInvalid(/v5 body type 1 of 584 bytes does not fit a tdx quote/));
  });
});

describe("finding 6: SEV-SNP policy, VLEK, CRLs", () => {
  const snpOpts = (extra: VerifyOptions = {}): VerifyOptions => ({ now: TEST_AT, roots: { amd: [amd.arkPin] }, amdIntermediatesPem: [amd.ask, amd.asvk].map((p) => p.pem).join("\n"), vcek: der(amd.vcek), anyMeasurement: true, ...extra });

  it("verifies a VCEK-signed and a VLEK-signed report from the test PKI", () => {
    const vcek = verifyEvidence(buildSnpReport(amd), snpOpts());
    assert.equal(vcek.ok, true, vcek.reasons.join("; "));
    const vlek = verifyEvidence(buildSnpReport(amd, { signingKey: "vlek" }), snpOpts({ vcek: der(amd.vlek) }));
    assert.equal(vlek.ok, true, vlek.reasons.join("; "));
    assert.equal(vlek.details.signingKey, "vlek");
    const swapped = verifyEvidence(buildSnpReport(amd, { signingKey: "vlek" }), snpOpts());
    assert.ok(failed(swapped).includes("VCEK_BINDING"));
    assert.match(swapped.reasons.find((x) => x.startsWith("VCEK_BINDING"))!, /VLEK-signed but the certificate is not a VLEK/);
  });

  it("refuses a migration agent, reserved policy bits, a debug guest", () => {
    const ma = verifyEvidence(buildSnpReport(amd, { policy: 0x30000n | (1n << 18n) }), snpOpts());
    assert.deepEqual(failed(ma), ["SNP_POLICY"]);
    assert.match(ma.reasons[0]!, /migration agent/);
    const mbz = verifyEvidence(buildSnpReport(amd, { policy: 0x30000n | (1n << 40n) }), snpOpts());
    assert.match(mbz.reasons[0]!, /reserved bits 63:26/);
    const noOne = verifyEvidence(buildSnpReport(amd, { policy: 0x10000n }), snpOpts());
    assert.match(noOne.reasons[0]!, /clears bit 17/);
    assert.deepEqual(failed(verifyEvidence(buildSnpReport(amd, { policy: 0x30000n | (1n << 19n) }), snpOpts())), ["DEBUG"]);
  });

  it("refuses a report from another VMPL than the expected one", () => {
    const r = verifyEvidence(buildSnpReport(amd, { vmpl: 3 }), snpOpts());
    assert.deepEqual(failed(r), ["SNP_POLICY"]);
    assert.match(r.reasons[0]!, /VMPL 3, expected VMPL 0/);
    assert.equal(verifyEvidence(buildSnpReport(amd, { vmpl: 3 }), snpOpts({ snp: { vmpl: 3 } })).ok, true);
  });

  it("refuses a reported TCB below the minimum for the product", () => {
    const zero = amdPki(0n);
    const r = verifyEvidence(buildSnpReport(zero), { ...snpOpts(), roots: { amd: [zero.arkPin] }, amdIntermediatesPem: zero.ask.pem, vcek: der(zero.vcek) });
    assert.deepEqual(failed(r), ["SNP_POLICY"]);
    assert.match(r.reasons[0]!, /REPORTED_TCB bootLoader SVN 0 is below the minimum 1 for Milan/);
    const strict = verifyEvidence(buildSnpReport(amd), snpOpts({ snp: { minTcb: { Milan: { bootLoader: 3, tee: 0, snp: 9, microcode: 115 } } } }));
    assert.match(strict.reasons[0]!, /snp SVN 8 is below the minimum 9 for Milan/);
  });

  it("applies SMT and single-socket requirements when asked", () => {
    const smt = verifyEvidence(buildSnpReport(amd), snpOpts({ snp: { noSmt: true } }));
    assert.match(smt.reasons[0]!, /SMT is enabled/);
    assert.equal(verifyEvidence(buildSnpReport(amd, { policy: 0x20000n, platformInfo: 0n }), snpOpts({ snp: { noSmt: true } })).ok, true);
    assert.match(verifyEvidence(buildSnpReport(amd), snpOpts({ snp: { singleSocket: true } })).reasons[0]!, /single socket/);
    assert.equal(verifyEvidence(buildSnpReport(amd, { policy: 0x30000n | (1n << 20n) }), snpOpts({ snp: { singleSocket: true } })).ok, true);
  });

  it("checks AMD CRLs given as input: a revoked ASK, and a CRL not signed by the ARK", () => {
    assert.equal(verifyEvidence(buildSnpReport(amd), snpOpts({ amdCrls: [amd.crl] })).ok, true);
    const revoked = testCrl(amd.ark, [amd.ask.serial]);
    const r = verifyEvidence(buildSnpReport(amd), snpOpts({ amdCrls: [revoked] }));
    assert.deepEqual(failed(r), ["VCEK_CHAIN"]);
    assert.match(r.reasons[0]!, /SEV-Milan.*is revoked by the AMD CRL 1/);
    const foreign = verifyEvidence(buildSnpReport(amd), snpOpts({ amdCrls: [intel.rootCrl] }));
    assert.match(foreign.reasons[0]!, /no CRL given is signed by "CN=ARK-Milan/);
  });
});

describe("finding 8: the transport key encrypt-for-signer may encrypt to", () => {
  const transportPublicKey = new Uint8Array(32).fill(0x42);
  const evidenceFor = (bound: Uint8Array, stated = bound) => ({
    platform: "tsm",
    format: "tdx",
    quote: buildQuote(intel, { version: 4, tee: "tdx", reportData: reportData({ transportPublicKey: bound, blsPubkeys: [] }) }).toString("base64"),
    transportPublicKey: "0x" + Buffer.from(stated).toString("hex"),
    blsPubkeys: [],
  });

  it("is the key verified evidence binds, and only that key", () => {
    const r = verifyEvidence(evidenceFor(transportPublicKey), intelOpts("tdx"));
    assert.deepEqual(verifiedTransportKey(r), transportPublicKey);
    assert.deepEqual(verifiedTransportKey(r, "0x" + "42".repeat(32)), transportPublicKey);
    assert.throws(() => verifiedTransportKey(r, "0x" + "43".repeat(32)), isInvalid(/signer key 4343.* is not the transport key 4242.* the evidence binds/));
  });

  it("does not exist for evidence that does not verify or binds no key", () => {
    // A man in the middle who states his own key next to the genuine quote.
    const swapped = verifyEvidence(evidenceFor(transportPublicKey, new Uint8Array(32).fill(0x66)), intelOpts("tdx"));
    assert.throws(() => verifiedTransportKey(swapped), isInvalid(/evidence refused, not encrypting to it: REPORT_DATA/));
    const unexpected = verifyEvidence(evidenceFor(transportPublicKey), { ...intelOpts("tdx"), anyMeasurement: undefined, expectedMeasurement: "00".repeat(48) });
    assert.throws(() => verifiedTransportKey(unexpected), isInvalid(/MEASUREMENT/));
    const raw = verifyEvidence(buildQuote(intel, { version: 4, tee: "tdx" }), intelOpts("tdx"));
    assert.throws(() => verifiedTransportKey(raw), isInvalid(/binds no transport key/));
  });
});
