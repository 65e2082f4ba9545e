import { TeeError } from "../errors.js";
import { Reader } from "./bytes.js";

/**
 * Intel DCAP quotes: SGX version 3, SGX/TDX version 4 and version 5 (Intel SGX ECDSA Quote Library
 * API, "Quote Format" appendix; TDX DCAP Quoting Library API §A.3 and §A.4). All integers are
 * little-endian. Every length is exact: a quote, its signature data and each certification block
 * must end where their lengths say, so no unsigned bytes ride along with the signed ones.
 */

const HEADER_BYTES = 48;
const ENCLAVE_REPORT_BYTES = 384;
const TD_REPORT_BYTES = 584;
/** TD report 1.5 (TDX module 1.5+, quote v5 body type 3): TD report 1.0 ‖ TEE_TCB_SVN2 ‖ MRSERVICETD. */
const TD15_EXTRA_BYTES = 16 + 48;
/** Quote v5 body types. */
const BODY_SGX = 1;
const BODY_TD10 = 2;
const BODY_TD15 = 3;
const ECDSA_P256_ATTESTATION_KEY = 2;
const TEE_TYPE_SGX = 0x00;
const TEE_TYPE_TDX = 0x81;
/** Certification data types (QE3 API): 5 = PCK chain, PEM; 6 = QE report certification data (v4). */
const CERT_PCK_CHAIN = 5;
const CERT_QE_REPORT = 6;

/** SGX REPORTBODY (also the QE report): the fields a verifier decides on. */
export interface EnclaveReport {
  raw: Uint8Array;
  cpuSvn: Uint8Array;
  miscSelect: number;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
}

export interface TdReport {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmrs: Uint8Array[];
  reportData: Uint8Array;
  /** TD report 1.5 only. */
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

export interface IntelQuote {
  version: 3 | 4 | 5;
  teeType: "sgx" | "tdx";
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  /** Header ‖ report body: what the attestation key signs. */
  signedBytes: Uint8Array;
  sgx?: EnclaveReport;
  td?: TdReport;
  reportData: Uint8Array;
  signature: Uint8Array;
  /** Raw P-256 point x ‖ y, 64 bytes. */
  attestationKey: Uint8Array;
  qeReport: EnclaveReport;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The PCK certification data (type 5): PEM certificates, leaf first, as the QE wrote them. */
  pckChainPem: string;
}

export function parseEnclaveReport(raw: Uint8Array, what: string): EnclaveReport {
  const r = new Reader(raw, what);
  const cpuSvn = r.bytes(16, "CPUSVN");
  const miscSelect = r.u32("MISCSELECT");
  r.bytes(28, "reserved");
  const attributes = r.bytes(16, "ATTRIBUTES");
  const mrEnclave = r.bytes(32, "MRENCLAVE");
  r.bytes(32, "reserved");
  const mrSigner = r.bytes(32, "MRSIGNER");
  r.bytes(96, "reserved");
  const isvProdId = r.u16("ISVPRODID");
  const isvSvn = r.u16("ISVSVN");
  r.bytes(60, "reserved");
  const reportData = r.bytes(64, "REPORTDATA");
  return { raw, cpuSvn, miscSelect, attributes, mrEnclave, mrSigner, isvProdId, isvSvn, reportData };
}

function parseTdReport(raw: Uint8Array, td15: boolean): TdReport {
  const r = new Reader(raw, "TD report");
  const teeTcbSvn = r.bytes(16, "TEE_TCB_SVN");
  const mrSeam = r.bytes(48, "MRSEAM");
  const mrSignerSeam = r.bytes(48, "MRSIGNERSEAM");
  const seamAttributes = r.bytes(8, "SEAMATTRIBUTES");
  const tdAttributes = r.bytes(8, "TDATTRIBUTES");
  const xfam = r.bytes(8, "XFAM");
  const mrTd = r.bytes(48, "MRTD");
  const mrConfigId = r.bytes(48, "MRCONFIGID");
  const mrOwner = r.bytes(48, "MROWNER");
  const mrOwnerConfig = r.bytes(48, "MROWNERCONFIG");
  const rtmrs = [0, 1, 2, 3].map((i) => r.bytes(48, `RTMR${i}`));
  const reportData = r.bytes(64, "REPORTDATA");
  const report: TdReport = { teeTcbSvn, mrSeam, mrSignerSeam, seamAttributes, tdAttributes, xfam, mrTd, mrConfigId, mrOwner, mrOwnerConfig, rtmrs, reportData };
  if (td15) {
    report.teeTcbSvn2 = r.bytes(16, "TEE_TCB_SVN2");
    report.mrServiceTd = r.bytes(48, "MRSERVICETD");
  }
  return report;
}

/** True when the bytes start like a DCAP quote header we understand (used to tell quotes from SNP reports). */
export function looksLikeIntelQuote(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER_BYTES) return false;
  const version = bytes[0]! | (bytes[1]! << 8);
  const keyType = bytes[2]! | (bytes[3]! << 8);
  return (version === 3 || version === 4 || version === 5) && keyType === ECDSA_P256_ATTESTATION_KEY;
}

export function parseIntelQuote(bytes: Uint8Array): IntelQuote {
  const r = new Reader(bytes, "quote");
  const version = r.u16("version");
  if (version !== 3 && version !== 4 && version !== 5) {
    throw new TeeError("INVALID_EVIDENCE", `quote version ${version} is not supported (3, 4 and 5 are)`, { version });
  }
  const keyType = r.u16("attestation key type");
  if (keyType !== ECDSA_P256_ATTESTATION_KEY) {
    throw new TeeError("INVALID_EVIDENCE", `attestation key type ${keyType} is not ECDSA P-256 (2)`, { keyType });
  }
  const teeTypeRaw = r.u32("TEE type");
  // Version 3 predates TDX; its TEE-type field is reserved and SGX is implied.
  const teeType = version === 3 || teeTypeRaw === TEE_TYPE_SGX ? "sgx" : teeTypeRaw === TEE_TYPE_TDX ? "tdx" : undefined;
  if (teeType === undefined) {
    throw new TeeError("INVALID_EVIDENCE", `TEE type 0x${teeTypeRaw.toString(16)} is neither SGX (0) nor TDX (0x81)`, {
      teeType: teeTypeRaw,
    });
  }
  const qeSvn = r.u16("QE SVN");
  const pceSvn = r.u16("PCE SVN");
  const qeVendorId = r.bytes(16, "QE vendor id");
  r.bytes(20, "user data");

  // Version 5 says which body follows and how long it is; the size must be that body's.
  let body = teeType === "sgx" ? BODY_SGX : BODY_TD10;
  if (version === 5) {
    body = r.u16("body type");
    const size = r.u32("body size");
    const want = body === BODY_SGX ? ENCLAVE_REPORT_BYTES : body === BODY_TD10 ? TD_REPORT_BYTES : body === BODY_TD15 ? TD_REPORT_BYTES + TD15_EXTRA_BYTES : undefined;
    if (want === undefined || (body === BODY_SGX) !== (teeType === "sgx") || size !== want) {
      throw new TeeError("INVALID_EVIDENCE", `v5 body type ${body} of ${size} bytes does not fit a ${teeType} quote`, { body, size });
    }
  }
  let sgx: EnclaveReport | undefined;
  let td: TdReport | undefined;
  if (teeType === "sgx") sgx = parseEnclaveReport(r.bytes(ENCLAVE_REPORT_BYTES, "enclave report"), "enclave report");
  else td = parseTdReport(r.bytes(TD_REPORT_BYTES + (body === BODY_TD15 ? TD15_EXTRA_BYTES : 0), "TD report"), body === BODY_TD15);
  const signedBytes = bytes.subarray(0, r.offset);

  const sigDataLen = r.u32("signature data length");
  const sigData = new Reader(r.bytes(sigDataLen, "signature data"), "quote signature data");
  r.end();
  const signature = sigData.bytes(64, "quote signature");
  const attestationKey = sigData.bytes(64, "attestation key");

  // Versions 4 and 5 wrap the QE report in certification data of type 6; version 3 has it inline.
  let qe: Reader = sigData;
  if (version !== 3) {
    const type = sigData.u16("certification data type");
    const size = sigData.u32("certification data size");
    const data = sigData.bytes(size, "QE report certification data");
    if (type !== CERT_QE_REPORT) {
      throw new TeeError("INVALID_EVIDENCE", `v4 certification data type is ${type}, expected ${CERT_QE_REPORT} (QE report)`, {
        type,
      });
    }
    sigData.end();
    qe = new Reader(data, "QE report certification data");
  }
  const qeReport = parseEnclaveReport(qe.bytes(ENCLAVE_REPORT_BYTES, "QE report"), "QE report");
  const qeReportSignature = qe.bytes(64, "QE report signature");
  const qeAuthData = qe.bytes(qe.u16("QE auth data size"), "QE auth data");
  const certType = qe.u16("PCK certification data type");
  const certData = qe.bytes(qe.u32("PCK certification data size"), "PCK certification data");
  qe.end();
  if (certType !== CERT_PCK_CHAIN) {
    throw new TeeError(
      "INVALID_EVIDENCE",
      `PCK certification data type is ${certType}; only ${CERT_PCK_CHAIN} (PCK chain embedded) can be verified offline`,
      { certType },
    );
  }
  const pckChainPem = Buffer.from(certData).toString("latin1");

  return {
    version: version as 3 | 4 | 5,
    teeType,
    qeSvn,
    pceSvn,
    qeVendorId,
    signedBytes,
    ...(sgx ? { sgx } : {}),
    ...(td ? { td } : {}),
    reportData: (sgx ?? td)!.reportData,
    signature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    pckChainPem,
  };
}
