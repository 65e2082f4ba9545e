import { toHex } from "../util/hex.js";
import type { Evidence, Platform } from "./platform.js";
import { canonicalBlsPubkeys, reportData, type ReportDataClaim } from "./reportData.js";

/**
 * The evidence document the signer serves and keygen returns (docs/tee-evidence.md): the platform's
 * evidence plus the state it claims to bind, so that `verify-evidence FILE` needs nothing else.
 */
export interface SignerEvidence extends Evidence {
  transportPublicKey: string;
  /** Canonical, sorted: the order the report data was computed in. */
  blsPubkeys: string[];
  nonce?: string;
  /** SEV-SNP, when the platform supplied the VCEK (base64 DER). */
  vcek?: string;
}

/** Evidence binding `claim`: for the current key set, or for exactly one freshly generated key. */
export async function attest(platform: Platform, claim: ReportDataClaim): Promise<SignerEvidence> {
  const evidence = await platform.evidence(reportData(claim));
  return {
    ...evidence,
    transportPublicKey: toHex(claim.transportPublicKey),
    blsPubkeys: canonicalBlsPubkeys(claim.blsPubkeys),
    ...(claim.nonce !== undefined ? { nonce: toHex(claim.nonce) } : {}),
  };
}
