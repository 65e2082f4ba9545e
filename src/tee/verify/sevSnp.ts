import type { X509Certificate } from "node:crypto";
import { TeeError } from "../errors.js";
import { hex, u64le } from "./bytes.js";
import { findByOid, integerValue, parseDer, TAG } from "./der.js";

/**
 * AMD SEV-SNP ATTESTATION_REPORT (SEV Secure Nested Paging Firmware ABI Specification, Table 22 in
 * rev 1.55+; versions 2 to 5 share the layout of every field used here). Little-endian.
 */

export const SNP_REPORT_BYTES = 0x4a0;
/** The signature covers bytes 0x000..0x29F. */
const SIGNED_BYTES = 0x2a0;
const SIG_ALGO_ECDSA_P384_SHA384 = 1;
/** GUEST_POLICY bit 19: the hypervisor may debug (read) the guest. */
const POLICY_DEBUG = 1n << 19n;

export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  vmpl: number;
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
  // KEY_INFO.SIGNING_KEY (bits 4:2): 0 = VCEK, 1 = VLEK, 7 = none. Only the VCEK chain is implemented.
  const signingKey = (keyInfo >> 2) & 7;
  if (signingKey !== 0) {
    throw new TeeError(
      "INVALID_EVIDENCE",
      `SEV-SNP report is signed by ${signingKey === 1 ? "a VLEK" : signingKey === 7 ? "no key" : `key type ${signingKey}`}; only VCEK-signed reports are supported`,
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
    vmpl: b.readUInt32LE(0x30),
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

/** AMD VCEK certificate extensions (AMD "Versioned Chip Endorsement Key (VCEK) Certificate" spec). */
const VCEK_OID = "1.3.6.1.4.1.3704.1";
/** REPORTED_TCB bytes (Milan, Genoa): 0 boot loader, 1 TEE, 6 SNP firmware, 7 microcode. */
const TCB_FIELDS = [
  ["boot loader", `${VCEK_OID}.3.1`, 0],
  ["TEE", `${VCEK_OID}.3.2`, 1],
  ["SNP", `${VCEK_OID}.3.3`, 6],
  ["microcode", `${VCEK_OID}.3.8`, 7],
] as const;

/**
 * A VCEK is issued for one chip at one TCB. The report's CHIP_ID and REPORTED_TCB must be the ones
 * in the certificate, or a VCEK of an older, vulnerable TCB of the same chip could be presented.
 */
export function vcekBindingProblem(vcek: X509Certificate, r: SnpReport): string | undefined {
  const cert = parseDer(vcek.raw, "VCEK certificate");
  const hwid = findByOid(cert, `${VCEK_OID}.4`);
  if (!hwid || hwid.tag !== TAG.OCTET_STRING) return "VCEK has no hardware-id extension";
  if (!r.chipIdMasked && !Buffer.from(hwid.value).equals(r.chipId)) {
    return `report CHIP_ID ${hex(r.chipId).slice(0, 16)}… is not the VCEK's hardware id ${hex(hwid.value).slice(0, 16)}…`;
  }
  const tcb = Buffer.alloc(8);
  tcb.writeBigUInt64LE(r.reportedTcb);
  for (const [name, oid, index] of TCB_FIELDS) {
    const ext = findByOid(cert, oid);
    if (!ext || ext.tag !== TAG.OCTET_STRING) return `VCEK has no ${name} SPL extension`;
    const spl = integerValue(parseDer(ext.value, `VCEK ${name} SPL`));
    if (spl !== tcb[index]) return `report REPORTED_TCB ${name} SVN ${tcb[index]} is not the VCEK's ${spl}`;
  }
  return undefined;
}
