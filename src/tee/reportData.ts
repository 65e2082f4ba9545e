import { createHash } from "node:crypto";
import { fromHex, normalizePubkey, toHex } from "../util/hex.js";
import { TeeError } from "./errors.js";

/**
 * Report data binds attestation evidence to the signer's state. The encoding is specified in
 * docs/tee-evidence.md; any change to it must bump REPORT_DATA_VERSION so that verifiers of old
 * evidence keep working.
 *
 *   bytes  0..31  SHA-256( "secure-signer/report-data" ‖ u8 version
 *                          ‖ u16be len(transport key) ‖ transport key
 *                          ‖ u32be count ‖ BLS pubkey (48 bytes) × count, sorted ascending, no duplicates )
 *   bytes 32..63  the verifier's 32-byte challenge nonce, or zero when none was given
 */
export const REPORT_DATA_VERSION = 1;
/**
 * Version 2 (evidence v2) binds the instance identity key instead of the key set, once: each BLS
 * key then has a statement signed by that identity (statement.ts).
 *
 *   bytes  0..31  SHA-256( "secure-signer/report-data" ‖ u8 2
 *                          ‖ u16be len(transport key) ‖ transport key ‖ u16be 32 ‖ identity key )
 */
export const REPORT_DATA_VERSION_IDENTITY = 2;
export const REPORT_DATA_BYTES = 64;

/** What every platform's evidence() checks first: the report data field holds exactly 64 bytes. */
export function assertReportDataLength(reportData: Uint8Array): void {
  if (reportData.length !== REPORT_DATA_BYTES) {
    throw new TeeError("EVIDENCE_FAILED", `report data must be ${REPORT_DATA_BYTES} bytes, got ${reportData.length}`);
  }
}
const DOMAIN = Buffer.from("secure-signer/report-data", "ascii");
const NONCE_BYTES = 32;
const BLS_PUBKEY_BYTES = 48;

export interface ReportDataClaim {
  /** The public key of the signer's transport (TLS or request-encryption) key, as raw bytes. */
  transportPublicKey: Uint8Array;
  /** BLS public keys held, 0x-hex; order does not matter. Version 1 only. */
  blsPubkeys: string[];
  /** Version 2: the instance identity public key (Ed25519, 32 bytes); then blsPubkeys must be empty. */
  identityPublicKey?: Uint8Array;
  /** A verifier's freshness challenge, exactly 32 bytes. */
  nonce?: Uint8Array;
}

/** The order report data binds BLS public keys in, and evidence lists them in: normalised, sorted, no repeats. */
export function canonicalBlsPubkeys(blsPubkeys: string[]): string[] {
  const canonical = blsPubkeys.map((k) => normalizePubkey(k)).sort();
  for (let i = 1; i < canonical.length; i++) {
    // Duplicates would let two different claimed lists hash alike only by accident of input; refuse them.
    if (canonical[i] === canonical[i - 1]) {
      throw new TeeError("INVALID_EVIDENCE", `BLS public key ${canonical[i]} is listed twice`, { pubkey: canonical[i] });
    }
  }
  return canonical;
}

/** The versioned pre-image hashed into the first 32 bytes; exported so docs and tests can show it. */
export function reportDataPreimage(claim: Pick<ReportDataClaim, "transportPublicKey" | "blsPubkeys" | "identityPublicKey">): Uint8Array {
  const { transportPublicKey, blsPubkeys, identityPublicKey } = claim;
  if (!(transportPublicKey instanceof Uint8Array) || transportPublicKey.length === 0 || transportPublicKey.length > 0xffff) {
    throw new TeeError("INVALID_EVIDENCE", "transport public key must be 1 to 65535 bytes", {
      length: transportPublicKey?.length,
    });
  }
  if (identityPublicKey !== undefined) {
    if (identityPublicKey.length !== 32 || blsPubkeys.length !== 0) {
      throw new TeeError("INVALID_EVIDENCE", "report data v2 binds a 32-byte identity key and no BLS keys (those have statements)");
    }
    const out = Buffer.alloc(DOMAIN.length + 1 + 2 + transportPublicKey.length + 2 + 32);
    let o = DOMAIN.copy(out, 0);
    o = out.writeUInt8(REPORT_DATA_VERSION_IDENTITY, o);
    o = out.writeUInt16BE(transportPublicKey.length, o);
    o += Buffer.from(transportPublicKey).copy(out, o);
    o = out.writeUInt16BE(32, o);
    Buffer.from(identityPublicKey).copy(out, o);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
  const canonical = canonicalBlsPubkeys(blsPubkeys);
  const out = Buffer.alloc(DOMAIN.length + 1 + 2 + transportPublicKey.length + 4 + canonical.length * BLS_PUBKEY_BYTES);
  let o = DOMAIN.copy(out, 0);
  o = out.writeUInt8(REPORT_DATA_VERSION, o);
  o = out.writeUInt16BE(transportPublicKey.length, o);
  o += Buffer.from(transportPublicKey).copy(out, o);
  o = out.writeUInt32BE(canonical.length, o);
  // Lower-case hex sorts in the same order as the bytes it encodes.
  for (const k of canonical) o += Buffer.from(fromHex(k, "pubkey", BLS_PUBKEY_BYTES)).copy(out, o);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export function reportData(claim: ReportDataClaim): Uint8Array {
  const out = new Uint8Array(REPORT_DATA_BYTES);
  out.set(createHash("sha256").update(reportDataPreimage(claim)).digest(), 0);
  if (claim.nonce !== undefined) {
    if (!(claim.nonce instanceof Uint8Array) || claim.nonce.length !== NONCE_BYTES) {
      throw new TeeError("INVALID_EVIDENCE", `nonce must be ${NONCE_BYTES} bytes`, { length: claim.nonce?.length });
    }
    out.set(claim.nonce, 32);
  }
  return out;
}

export type ReportDataCheck = { ok: true } | { ok: false; reason: string };

/** The inverse of reportData: does `actual` (64 bytes from evidence) bind exactly the claimed state? */
export function checkReportData(actual: Uint8Array, claim: ReportDataClaim): ReportDataCheck {
  if (actual.length !== REPORT_DATA_BYTES) {
    return { ok: false, reason: `report data is ${actual.length} bytes, expected ${REPORT_DATA_BYTES}` };
  }
  const expected = reportData(claim);
  if (!Buffer.from(actual.subarray(0, 32)).equals(expected.subarray(0, 32))) {
    return {
      ok: false,
      reason:
        `report data ${toHex(actual.subarray(0, 32))} does not bind the claimed transport key and ` +
        `${claim.identityPublicKey ? "instance identity key" : `${claim.blsPubkeys.length} BLS key(s)`} (expected ${toHex(expected.subarray(0, 32))})`,
    };
  }
  if (!Buffer.from(actual.subarray(32)).equals(expected.subarray(32))) {
    return {
      ok: false,
      reason:
        claim.nonce === undefined
          ? `report data bytes 32..63 are ${toHex(actual.subarray(32))}, expected zero (no nonce was given)`
          : `report data bytes 32..63 are ${toHex(actual.subarray(32))}, not the nonce ${toHex(claim.nonce)}`,
    };
  }
  return { ok: true };
}
