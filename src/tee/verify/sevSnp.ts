import * as asn1js from "asn1js";
import { TeeError } from "../errors.js";
import { hex, u64le } from "./bytes.js";
import { extension, type Cert } from "./x509.js";

/**
 * AMD SEV-SNP ATTESTATION_REPORT (SEV Secure Nested Paging Firmware ABI Specification, Table 22 in
 * rev 1.55+; versions 2 to 5 share the layout of every field used here). Little-endian.
 */

export const SNP_REPORT_BYTES = 0x4a0;
/** The signature covers bytes 0x000..0x29F. */
const SIGNED_BYTES = 0x2a0;
const SIG_ALGO_ECDSA_P384_SHA384 = 1;
/** GUEST_POLICY (SNP ABI "Guest Policy"): bits the verifier decides on. */
const POLICY_SMT = 1n << 16n;
const POLICY_RESERVED_ONE = 1n << 17n;
const POLICY_MIGRATE_MA = 1n << 18n;
/** The hypervisor may debug (read) the guest. */
const POLICY_DEBUG = 1n << 19n;
const POLICY_SINGLE_SOCKET = 1n << 20n;
/** Bits 63:26 are reserved and must be zero. */
const POLICY_MBZ = ~((1n << 26n) - 1n) & ((1n << 64n) - 1n);
/** PLATFORM_INFO bit 0: SMT is enabled on the host. */
const PLATFORM_SMT_EN = 1n;

export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  platformInfo: bigint;
  vmpl: number;
  /** KEY_INFO.SIGNING_KEY: which AMD key signed the report. */
  signingKey: "vcek" | "vlek";
  signatureAlgo: number;
  currentTcb: bigint;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  reportedTcb: bigint;
  chipId: Uint8Array;
  /** KEY_INFO.MASK_CHIP_ID: the firmware zeroed CHIP_ID on purpose. */
  chipIdMasked: boolean;
  signedBytes: Uint8Array;
  /** r ‖ s, each 48 bytes big-endian, ready for ECDSA verification (IEEE P1363). */
  signatureP1363: Uint8Array;
}

export function looksLikeSnpReport(bytes: Uint8Array): boolean {
  if (bytes.length !== SNP_REPORT_BYTES) return false;
  const version = Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32LE(0);
  return version >= 2 && version <= 5;
}

export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.length !== SNP_REPORT_BYTES) {
    throw new TeeError("INVALID_EVIDENCE", `SEV-SNP report is ${bytes.length} bytes, expected ${SNP_REPORT_BYTES}`, {
      length: bytes.length,
    });
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = b.readUInt32LE(0x00);
  if (version < 2 || version > 5) {
    throw new TeeError("INVALID_EVIDENCE", `SEV-SNP report version ${version} is not supported (2 to 5 are)`, { version });
  }
  const keyInfo = b.readUInt32LE(0x48);
  // KEY_INFO.SIGNING_KEY (bits 4:2): 0 = VCEK, 1 = VLEK, 7 = none.
  const signingKey = (keyInfo >> 2) & 7;
  if (signingKey !== 0 && signingKey !== 1) {
    throw new TeeError(
      "INVALID_EVIDENCE",
      `SEV-SNP report is signed by ${signingKey === 7 ? "no key" : `key type ${signingKey}`}; only VCEK- and VLEK-signed reports can be verified`,
      { signingKey },
    );
  }
  const signatureAlgo = b.readUInt32LE(0x34);
  if (signatureAlgo !== SIG_ALGO_ECDSA_P384_SHA384) {
    throw new TeeError("INVALID_EVIDENCE", `SEV-SNP signature algorithm ${signatureAlgo} is not ECDSA P-384 with SHA-384 (1)`, {
      signatureAlgo,
    });
  }
  // The firmware stores r and s as 72-byte little-endian integers; P-384 values fit in the low 48 bytes.
  const rLe = bytes.subarray(0x2a0, 0x2a0 + 72);
  const sLe = bytes.subarray(0x2e8, 0x2e8 + 72);
  for (const [name, v] of [["r", rLe], ["s", sLe]] as const) {
    if (v.subarray(48).some((x) => x !== 0)) {
      throw new TeeError("INVALID_EVIDENCE", `SEV-SNP signature ${name} does not fit in 48 bytes`, { component: name });
    }
  }
  const signatureP1363 = new Uint8Array(96);
  signatureP1363.set(Uint8Array.from(rLe.subarray(0, 48)).reverse(), 0);
  signatureP1363.set(Uint8Array.from(sLe.subarray(0, 48)).reverse(), 48);
  return {
    version,
    guestSvn: b.readUInt32LE(0x04),
    policy: u64le(bytes, 0x08),
    platformInfo: u64le(bytes, 0x40),
    vmpl: b.readUInt32LE(0x30),
    signingKey: signingKey === 0 ? "vcek" : "vlek",
    signatureAlgo,
    currentTcb: u64le(bytes, 0x38),
    reportData: bytes.subarray(0x50, 0x90),
    measurement: bytes.subarray(0x90, 0xc0),
    hostData: bytes.subarray(0xc0, 0xe0),
    idKeyDigest: bytes.subarray(0xe0, 0x110),
    reportedTcb: u64le(bytes, 0x180),
    chipId: bytes.subarray(0x1a0, 0x1e0),
    chipIdMasked: (keyInfo & 2) !== 0,
    signedBytes: bytes.subarray(0, SIGNED_BYTES),
    signatureP1363,
  };
}

export function snpDebugAllowed(r: SnpReport): boolean {
  return (r.policy & POLICY_DEBUG) !== 0n;
}

/** The TCB components a minimum is given for (Milan and Genoa TCB_VERSION layout). */
export interface SnpTcb {
  bootLoader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface SnpPolicy {
  /** VMPL the report must come from; default 0, the guest's most privileged level, where the signer runs. */
  vmpl?: number;
  /** Refuse a host with SMT enabled (sibling-thread side channels); default false. */
  noSmt?: boolean;
  /** Require the guest policy's SINGLE_SOCKET bit; default false. */
  singleSocket?: boolean;
  /** Minimum REPORTED_TCB per product (ARK name's product, e.g. "Milan"); overrides the built-in floor. */
  minTcb?: Record<string, SnpTcb>;
}

/**
 * Built-in floor: refuses a TCB of zero firmware and microcode (pre-production or never-updated parts).
 * It is a floor, not AMD's current recommendation: a relying party sets minTcb from AMD's bulletins.
 */
export const SNP_MIN_TCB_FLOOR: SnpTcb = { bootLoader: 1, tee: 0, snp: 1, microcode: 1 };

export function snpTcb(tcbVersion: bigint): SnpTcb {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(tcbVersion);
  return { bootLoader: b[0]!, tee: b[1]!, snp: b[6]!, microcode: b[7]! };
}

/** Problems with the report whatever measurement the relying party expects. */
export function snpPolicyProblems(r: SnpReport, product: string, policy: SnpPolicy): string[] {
  const problems: string[] = [];
  const p = r.policy;
  if ((p & POLICY_MBZ) !== 0n) problems.push(`guest policy 0x${p.toString(16)} sets reserved bits 63:26`);
  if ((p & POLICY_RESERVED_ONE) === 0n) problems.push(`guest policy 0x${p.toString(16)} clears bit 17, which must be one`);
  if ((p & POLICY_MIGRATE_MA) !== 0n) problems.push("guest policy allows a migration agent, which can export the guest's memory");
  if (policy.singleSocket === true && (p & POLICY_SINGLE_SOCKET) === 0n) problems.push("guest policy does not require a single socket");
  if (policy.noSmt === true && ((r.platformInfo & PLATFORM_SMT_EN) !== 0n || (p & POLICY_SMT) !== 0n)) {
    problems.push("SMT is enabled on the host or allowed by the guest policy");
  }
  const vmpl = policy.vmpl ?? 0;
  if (r.vmpl !== vmpl) problems.push(`report comes from VMPL ${r.vmpl}, expected VMPL ${vmpl}`);
  const min = policy.minTcb?.[product] ?? SNP_MIN_TCB_FLOOR;
  const have = snpTcb(r.reportedTcb);
  for (const k of Object.keys(min) as (keyof SnpTcb)[]) {
    if (have[k] < min[k]) problems.push(`REPORTED_TCB ${k} SVN ${have[k]} is below the minimum ${min[k]} for ${product}`);
  }
  return problems;
}

/** AMD VCEK/VLEK certificate extensions (AMD "Versioned Chip Endorsement Key (VCEK) Certificate" spec). */
const VCEK_OID = "1.3.6.1.4.1.3704.1";
const TCB_FIELDS = [
  ["bootLoader", `${VCEK_OID}.3.1`],
  ["tee", `${VCEK_OID}.3.2`],
  ["snp", `${VCEK_OID}.3.3`],
  ["microcode", `${VCEK_OID}.3.8`],
] as const;
const HWID = `${VCEK_OID}.4`;
const CSP_ID = `${VCEK_OID}.5`;

function splValue(raw: Uint8Array): number | undefined {
  const parsed = asn1js.fromBER(raw);
  if (parsed.offset !== raw.length || !(parsed.result instanceof asn1js.Integer)) return undefined;
  return parsed.result.valueBlock.valueDec;
}

/**
 * A VCEK is issued for one chip at one TCB, a VLEK for one cloud provider at one TCB. The report's
 * signing key type, CHIP_ID (VCEK) and REPORTED_TCB must be the certificate's, or an endorsement key
 * of an older, vulnerable TCB could be presented.
 */
export function endorsementBindingProblem(cert: Cert, r: SnpReport): string | undefined {
  const hwid = extension(cert, HWID);
  if (r.signingKey === "vcek") {
    if (!hwid) return "report is VCEK-signed but the certificate has no hardware-id extension (not a VCEK)";
    if (!r.chipIdMasked && !Buffer.from(hwid).equals(r.chipId)) {
      return `report CHIP_ID ${hex(r.chipId).slice(0, 16)}… is not the VCEK's hardware id ${hex(hwid).slice(0, 16)}…`;
    }
  } else if (hwid || !extension(cert, CSP_ID)) {
    return "report is VLEK-signed but the certificate is not a VLEK (hardware id present or CSP id missing)";
  }
  const tcb = snpTcb(r.reportedTcb);
  for (const [name, oid] of TCB_FIELDS) {
    const ext = extension(cert, oid);
    const spl = ext && splValue(ext);
    if (spl === undefined) return `${r.signingKey.toUpperCase()} has no ${name} SPL extension`;
    if (spl !== tcb[name]) return `report REPORTED_TCB ${name} SVN ${tcb[name]} is not the ${r.signingKey.toUpperCase()}'s ${spl}`;
  }
  return undefined;
}
