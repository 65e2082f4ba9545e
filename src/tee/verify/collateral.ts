import { verify as cryptoVerify, type X509Certificate } from "node:crypto";
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { TeeError } from "../errors.js";
import { INTEL_SGX_ROOT_CA } from "../roots/index.js";
import { hex } from "./bytes.js";
import { parsePemCertificates, pinnedRootCertificate, publicKeyOf, verifyChain } from "./chain.js";
import { check, type Check } from "./check.js";
import { findByOid, integerHex, integerValue, parseDer, TAG, timeValue, type Der } from "./der.js";
import type { EnclaveReport, IntelQuote } from "./intelQuote.js";
import { firstSchemaError } from "../../util/schema.js";

/**
 * Intel DCAP collateral, as PCCS serves it and dcap-qvl stores it: TCB info and QE identity (JSON
 * text signed by the TCB Signing certificate), their issuer chain, and the CRLs (hex DER).
 * The TCB evaluation follows Intel's "TCB level matching" in the DCAP Quote Verification Library.
 */
export const IntelCollateralSchema = Type.Object({
  tcb_info_issuer_chain: Type.String(),
  tcb_info: Type.String(),
  tcb_info_signature: Type.String({ pattern: "^[0-9a-fA-F]{128}$" }),
  qe_identity_issuer_chain: Type.String(),
  qe_identity: Type.String(),
  qe_identity_signature: Type.String({ pattern: "^[0-9a-fA-F]{128}$" }),
  pck_crl: Type.String({ pattern: "^([0-9a-fA-F]{2})+$" }),
  root_ca_crl: Type.String({ pattern: "^([0-9a-fA-F]{2})+$" }),
});
export type IntelCollateral = Static<typeof IntelCollateralSchema>;

const Svn = Type.Object({ svn: Type.Integer({ minimum: 0 }) });
const Level = <T extends TSchema>(tcb: T) =>
  Type.Object({ tcb, tcbDate: Type.String(), tcbStatus: Type.String(), advisoryIDs: Type.Optional(Type.Array(Type.String())) });
const QeLevel = Level(Type.Object({ isvsvn: Type.Integer({ minimum: 0 }) }));
const TcbInfoSchema = Type.Object({
  id: Type.Union([Type.Literal("SGX"), Type.Literal("TDX")]),
  version: Type.Literal(3),
  issueDate: Type.String(),
  nextUpdate: Type.String(),
  fmspc: Type.String({ pattern: "^[0-9a-fA-F]{12}$" }),
  pceId: Type.String({ pattern: "^[0-9a-fA-F]{4}$" }),
  tdxModuleIdentities: Type.Optional(
    Type.Array(Type.Object({ id: Type.String(), mrsigner: Type.String(), attributes: Type.String(), attributesMask: Type.String(), tcbLevels: Type.Array(QeLevel) })),
  ),
  tcbLevels: Type.Array(
    Level(
      Type.Object({
        sgxtcbcomponents: Type.Array(Svn, { minItems: 16, maxItems: 16 }),
        pcesvn: Type.Integer({ minimum: 0 }),
        tdxtcbcomponents: Type.Optional(Type.Array(Svn, { minItems: 16, maxItems: 16 })),
      }),
    ),
  ),
});
const QeIdentitySchema = Type.Object({
  id: Type.Union([Type.Literal("QE"), Type.Literal("TD_QE")]),
  version: Type.Literal(2),
  issueDate: Type.String(),
  nextUpdate: Type.String(),
  miscselect: Type.String({ pattern: "^[0-9a-fA-F]{8}$" }),
  miscselectMask: Type.String({ pattern: "^[0-9a-fA-F]{8}$" }),
  attributes: Type.String({ pattern: "^[0-9a-fA-F]{32}$" }),
  attributesMask: Type.String({ pattern: "^[0-9a-fA-F]{32}$" }),
  mrsigner: Type.String({ pattern: "^[0-9a-fA-F]{64}$" }),
  isvprodid: Type.Integer(),
  tcbLevels: Type.Array(QeLevel),
});

/** Platform TCB statuses accepted by default; everything else (OutOfDate…, Revoked) refuses. */
export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly string[] = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
];

/** Intel's PCK certificate extension (SGX PCK Certificate and CRL Profile §1.3.5). */
const SGX_EXTENSION = "1.2.840.113741.1.13.1";

interface PckTcb {
  fmspc: string;
  pceId: string;
  cpuSvnComponents: number[];
  pceSvn: number;
}

function invalid(message: string): TeeError {
  return new TeeError("INVALID_EVIDENCE", message);
}

function pckTcb(pck: X509Certificate): PckTcb {
  const ext = findByOid(parseDer(pck.raw, "PCK certificate"), SGX_EXTENSION);
  if (!ext || ext.tag !== TAG.OCTET_STRING) throw invalid("PCK certificate has no SGX extension");
  const sgx = parseDer(ext.value, "PCK SGX extension");
  const field = (oid: string): Der => {
    const f = findByOid(sgx, oid);
    if (!f) throw invalid(`PCK SGX extension lacks ${oid}`);
    return f;
  };
  const cpuSvnComponents = Array.from({ length: 16 }, (_, i) => integerValue(field(`${SGX_EXTENSION}.2.${i + 1}`)));
  return {
    fmspc: hex(field(`${SGX_EXTENSION}.4`).value),
    pceId: hex(field(`${SGX_EXTENSION}.3`).value),
    cpuSvnComponents,
    pceSvn: integerValue(field(`${SGX_EXTENSION}.2.17`)),
  };
}

/**
 * Signed JSON: issuer chain to the pinned root, ECDSA P-256 over the exact text, and its date window.
 * Returns the body and the certificate that signed it.
 */
function signedJson<T extends TSchema>(what: string, schema: T, text: string, signatureHex: string, chainPem: string, at: Date): { body: Static<T>; signer: X509Certificate } | { error: string } {
  const [signer, ...rest] = parsePemCertificates(chainPem, `${what} issuer chain`);
  if (!signer) return { error: `${what} issuer chain holds no certificate` };
  const chain = verifyChain(signer, rest, [INTEL_SGX_ROOT_CA], at);
  if (!chain.ok) return { error: `${what} signer: ${chain.reason}` };
  // The chain verified, so the signer's key decodes.
  if (!cryptoVerify("sha256", Buffer.from(text, "utf8"), { key: publicKeyOf(signer)!, dsaEncoding: "ieee-p1363" }, Buffer.from(signatureHex, "hex"))) {
    return { error: `${what} signature does not verify with its TCB Signing certificate` };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return { error: `${what} is not JSON: ${(e as Error).message}` };
  }
  if (!Value.Check(schema, body)) {
    return { error: `${what} is not in the expected format: ${firstSchemaError(Value.Errors(schema, body)) ?? "wrong shape"}` };
  }
  const { issueDate, nextUpdate } = body as { issueDate: string; nextUpdate: string };
  if (at < new Date(issueDate) || at > new Date(nextUpdate)) {
    return { error: `${what} is valid from ${issueDate} to ${nextUpdate}, not at ${at.toISOString()}` };
  }
  return { body, signer };
}

interface Crl {
  tbs: Der;
  signature: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  revoked: Set<string>;
}

function parseCrl(hexDer: string, what: string): Crl {
  const root = parseDer(new Uint8Array(Buffer.from(hexDer, "hex")), what);
  const [tbs, , sig] = root.children;
  if (!tbs || !sig || sig.tag !== TAG.BIT_STRING) throw invalid(`${what} is not a CertificateList`);
  const fields = tbs.children[0]?.tag === TAG.INTEGER ? tbs.children.slice(1) : tbs.children;
  const [, , thisUpdate, maybeNext, ...others] = fields;
  if (!thisUpdate) throw invalid(`${what} has no thisUpdate`);
  const isTime = (n: Der | undefined) => n !== undefined && (n.tag === TAG.UTC_TIME || n.tag === TAG.GENERALIZED_TIME);
  const next = isTime(maybeNext) ? maybeNext : undefined;
  const revokedList = [...(next ? [] : maybeNext ? [maybeNext] : []), ...others].find((n) => n.tag === TAG.SEQUENCE);
  return {
    tbs,
    signature: sig.value.subarray(1),
    thisUpdate: timeValue(thisUpdate),
    nextUpdate: next ? timeValue(next) : undefined,
    revoked: new Set((revokedList?.children ?? []).map((entry) => integerHex(entry.children[0]!))),
  };
}

function crlProblem(crl: Crl, what: string, issuer: X509Certificate, at: Date, serials: Array<[string, X509Certificate]>): string | undefined {
  const key = publicKeyOf(issuer);
  let signed = false;
  try {
    signed = key !== undefined && cryptoVerify("sha256", crl.tbs.raw, key, crl.signature);
  } catch {
    // An undecodable signature is a bad signature.
  }
  if (!signed) return `${what} signature does not verify with its issuer`;
  if (at < crl.thisUpdate || (crl.nextUpdate && at > crl.nextUpdate)) {
    return `${what} is valid from ${crl.thisUpdate.toISOString()} to ${crl.nextUpdate?.toISOString()}, not at ${at.toISOString()}`;
  }
  for (const [name, cert] of serials) {
    if (crl.revoked.has(cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ""))) return `${name} (serial ${cert.serialNumber}) is revoked by the ${what}`;
  }
  return undefined;
}

const geq = (have: number[], want: { svn: number }[], from = 0) => want.every((w, i) => i < from || have[i]! >= w.svn);

/** Worst-of merge, as the QVL does: an out-of-date QE or TDX module makes the whole platform out of date. */
function mergeStatus(platform: string, other: string): string {
  if (other === "Revoked" || platform === "Revoked") return "Revoked";
  if (other !== "OutOfDate") return platform;
  return platform.includes("Configuration") ? "OutOfDateConfigurationNeeded" : platform.startsWith("OutOfDate") ? platform : "OutOfDate";
}

function maskedEqual(actual: Uint8Array, expectedHex: string, maskHex: string): boolean {
  const expected = Buffer.from(expectedHex, "hex");
  const mask = Buffer.from(maskHex, "hex");
  return mask.length === actual.length && mask.every((m, i) => (actual[i]! & m) === (expected[i]! & m));
}

function qeIdentityProblem(qe: EnclaveReport, id: Static<typeof QeIdentitySchema>): string | undefined {
  if (hex(qe.mrSigner) !== id.mrsigner.toLowerCase()) return `QE MRSIGNER ${hex(qe.mrSigner)} is not Intel's ${id.mrsigner.toLowerCase()}`;
  if (qe.isvProdId !== id.isvprodid) return `QE ISVPRODID ${qe.isvProdId} is not ${id.isvprodid}`;
  const misc = Buffer.alloc(4);
  misc.writeUInt32LE(qe.miscSelect);
  // QE identity prints MISCSELECT as a big-endian number.
  if (!maskedEqual(misc.reverse(), id.miscselect, id.miscselectMask)) return `QE MISCSELECT does not match the QE identity`;
  if (!maskedEqual(qe.attributes, id.attributes, id.attributesMask)) return `QE ATTRIBUTES ${hex(qe.attributes)} do not match the QE identity`;
  return undefined;
}

/**
 * Verifies the collateral itself (signatures, chains to the pinned root, dates, CRLs), matches the QE
 * against its identity, and finds the platform's TCB level. Returns COLLATERAL and TCB_STATUS checks.
 */
export function checkIntelCollateral(
  q: IntelQuote,
  pckChain: X509Certificate[],
  input: unknown,
  at: Date,
  acceptedStatuses: readonly string[] = DEFAULT_ACCEPTED_TCB_STATUSES,
): { checks: Check[]; details: Record<string, string> } {
  if (!Value.Check(IntelCollateralSchema, input)) {
    throw invalid(`collateral is not in the expected format: ${firstSchemaError(Value.Errors(IntelCollateralSchema, input)) ?? "wrong shape"}`);
  }
  const c = input;
  const fail = (reason: string) => ({ checks: [check("COLLATERAL", false, "", reason)], details: {} });

  const tcbInfo = signedJson("TCB info", TcbInfoSchema, c.tcb_info, c.tcb_info_signature, c.tcb_info_issuer_chain, at);
  if ("error" in tcbInfo) return fail(tcbInfo.error);
  const qeIdentity = signedJson("QE identity", QeIdentitySchema, c.qe_identity, c.qe_identity_signature, c.qe_identity_issuer_chain, at);
  if ("error" in qeIdentity) return fail(qeIdentity.error);
  const info = tcbInfo.body;
  const qeId = qeIdentity.body;

  const [pck, pckCa] = pckChain;
  if (!pck || !pckCa) return fail("the quote's PCK chain has no PCK CA certificate to check the PCK CRL against");
  const root = pinnedRootCertificate(INTEL_SGX_ROOT_CA);
  const crlIssue =
    crlProblem(parseCrl(c.pck_crl, "PCK CRL"), "PCK CRL", pckCa, at, [["PCK certificate", pck]]) ??
    crlProblem(parseCrl(c.root_ca_crl, "root CA CRL"), "root CA CRL", root, at, [
      ["PCK CA certificate", pckCa],
      ["TCB Signing certificate", tcbInfo.signer],
    ]);
  if (crlIssue) return fail(crlIssue);

  const wantId = q.teeType === "tdx" ? ["TDX", "TD_QE"] : ["SGX", "QE"];
  if (info.id !== wantId[0] || qeId.id !== wantId[1]) {
    return fail(`collateral is for ${info.id}/${qeId.id}, the quote is ${q.teeType === "tdx" ? "TDX" : "SGX"}`);
  }
  const platform = pckTcb(pck);
  if (platform.fmspc !== info.fmspc.toLowerCase() || platform.pceId !== info.pceId.toLowerCase()) {
    return fail(`TCB info is for FMSPC ${info.fmspc} / PCE ${info.pceId}, the PCK certificate has ${platform.fmspc} / ${platform.pceId}`);
  }
  const qeProblem = qeIdentityProblem(q.qeReport, qeId);
  if (qeProblem) return fail(qeProblem);

  const collateralOk = check("COLLATERAL", true, `TCB info (FMSPC ${info.fmspc}) and QE identity signed by Intel, valid at ${at.toISOString()}, PCK not revoked`, "");

  const qeLevel = qeId.tcbLevels.find((l) => q.qeReport.isvSvn >= l.tcb.isvsvn);
  const teeSvn = q.td ? Array.from(q.td.teeTcbSvn) : [];
  // TDX module major version > 0: the first two TEE TCB SVN bytes are judged by the module identity instead.
  const moduleMajor = teeSvn[1] ?? 0;
  const level = info.tcbLevels.find(
    (l) =>
      geq(platform.cpuSvnComponents, l.tcb.sgxtcbcomponents) &&
      platform.pceSvn >= l.tcb.pcesvn &&
      (!q.td || (l.tcb.tdxtcbcomponents !== undefined && geq(teeSvn, l.tcb.tdxtcbcomponents, moduleMajor > 0 ? 2 : 0))),
  );
  if (!level || !qeLevel) {
    return {
      checks: [collateralOk, check("TCB_STATUS", false, "", `no TCB level in the collateral matches this ${level ? "QE" : "platform"}: treat as revoked`)],
      details: {},
    };
  }
  let status = mergeStatus(level.tcbStatus, qeLevel.tcbStatus);
  const advisories = new Set([...(level.advisoryIDs ?? []), ...(qeLevel.advisoryIDs ?? [])]);
  if (q.td && moduleMajor > 0) {
    const identity = info.tdxModuleIdentities?.find((m) => m.id === `TDX_${moduleMajor.toString(16).padStart(2, "0").toUpperCase()}`);
    const moduleLevel =
      identity && hex(q.td.mrSignerSeam) === identity.mrsigner.toLowerCase() && maskedEqual(q.td.seamAttributes, identity.attributes, identity.attributesMask)
        ? identity.tcbLevels.find((l) => teeSvn[0]! >= l.tcb.isvsvn)
        : undefined;
    if (!moduleLevel) {
      return { checks: [collateralOk, check("TCB_STATUS", false, "", `TDX module ${moduleMajor}.${teeSvn[0]} matches no module identity in the TCB info`)], details: {} };
    }
    status = mergeStatus(status, moduleLevel.tcbStatus);
    for (const a of moduleLevel.advisoryIDs ?? []) advisories.add(a);
  }
  const advisoryIds = [...advisories].sort();
  const accepted = acceptedStatuses.includes(status);
  return {
    checks: [
      collateralOk,
      check(
        "TCB_STATUS",
        accepted,
        `TCB status ${status} (level of ${level.tcbDate})${advisoryIds.length ? `, advisories ${advisoryIds.join(", ")}` : ""}`,
        `TCB status ${status} is not accepted (accepted: ${acceptedStatuses.join(", ")})`,
      ),
    ],
    details: { tcbStatus: status, advisoryIds: advisoryIds.join(","), tcbDate: level.tcbDate, fmspc: platform.fmspc },
  };
}
