import { hex, u64le } from "./bytes.js";
import type { EnclaveReport, IntelQuote, TdReport } from "./intelQuote.js";

/**
 * What an Intel quote must say about its quoting enclave and its TD whatever the collateral says:
 * the checks Intel's QVL and dcap-qvl apply to every quote.
 */

/** The QE vendor id of Intel's quoting enclaves (939a7233-f79c-4ca9-940a-0db3957f0607). */
export const INTEL_QE_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";

export interface QeIdentityFloor {
  mrsigner: string;
  isvprodid: number;
  miscselect: string;
  miscselectMask: string;
  attributes: string;
  attributesMask: string;
}

/**
 * Intel's QE and TD-QE identities (the fixed part of the QE identity collateral, equal in every
 * release): signed by Intel's enclave signing key, product 1 (SGX QE) or 2 (TD QE), not debug.
 * Without this floor any enclave with the provisioning attribute could have its report signed by the
 * PCK and vouch for an attestation key of the host's choosing.
 */
const QE_ATTRIBUTES = { miscselect: "00000000", miscselectMask: "ffffffff", attributes: "11000000000000000000000000000000", attributesMask: "fbffffffffffffff0000000000000000" };
export const QE_IDENTITY_FLOOR: Record<"sgx" | "tdx", QeIdentityFloor> = {
  sgx: { mrsigner: "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff", isvprodid: 1, ...QE_ATTRIBUTES },
  tdx: { mrsigner: "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", isvprodid: 2, ...QE_ATTRIBUTES },
};

export function maskedEqual(actual: Uint8Array, expectedHex: string, maskHex: string): boolean {
  const expected = Buffer.from(expectedHex, "hex");
  const mask = Buffer.from(maskHex, "hex");
  return mask.length === actual.length && expected.length === actual.length && mask.every((m, i) => (actual[i]! & m) === (expected[i]! & m));
}

export function qeIdentityProblem(qe: EnclaveReport, id: QeIdentityFloor, source: string): string | undefined {
  if (hex(qe.mrSigner) !== id.mrsigner.toLowerCase()) return `QE MRSIGNER ${hex(qe.mrSigner)} is not ${source}'s ${id.mrsigner.toLowerCase()}`;
  if (qe.isvProdId !== id.isvprodid) return `QE ISVPRODID ${qe.isvProdId} is not ${source}'s ${id.isvprodid}`;
  const misc = Buffer.alloc(4);
  // QE identity prints MISCSELECT as a big-endian number.
  misc.writeUInt32BE(qe.miscSelect);
  if (!maskedEqual(misc, id.miscselect, id.miscselectMask)) return `QE MISCSELECT ${misc.toString("hex")} does not match ${source}`;
  if (!maskedEqual(qe.attributes, id.attributes, id.attributesMask)) return `QE ATTRIBUTES ${hex(qe.attributes)} do not match ${source}`;
  return undefined;
}

/** SGX ATTRIBUTES.DEBUG (bit 1) or TDX TDATTRIBUTES.DEBUG (bit 0): the host can read the TEE's memory. */
export function isDebug(q: IntelQuote): boolean {
  if (q.sgx) return (u64le(q.sgx.attributes, 0) & 2n) !== 0n;
  return (u64le(q.td!.tdAttributes, 0) & 1n) !== 0n;
}

/**
 * TDATTRIBUTES (TDX ABI, "TD attributes"): bits 7:1 (TUD) and 27:0 of SEC, bit 29, and 62:32 are
 * reserved and must be zero; bit 28 SEPT_VE_DISABLE keeps the host from injecting #VE on EPT
 * violations, which a TD that does not handle them securely must have.
 */
const TD_RESERVED = 0x7fff_ffff_2fff_fffen;
const SEPT_VE_DISABLE = 1n << 28n;

export interface TdPolicy {
  /** Accept a TD without SEPT_VE_DISABLE (its kernel must then handle #VE itself). */
  allowSeptVe?: boolean;
}

/** Problems with a TD report whatever the relying party expects; undefined when there are none. */
export function tdPolicyProblems(td: TdReport, policy: TdPolicy): string[] {
  const attrs = u64le(td.tdAttributes, 0);
  const problems: string[] = [];
  if ((attrs & TD_RESERVED) !== 0n) problems.push(`TD attributes ${hex(td.tdAttributes)} set reserved bits (0x${(attrs & TD_RESERVED).toString(16)})`);
  if ((attrs & SEPT_VE_DISABLE) === 0n && policy.allowSeptVe !== true) problems.push("TD attribute SEPT_VE_DISABLE is off: the host can inject #VE exceptions into the TD");
  // Intel's TDX modules are measured with a zero MRSIGNERSEAM; anything else is not Intel's module.
  if (td.mrSignerSeam.some((b) => b !== 0)) problems.push(`MRSIGNERSEAM ${hex(td.mrSignerSeam)} is not zero: not an Intel TDX module`);
  if (td.mrServiceTd?.some((b) => b !== 0)) problems.push(`MRSERVICETD ${hex(td.mrServiceTd)} is not zero: a service TD is bound to this TD`);
  return problems;
}
