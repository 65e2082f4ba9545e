import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { InputError } from "../../errors.js";
import { TeeError } from "../errors.js";
import { checkReportData, type ReportDataClaim } from "../reportData.js";
import { AMD_ARKS, AMD_ASK_MILAN_PEM, INTEL_SGX_ROOT_CA, type PinnedRoot } from "../roots/index.js";
import { fromHex } from "../../util/hex.js";
import { hex } from "./bytes.js";
import { check, type Check, type CheckId } from "./check.js";
import { checkIntelCollateral, DEFAULT_ACCEPTED_TCB_STATUSES, parseIntelCollateral } from "./collateral.js";
import { verifyChain } from "./chain.js";
import { pckProfileProblem } from "./intelPck.js";
import { INTEL_QE_VENDOR_ID, isDebug, QE_IDENTITY_FLOOR, qeIdentityProblem, tdPolicyProblems } from "./intelPolicy.js";
import { looksLikeIntelQuote, parseIntelQuote, type IntelQuote } from "./intelQuote.js";
import { endorsementBindingProblem, looksLikeSnpReport, parseSnpReport, snpDebugAllowed, snpPolicyProblems, type SnpPolicy, type SnpReport } from "./sevSnp.js";
import { parseCertificate, parseCrl, parsePemChain, publicKeyOf, type Cert } from "./x509.js";
import { checkStatements, describeStatement, type DepositDataEntry } from "./statements.js";
import type { VerifiedStatement } from "../statement.js";
import { firstSchemaError } from "../../util/schema.js";

export type EvidenceFormat = "sgx-dcap" | "tdx" | "sev-snp";
export type { Check, CheckId };

export interface VerifyResult {
  /** True only when every check that ran passed. */
  ok: boolean;
  format: EvidenceFormat;
  /** MRENCLAVE (SGX), MRTD (TDX) or MEASUREMENT (SEV-SNP), lower-case hex. */
  measurement: string;
  /** The 64 bytes of report data inside the signed evidence, lower-case hex. */
  reportData: string;
  checks: Check[];
  /** `ID: detail` for each failed check. */
  reasons: string[];
  /** What was not checked and why, so that a pass is never read as more than it is. */
  notChecked: string[];
  /** Checks the caller switched off (e.g. "WITHOUT COLLATERAL"), printed next to the verdict. */
  labels: string[];
  /** The transport key and BLS keys the report data was checked to bind, when it was. */
  bound?: { transportPublicKey: Uint8Array; blsPubkeys: string[] };
  /** Evidence v2: each stated key with its origin; only when every check passed. */
  keys?: VerifiedStatement[];
  /** Other fields a policy may want (MRSIGNER, RTMRs, TCB, chip id …). */
  details: Record<string, string | number | boolean>;
}

/** Trust anchors; the shipped vendor roots unless a test injects its own (never from the CLI). */
export interface TrustRoots {
  intel?: PinnedRoot;
  amd?: readonly PinnedRoot[];
}

export interface VerifyOptions {
  /** Hex, with or without 0x. Required unless anyMeasurement is set. */
  expectedMeasurement?: string;
  /** Accept any measurement: the evidence then proves only that *some* code ran in a genuine TEE. */
  anyMeasurement?: boolean;
  /** The 32-byte challenge the evidence must carry in report data bytes 32..63 (freshness). */
  nonce?: Uint8Array;
  /**
   * Further values the evidence must hold, by `details` name, hex: e.g. { mrsigner } for SGX,
   * { rtmr1, rtmr2 } for TDX (kernel, initrd), { hostData } for SEV-SNP.
   */
  expect?: Record<string, string>;
  /** The state the report data must bind; overrides keys named in a JSON evidence file. */
  claim?: ReportDataClaim;
  /** Time at which certificates and collateral must be valid; default now. */
  now?: Date;
  /** SEV-SNP: the VCEK (DER or PEM); overrides one embedded in a JSON evidence file. */
  vcek?: Uint8Array;
  /** SEV-SNP: intermediate certificates (PEM), e.g. the ASK for processors other than Milan. */
  amdIntermediatesPem?: string;
  /** SEV-SNP: AMD CRLs (DER), e.g. the KDS CRL of the product's ARK; without them revocation is not checked. */
  amdCrls?: Uint8Array[];
  /** SEV-SNP: guest policy, VMPL and minimum TCB expectations. */
  snp?: SnpPolicy;
  /** SGX/TDX: Intel collateral JSON (TCB info, QE identity, CRLs, issuer chains), as PCCS / dcap-qvl give it. Required unless noCollateral. */
  collateral?: unknown;
  /** SGX/TDX: verify without collateral, so without TCB status or revocation (labelled in the result). */
  noCollateral?: boolean;
  /** Platform TCB statuses to accept when collateral is given; default DEFAULT_ACCEPTED_TCB_STATUSES (UpToDate). */
  acceptTcbStatuses?: readonly string[];
  /** Accept evidence from a debug TEE; only for development, since the host can read its memory. */
  allowDebug?: boolean;
  /** TDX: accept a TD without SEPT_VE_DISABLE. */
  allowSeptVe?: boolean;
  /** Library only: trust anchors other than the shipped vendor roots, for tests with their own PKI. */
  roots?: TrustRoots;
  /** Evidence v2: deposits (deposit_data-*.json entries) that must each be stated as signed inside at keygen. */
  depositData?: DepositDataEntry[];
}

/** secure-signer's evidence file (docs/tee-evidence.md). */
const EvidenceFileSchema = Type.Object({
  platform: Type.Optional(Type.String()),
  format: Type.Optional(Type.String()),
  quote: Type.String({ minLength: 1 }),
  reportData: Type.Optional(Type.String()),
  transportPublicKey: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{2,}$" })),
  blsPubkeys: Type.Optional(Type.Array(Type.String())),
  nonce: Type.Optional(Type.String()),
  vcek: Type.Optional(Type.String()),
  version: Type.Optional(Type.Literal(2)),
  identityPublicKey: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" })),
  statements: Type.Optional(Type.Array(Type.Unknown())),
});
type EvidenceFile = Static<typeof EvidenceFileSchema>;

function invalid(message: string, context: Record<string, unknown> = {}): TeeError {
  return new TeeError("INVALID_EVIDENCE", message, context);
}

function decodeEvidenceFile(json: unknown): { raw: Uint8Array; file: EvidenceFile } {
  // The dev platform's evidence has an empty quote; say why it cannot be verified, not that it is empty.
  const claimed = json as { format?: unknown; platform?: unknown };
  if (claimed?.format === "none") {
    throw invalid(`evidence from platform "${String(claimed.platform ?? "dev")}" is not attested and cannot be verified`);
  }
  if (!Value.Check(EvidenceFileSchema, json)) {
    throw invalid(`evidence JSON is not valid: ${firstSchemaError(Value.Errors(EvidenceFileSchema, json)) ?? "wrong shape"}`);
  }
  const v2 = json.version === 2;
  if (v2 !== (json.identityPublicKey !== undefined && json.statements !== undefined && json.transportPublicKey !== undefined) || (v2 && json.blsPubkeys !== undefined)) {
    throw invalid("evidence JSON is neither version 1 (blsPubkeys) nor version 2 (version 2, transportPublicKey, identityPublicKey, statements)");
  }
  const raw = new Uint8Array(Buffer.from(json.quote, "base64"));
  return { raw, file: json };
}

function claimFromFile(file: EvidenceFile): ReportDataClaim | undefined {
  if (file.transportPublicKey === undefined || file.blsPubkeys === undefined) return undefined;
  return {
    transportPublicKey: fromHex(file.transportPublicKey, "transportPublicKey"),
    blsPubkeys: file.blsPubkeys,
    ...(file.nonce !== undefined ? { nonce: fromHex(file.nonce, "nonce", 32) } : {}),
  };
}

function p256Key(raw: Uint8Array): KeyObject {
  const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  return createPublicKey({
    key: { kty: "EC", crv: "P-256", x: b64url(raw.subarray(0, 32)), y: b64url(raw.subarray(32, 64)) },
    format: "jwk",
  });
}

function ecdsaVerifies(hash: "sha256" | "sha384", data: Uint8Array, key: KeyObject, sigP1363: Uint8Array): boolean {
  try {
    return cryptoVerify(hash, data, { key, dsaEncoding: "ieee-p1363" }, sigP1363);
  } catch {
    return false;
  }
}

type Part = { checks: Check[]; notChecked: string[]; details: VerifyResult["details"] };

function verifyIntel(q: IntelQuote, opts: VerifyOptions, at: Date): Part {
  const checks: Check[] = [];
  const notChecked: string[] = [];
  const root = opts.roots?.intel ?? INTEL_SGX_ROOT_CA;

  const vendor = hex(q.qeVendorId);
  checks.push(check("QE_VENDOR", vendor === INTEL_QE_VENDOR_ID, "quote is from Intel's quoting enclave (QE vendor id)", `QE vendor id ${vendor} is not Intel's ${INTEL_QE_VENDOR_ID}`));

  const collateral = opts.collateral === undefined ? undefined : parseIntelCollateral(opts.collateral);
  const [pck, ...rest] = parsePemChain(q.pckChainPem, "PCK certificate chain");
  let pckOk = false;
  if (!pck) {
    checks.push(check("PCK_CHAIN", false, "", "the quote embeds no PCK certificate"));
  } else {
    const pool = [...rest, ...(collateral?.collateral.pck_crl_issuer_chain ? parsePemChain(collateral.collateral.pck_crl_issuer_chain, "PCK CRL issuer chain") : [])];
    const chain = verifyChain(pck, pool, [root], at, collateral && { crls: collateral.crls });
    const problem = chain.ok ? pckProfileProblem(chain.path) : chain.reason;
    pckOk = problem === undefined;
    checks.push(
      check(
        "PCK_CHAIN",
        problem === undefined,
        `PCK certificate chains to the pinned ${root.name}${collateral ? ", each certificate checked against its issuer's CRL" : ""}`,
        problem ?? "",
      ),
    );
    const pckKey = publicKeyOf(pck);
    checks.push(
      check(
        "QE_REPORT_SIGNATURE",
        pckKey !== undefined && ecdsaVerifies("sha256", q.qeReport.raw, pckKey, q.qeReportSignature),
        "QE report is signed by the PCK key",
        "QE report signature does not verify with the PCK certificate's key",
      ),
    );
  }
  const floor = qeIdentityProblem(q.qeReport, QE_IDENTITY_FLOOR[q.teeType], `Intel's ${q.teeType === "tdx" ? "TD QE" : "QE"}`);
  checks.push(check("QE_IDENTITY", floor === undefined, "QE is Intel's quoting enclave (MRSIGNER, ISVPRODID, ATTRIBUTES, MISCSELECT)", floor ?? ""));

  // The QE vouches for the attestation key by putting SHA-256(key ‖ auth data) in its own report data.
  const binding = createHash("sha256").update(q.attestationKey).update(q.qeAuthData).digest();
  const bound =
    binding.equals(q.qeReport.reportData.subarray(0, 32)) && q.qeReport.reportData.subarray(32).every((b) => b === 0);
  checks.push(
    check(
      "QE_REPORT_BINDING",
      bound,
      "QE report data = SHA-256(attestation key ‖ QE auth data)",
      `QE report data ${hex(q.qeReport.reportData)} is not SHA-256(attestation key ‖ QE auth data) ${binding.toString("hex")} padded with zeros`,
    ),
  );

  let key: KeyObject | undefined;
  try {
    key = p256Key(q.attestationKey);
  } catch {
    key = undefined;
  }
  checks.push(
    check(
      "QUOTE_SIGNATURE",
      key !== undefined && ecdsaVerifies("sha256", q.signedBytes, key, q.signature),
      "header and report body are signed by the attestation key",
      key ? "quote signature does not verify with the attestation key" : "attestation key is not a P-256 point",
    ),
  );

  const details: VerifyResult["details"] = { quoteVersion: q.version, qeSvn: q.qeSvn, pceSvn: q.pceSvn };
  if (collateral === undefined) {
    if (opts.noCollateral === true) {
      notChecked.push("WITHOUT COLLATERAL: TCB status, QE identity collateral and CRLs were not checked, so a revoked or out-of-date platform passes");
    } else {
      checks.push(check("COLLATERAL", false, "", "no Intel collateral given: a revoked or out-of-date platform cannot be told apart (give it, or waive it with --no-collateral)"));
    }
  } else if (!pckOk) {
    notChecked.push("collateral: the PCK certificate was refused, so its TCB was not evaluated");
  } else {
    const result = checkIntelCollateral(q, pck!, collateral, at, opts.acceptTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES, root);
    checks.push(...result.checks);
    Object.assign(details, result.details);
  }

  if (q.sgx) {
    Object.assign(details, {
      mrsigner: hex(q.sgx.mrSigner),
      isvProdId: q.sgx.isvProdId,
      isvSvn: q.sgx.isvSvn,
      attributes: hex(q.sgx.attributes),
    });
  } else {
    const td = q.td!;
    const problems = tdPolicyProblems(td, { allowSeptVe: opts.allowSeptVe === true });
    checks.push(check("TD_POLICY", problems.length === 0, "TD attributes, SEPT_VE_DISABLE and the TDX module signer are as required", problems.join("; ")));
    Object.assign(details, {
      mrseam: hex(td.mrSeam),
      mrsignerseam: hex(td.mrSignerSeam),
      tdAttributes: hex(td.tdAttributes),
      xfam: hex(td.xfam),
      mrconfigid: hex(td.mrConfigId),
      mrowner: hex(td.mrOwner),
      mrownerconfig: hex(td.mrOwnerConfig),
      ...Object.fromEntries(td.rtmrs.map((r, i) => [`rtmr${i}`, hex(r)])),
      ...(td.mrServiceTd ? { mrservicetd: hex(td.mrServiceTd) } : {}),
    });
  }
  return { checks, notChecked, details };
}

function verifySnp(r: SnpReport, certBytes: Uint8Array | undefined, opts: VerifyOptions, at: Date): Part {
  const checks: Check[] = [];
  const notChecked: string[] = [];
  const what = r.signingKey.toUpperCase();
  if (!certBytes) {
    throw invalid(`SEV-SNP evidence needs the ${what} certificate that signed it (give --vcek or a vcek field)`);
  }
  const text = Buffer.from(certBytes).toString("latin1");
  const endorsement: Cert = text.startsWith("-----BEGIN") ? parsePemChain(text, what)[0]! : parseCertificate(certBytes, `${what} certificate`);
  const roots = opts.roots?.amd ?? AMD_ARKS;
  const intermediates = parsePemChain((opts.roots?.amd ? "" : AMD_ASK_MILAN_PEM) + (opts.amdIntermediatesPem ?? ""), "AMD intermediate certificates");
  const crls = opts.amdCrls?.map((c, i) => parseCrl(c, `AMD CRL ${i + 1}`));
  const chain = verifyChain(endorsement, intermediates, roots, at, crls && { crls, onlyRootIssued: true });
  const key = publicKeyOf(endorsement);
  checks.push(
    check(
      "VCEK_CHAIN",
      chain.ok,
      chain.ok ? `${what} chains through the ${r.signingKey === "vcek" ? "ASK" : "ASVK"} to the pinned ${chain.root}${crls ? ", not revoked" : ""}` : "",
      chain.ok ? "" : chain.reason,
    ),
  );
  if (!crls) notChecked.push("AMD CRL: none given, so a revoked ASK/ASVK is not detected");
  checks.push(
    check(
      "REPORT_SIGNATURE",
      key !== undefined && ecdsaVerifies("sha384", r.signedBytes, key, r.signatureP1363),
      `report bytes 0x000..0x29F are signed by the ${what} (ECDSA P-384, SHA-384)`,
      `report signature does not verify with the ${what}'s key`,
    ),
  );
  const binding = endorsementBindingProblem(endorsement, r);
  checks.push(check("VCEK_BINDING", binding === undefined, `${what} identity and TCB are the report's`, binding ?? ""));
  const product = chain.ok ? chain.root.replace(/^ARK-/, "") : "unknown";
  const problems = snpPolicyProblems(r, product, opts.snp ?? {});
  checks.push(check("SNP_POLICY", problems.length === 0, `guest policy, VMPL ${r.vmpl} and REPORTED_TCB meet the ${product} policy`, problems.join("; ")));
  return {
    checks,
    notChecked,
    details: {
      reportVersion: r.version,
      signingKey: r.signingKey,
      guestSvn: r.guestSvn,
      policy: "0x" + r.policy.toString(16),
      platformInfo: "0x" + r.platformInfo.toString(16),
      vmpl: r.vmpl,
      reportedTcb: "0x" + r.reportedTcb.toString(16),
      hostData: hex(r.hostData),
      idKeyDigest: hex(r.idKeyDigest),
      chipId: hex(r.chipId),
    },
  };
}

function normaliseMeasurement(value: string): string {
  return value.trim().toLowerCase().replace(/^0x/, "");
}

/**
 * Verifies attestation evidence offline: a raw SGX DCAP v3 / TDX v4 quote, a raw SEV-SNP report, or
 * secure-signer's JSON evidence file (bytes or parsed). Evidence that cannot be parsed throws
 * TeeError("INVALID_EVIDENCE"); evidence that parses but fails a check returns ok: false with reasons.
 */
export function verifyEvidence(input: Uint8Array | object, opts: VerifyOptions = {}): VerifyResult {
  const at = opts.now ?? new Date();
  let raw: Uint8Array;
  let file: EvidenceFile | undefined;
  if (input instanceof Uint8Array) {
    const text = input.length > 0 && input[0] === 0x7b ? Buffer.from(input).toString("utf8") : undefined;
    if (text !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw invalid(`evidence starts with "{" but is not JSON: ${(e as Error).message}`);
      }
      ({ raw, file } = decodeEvidenceFile(json));
    } else {
      raw = input;
    }
  } else {
    ({ raw, file } = decodeEvidenceFile(input));
  }

  let format: EvidenceFormat;
  let measurement: Uint8Array;
  let reportData: Uint8Array;
  let debug: boolean;
  let part: Part;
  if (looksLikeIntelQuote(raw)) {
    const q = parseIntelQuote(raw);
    format = q.teeType === "sgx" ? "sgx-dcap" : "tdx";
    measurement = q.sgx ? q.sgx.mrEnclave : q.td!.mrTd;
    reportData = q.reportData;
    debug = isDebug(q);
    part = verifyIntel(q, opts, at);
  } else if (looksLikeSnpReport(raw)) {
    const r = parseSnpReport(raw);
    format = "sev-snp";
    measurement = r.measurement;
    reportData = r.reportData;
    debug = snpDebugAllowed(r);
    const vcek = opts.vcek ?? (file?.vcek !== undefined ? new Uint8Array(Buffer.from(file.vcek, "base64")) : undefined);
    part = verifySnp(r, vcek, opts, at);
  } else {
    throw invalid(`evidence of ${raw.length} bytes is neither an Intel DCAP quote (v3/v4) nor a SEV-SNP report (1184 bytes)`);
  }
  if (file?.format !== undefined && file.format !== format) {
    throw invalid(`evidence file says format "${file.format}" but the quote is ${format}`);
  }

  const { checks, notChecked } = part;
  checks.push(
    check(
      "DEBUG",
      !debug || opts.allowDebug === true,
      debug ? "debug TEE accepted because allowDebug was set" : "TEE is not in debug mode",
      "TEE is in debug mode: the host can read its memory and keys",
    ),
  );

  const measured = hex(measurement);
  if (opts.expectedMeasurement !== undefined) {
    const expected = normaliseMeasurement(opts.expectedMeasurement);
    checks.push(check("MEASUREMENT", measured === expected, `measurement is the expected ${expected}`, `measurement ${measured} is not the expected ${expected}`));
  } else if (opts.anyMeasurement === true) {
    notChecked.push("ANY MEASUREMENT: no expected value given; anyone's code could have produced this evidence");
  } else {
    checks.push(check("MEASUREMENT", false, "", "no expected measurement given: without one, anyone's code could have produced this evidence (give one, or waive it with --any-measurement)"));
  }

  for (const [field, value] of Object.entries(opts.expect ?? {})) {
    const actual = part.details[field];
    if (actual === undefined) {
      throw new InputError("INVALID_INPUT", `cannot expect "${field}": ${format} evidence has ${Object.keys(part.details).join(", ")}`, { field });
    }
    const want = normaliseMeasurement(value);
    checks.push(check("EXPECTED_FIELD", String(actual) === want, `${field} is the expected ${want}`, `${field} ${actual} is not the expected ${want}`));
  }

  if (opts.nonce !== undefined) {
    const carried = reportData.subarray(32);
    const fresh = opts.nonce.length === 32 && Buffer.from(carried).equals(opts.nonce);
    checks.push(check("NONCE", fresh, "report data carries the nonce it was asked for", `report data bytes 32..63 are ${hex(carried)}, not the nonce ${hex(opts.nonce)}: stale or replayed evidence`));
  } else {
    notChecked.push("freshness: no nonce given, so this evidence may be old");
  }

  const fromFile = file ? claimFromFile(file) : undefined;
  const base = opts.claim ?? fromFile;
  // The relying party's nonce, not the one the evidence file states, is what the binding must hold.
  const claim = base && opts.nonce !== undefined ? { ...base, nonce: opts.nonce } : base;
  if (file?.reportData !== undefined) {
    const stated = normaliseMeasurement(file.reportData);
    if (stated !== hex(reportData)) {
      checks.push(check("REPORT_DATA", false, "", `evidence file states report data ${stated} but the signed quote holds ${hex(reportData)}`));
    }
  }
  let boundClaim: VerifyResult["bound"];
  let keys: VerifiedStatement[] | undefined;
  if (file?.version === 2) {
    // Keys named on the command line must each be stated; the identity, not the key set, is bound.
    const stated = checkStatements(reportData, file as Parameters<typeof checkStatements>[1], {
      ...(opts.nonce && { nonce: opts.nonce }),
      ...(opts.claim && { blsPubkeys: opts.claim.blsPubkeys }),
      ...(opts.depositData && { depositData: opts.depositData }),
    });
    checks.push(...stated.checks);
    if (opts.claim && stated.transportPublicKey && hex(opts.claim.transportPublicKey) !== hex(stated.transportPublicKey)) {
      checks.push(check("REPORT_DATA", false, "", `transport key ${hex(opts.claim.transportPublicKey)} is not the ${hex(stated.transportPublicKey)} the evidence binds`));
    }
    keys = stated.keys;
    if (stated.transportPublicKey && keys) boundClaim = { transportPublicKey: stated.transportPublicKey, blsPubkeys: keys.map((k) => k.pubkey) };
  } else if (opts.depositData) {
    throw new InputError("INVALID_INPUT", "deposit data can be checked only against evidence v2 (key statements)");
  } else if (claim) {
    const bound = checkReportData(reportData, claim);
    if (bound.ok) boundClaim = { transportPublicKey: claim.transportPublicKey, blsPubkeys: claim.blsPubkeys };
    checks.push(
      check(
        "REPORT_DATA",
        bound.ok,
        `report data binds the transport key and ${claim.blsPubkeys.length} BLS key(s)`,
        bound.ok ? "" : bound.reason,
      ),
    );
  } else {
    notChecked.push("report data: no claimed keys given, so what the evidence binds was not checked");
  }

  const failed = checks.filter((c) => !c.ok);
  return {
    ok: failed.length === 0,
    format,
    measurement: measured,
    reportData: hex(reportData),
    checks,
    reasons: failed.map((c) => `${c.id}: ${c.detail}`),
    notChecked,
    labels: [
      ...(format !== "sev-snp" && opts.collateral === undefined && opts.noCollateral === true ? ["WITHOUT COLLATERAL"] : []),
      ...(opts.expectedMeasurement === undefined && opts.anyMeasurement === true ? ["FOR ANY MEASUREMENT"] : []),
      ...(debug && opts.allowDebug === true ? ["OF A DEBUG TEE"] : []),
    ],
    details: { ...part.details, debug },
    ...(boundClaim ? { bound: boundClaim } : {}),
    // Statements are worth what the quote that binds their identity is worth: none unless all passed.
    ...(keys && failed.length === 0 ? { keys } : {}),
  };
}

/**
 * The transport key a passing verification proved the attested signer holds: the only key
 * `keys encrypt-for-signer` may encrypt keystores to. `claimed` (hex), when given, must be that key.
 */
export function verifiedTransportKey(result: VerifyResult, claimed?: string): Uint8Array {
  if (!result.ok) throw invalid(`evidence refused, not encrypting to it: ${result.reasons.join("; ")}`);
  if (!result.bound) throw invalid("evidence binds no transport key (give the signer's evidence JSON, or --transport-key with a raw quote)");
  const key = result.bound.transportPublicKey;
  if (claimed !== undefined && normaliseMeasurement(claimed) !== hex(key)) {
    throw invalid(`signer key ${normaliseMeasurement(claimed)} is not the transport key ${hex(key)} the evidence binds`);
  }
  return key;
}

/** What the CLI can set: files instead of bytes, and never the trust anchors. */
export interface VerifyFileOptions extends Omit<VerifyOptions, "vcek" | "amdIntermediatesPem" | "amdCrls" | "collateral" | "roots" | "depositData"> {
  depositDataPath?: string;
  vcekPath?: string;
  amdIntermediatesPath?: string;
  amdCrlPaths?: string[];
  collateralPath?: string;
}

/** For `secure-signer verify-evidence FILE`: reads the files, verifies, and renders the result as text. */
export async function verifyEvidenceFile(path: string, opts: VerifyFileOptions = {}): Promise<{ result: VerifyResult; text: string }> {
  const { vcekPath, amdIntermediatesPath, amdCrlPaths, collateralPath, depositDataPath, ...rest } = opts;
  const read = async (p: string, what: string) => {
    try {
      return new Uint8Array(await readFile(p));
    } catch (e) {
      throw invalid(`cannot read ${what} ${p}: ${(e as Error).message}`, { path: p });
    }
  };
  const evidence = await read(path, "evidence file");
  // Trust anchors are the shipped roots here whatever a caller passes: only library users may inject others.
  const full: VerifyOptions = { ...rest, roots: undefined };
  if (vcekPath !== undefined) full.vcek = await read(vcekPath, "VCEK certificate");
  if (amdCrlPaths !== undefined) full.amdCrls = await Promise.all(amdCrlPaths.map((p) => read(p, "AMD CRL")));
  if (amdIntermediatesPath !== undefined) full.amdIntermediatesPem = Buffer.from(await read(amdIntermediatesPath, "AMD certificates")).toString("utf8");
  if (collateralPath !== undefined) {
    const text = Buffer.from(await read(collateralPath, "collateral file")).toString("utf8");
    try {
      full.collateral = JSON.parse(text);
    } catch (e) {
      throw invalid(`collateral file ${collateralPath} is not JSON: ${(e as Error).message}`);
    }
  }
  if (depositDataPath !== undefined) full.depositData = parseDepositData(Buffer.from(await read(depositDataPath, "deposit data file")).toString("utf8"), depositDataPath);
  const result = verifyEvidence(evidence, full);
  return { result, text: renderResult(path, result) };
}

const DepositDataSchema = Type.Array(
  Type.Object({
    pubkey: Type.String({ pattern: "^(0x)?[0-9a-fA-F]{96}$" }),
    withdrawal_credentials: Type.String({ pattern: "^(0x)?[0-9a-fA-F]{64}$" }),
    amount: Type.Integer({ minimum: 0 }),
    fork_version: Type.String({ pattern: "^(0x)?[0-9a-fA-F]{8}$" }),
    deposit_data_root: Type.String({ pattern: "^(0x)?[0-9a-fA-F]{64}$" }),
  }),
  { minItems: 1 },
);

function parseDepositData(text: string, path: string): DepositDataEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError("INVALID_INPUT", `deposit data file ${path} is not JSON: ${(e as Error).message}`);
  }
  if (!Value.Check(DepositDataSchema, json)) {
    throw new InputError("INVALID_INPUT", `deposit data file ${path} is not a deposit_data JSON array: ${firstSchemaError(Value.Errors(DepositDataSchema, json)) ?? "wrong shape"}`);
  }
  return json;
}

export function renderResult(path: string, r: VerifyResult): string {
  const lines = [
    `${r.ok ? "VERIFIED" : "REFUSED"}${r.labels.map((l) => ` ${l}`).join("")}: ${path} (${r.format})`,
    `  measurement  ${r.measurement}`,
    `  report data  ${r.reportData}`,
    ...r.checks.map((c) => `  [${c.ok ? "ok" : "FAIL"}] ${c.id}: ${c.detail}`),
    ...r.notChecked.map((n) => `  [not checked] ${n}`),
    ...(r.keys ? [`  keys (${r.keys.length}), as the instance identity states them:`, ...r.keys.map((k) => `    ${describeStatement(k)}`)] : []),
    ...Object.entries(r.details).map(([k, v]) => `  ${k}: ${v}`),
  ];
  return lines.join("\n") + "\n";
}
