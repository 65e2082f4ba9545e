import { verify as cryptoVerify } from "node:crypto";
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { TeeError } from "../errors.js";
import type { PinnedRoot } from "../roots/index.js";
import { hex } from "./bytes.js";
import { verifyChain } from "./chain.js";
import { check, type Check } from "./check.js";
import { pckTcb, tcbSignerProblem } from "./intelPck.js";
import { maskedEqual, qeIdentityProblem } from "./intelPolicy.js";
import type { IntelQuote } from "./intelQuote.js";
import { parseCrl, parsePemChain, publicKeyOf, type Cert, type Crl } from "./x509.js";
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
  pck_crl_issuer_chain: Type.Optional(Type.String()),
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

/**
 * Platform TCB statuses accepted by default. A relying party that accepts a platform needing
 * configuration or software hardening (which leaves known attacks open) says so with
 * acceptTcbStatuses.
 */
export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly string[] = ["UpToDate"];

function invalid(message: string): TeeError {
  return new TeeError("INVALID_EVIDENCE", message);
}

/** Schema-checks collateral and parses its CRLs, which path building for every Intel chain then uses. */
export function parseIntelCollateral(input: unknown): { collateral: IntelCollateral; crls: Crl[] } {
  if (!Value.Check(IntelCollateralSchema, input)) {
    throw invalid(`collateral is not in the expected format: ${firstSchemaError(Value.Errors(IntelCollateralSchema, input)) ?? "wrong shape"}`);
  }
  const crl = (hexDer: string, what: string) => parseCrl(Buffer.from(hexDer, "hex"), what);
  return { collateral: input, crls: [crl(input.pck_crl, "PCK CRL"), crl(input.root_ca_crl, "root CA CRL")] };
}

/**
 * Signed JSON: the TCB Signing certificate directly under the root and covered by the root's CRL,
 * ECDSA P-256 over the exact text, and its date window. Returns the body and its signer.
 */
function signedJson<T extends TSchema>(
  what: string,
  schema: T,
  text: string,
  signatureHex: string,
  chainPem: string,
  at: Date,
  root: PinnedRoot,
  crls: readonly Crl[],
): { body: Static<T>; signer: Cert } | { error: string } {
  const [signer, ...rest] = parsePemChain(chainPem, `${what} issuer chain`);
  if (!signer) return { error: `${what} issuer chain holds no certificate` };
  const chain = verifyChain(signer, rest, [root], at, { crls });
  if (!chain.ok) return { error: `${what} signer: ${chain.reason}` };
  const profile = tcbSignerProblem(chain.path);
  if (profile) return { error: `${what} signer: ${profile}` };
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

const geq = (have: number[], want: { svn: number }[], from = 0) => want.every((w, i) => i < from || have[i]! >= w.svn);

/** Worst-of merge, as the QVL does: an out-of-date QE or TDX module makes the whole platform out of date. */
function mergeStatus(platform: string, other: string): string {
  if (other === "Revoked" || platform === "Revoked") return "Revoked";
  if (other !== "OutOfDate") return platform;
  return platform.includes("Configuration") ? "OutOfDateConfigurationNeeded" : platform.startsWith("OutOfDate") ? platform : "OutOfDate";
}

/**
 * Verifies the collateral itself (signatures, chains to the pinned root, dates; its CRLs were applied
 * to the PCK chain already), matches the QE against its identity, and finds the platform's TCB level.
 * Returns COLLATERAL and TCB_STATUS checks.
 */
export function checkIntelCollateral(
  q: IntelQuote,
  pck: Cert,
  { collateral: c, crls }: { collateral: IntelCollateral; crls: readonly Crl[] },
  at: Date,
  acceptedStatuses: readonly string[],
  root: PinnedRoot,
): { checks: Check[]; details: Record<string, string> } {
  const fail = (reason: string) => ({ checks: [check("COLLATERAL", false, "", reason)], details: {} });

  const tcbInfo = signedJson("TCB info", TcbInfoSchema, c.tcb_info, c.tcb_info_signature, c.tcb_info_issuer_chain, at, root, crls);
  if ("error" in tcbInfo) return fail(tcbInfo.error);
  const qeIdentity = signedJson("QE identity", QeIdentitySchema, c.qe_identity, c.qe_identity_signature, c.qe_identity_issuer_chain, at, root, crls);
  if ("error" in qeIdentity) return fail(qeIdentity.error);
  const info = tcbInfo.body;
  const qeId = qeIdentity.body;

  const wantId = q.teeType === "tdx" ? ["TDX", "TD_QE"] : ["SGX", "QE"];
  if (info.id !== wantId[0] || qeId.id !== wantId[1]) {
    return fail(`collateral is for ${info.id}/${qeId.id}, the quote is ${q.teeType === "tdx" ? "TDX" : "SGX"}`);
  }
  const platform = pckTcb(pck);
  if (platform.fmspc !== info.fmspc.toLowerCase() || platform.pceId !== info.pceId.toLowerCase()) {
    return fail(`TCB info is for FMSPC ${info.fmspc} / PCE ${info.pceId}, the PCK certificate has ${platform.fmspc} / ${platform.pceId}`);
  }
  const qeProblem = qeIdentityProblem(q.qeReport, qeId, "the QE identity collateral");
  if (qeProblem) return fail(qeProblem);

  const collateralOk = check("COLLATERAL", true, `TCB info (FMSPC ${info.fmspc}) and QE identity signed by the TCB Signing certificate, valid at ${at.toISOString()}`, "");

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
