import { InputError } from "../errors.js";

/** 0x-prefixed, whole bytes, either case. */
export const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

/** Decodes 0x-prefixed hex; `bytes`, when given, is the exact length required. */
export function fromHex(value: string, field: string, bytes?: number): Uint8Array {
  if (typeof value !== "string" || !HEX_RE.test(value)) {
    throw new InputError("INVALID_INPUT", `${field} must be 0x-prefixed hex`, { field });
  }
  const out = Buffer.from(value.slice(2), "hex");
  if (bytes !== undefined && out.length !== bytes) {
    throw new InputError("INVALID_INPUT", `${field} must be ${bytes} bytes, got ${out.length}`, { field });
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export function toHex(bytes: Uint8Array): string {
  return "0x" + toBareHex(bytes);
}

/** Lower-case hex without the 0x prefix, as deposit data files and TEE reports write it. */
export function toBareHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Hex text in the form toBareHex gives: lower case, without 0x (measurements, deposit data fields). */
export function bareHex(text: string): string {
  return text.toLowerCase().replace(/^0x/, "");
}

const PUBKEY_HEX_RE = /^(?:0x)?[0-9a-fA-F]{96}$/;

/**
 * Canonical form of a public key as used for map keys and database rows: lower-case, 0x-prefixed.
 * The prefix may be left out, as Web3Signer allows in its paths.
 */
export function normalizePubkey(value: string): string {
  // Every sign request names one: the well-formed case needs no decoding; the rest is decoded for its error.
  if (typeof value === "string" && PUBKEY_HEX_RE.test(value)) return (value.length === 96 ? "0x" + value : value).toLowerCase();
  return toHex(fromHex(value, "pubkey", 48));
}

/** A comma-separated list of public keys (a query parameter, a --pubkeys flag), each normalised. */
export function normalizePubkeyList(csv: string): string[] {
  return csv.split(",").map((p) => normalizePubkey(p.trim()));
}

/** The all-zero 32-byte root, as DEPOSIT and VALIDATOR_REGISTRATION domains use it. */
export const ZERO_ROOT_HEX = toHex(new Uint8Array(32));
