import { TeeError } from "../errors.js";

/**
 * A minimal DER reader for the parts node:crypto does not expose: Intel's SGX extension in PCK
 * certificates and CRL entries. Definite lengths only, as DER requires.
 */
export interface Der {
  tag: number;
  /** The whole TLV, e.g. for signature checks over a TBS structure. */
  raw: Uint8Array;
  value: Uint8Array;
  children: Der[];
}

export const TAG = { INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, OID: 0x06, ENUMERATED: 0x0a, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, SEQUENCE: 0x30 } as const;

function fail(what: string, message: string): never {
  throw new TeeError("INVALID_EVIDENCE", `${what}: malformed DER, ${message}`);
}

export function parseDer(bytes: Uint8Array, what: string): Der {
  const [node, end] = parseAt(bytes, 0, what, 0);
  if (end !== bytes.length) fail(what, `${bytes.length - end} trailing bytes`);
  return node;
}

function parseAt(b: Uint8Array, start: number, what: string, depth: number): [Der, number] {
  if (depth > 32) fail(what, "nested too deeply");
  if (start + 2 > b.length) fail(what, `truncated at ${start}`);
  const tag = b[start]!;
  let len = b[start + 1]!;
  let pos = start + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > b.length) fail(what, `bad length at ${start}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[pos + i]!;
    pos += n;
  }
  const end = pos + len;
  if (end > b.length) fail(what, `length ${len} at ${start} runs past the end`);
  const value = b.subarray(pos, end);
  const children: Der[] = [];
  if (tag & 0x20) {
    let p = pos;
    while (p < end) {
      const [child, next] = parseAt(b.subarray(0, end), p, what, depth + 1);
      children.push(child);
      p = next;
    }
  }
  return [{ tag, raw: b.subarray(start, end), value, children }, end];
}

export function oidToString(value: Uint8Array): string {
  const parts: number[] = [Math.floor(value[0]! / 40), value[0]! % 40];
  let acc = 0;
  for (let i = 1; i < value.length; i++) {
    acc = acc * 128 + (value[i]! & 0x7f);
    if (!(value[i]! & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  return parts.join(".");
}

/** Non-negative INTEGER as a number (SVNs, small serial numbers); larger values as hex via `integerHex`. */
export function integerValue(node: Der): number {
  let v = 0;
  for (const byte of node.value) v = v * 256 + byte;
  return v;
}

/** INTEGER as lower-case hex without leading zero bytes, the way X509Certificate.serialNumber prints (upper-cased there). */
export function integerHex(node: Der): string {
  let i = 0;
  while (i < node.value.length - 1 && node.value[i] === 0) i++;
  return Buffer.from(node.value.subarray(i)).toString("hex");
}

export function timeValue(node: Der): Date {
  const s = Buffer.from(node.value).toString("latin1");
  // UTCTime YYMMDDhhmmssZ (years 1950–2049), GeneralizedTime YYYYMMDDhhmmssZ.
  const full = node.tag === TAG.UTC_TIME ? (Number(s.slice(0, 2)) >= 50 ? "19" : "20") + s : s;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (!m) throw new TeeError("INVALID_EVIDENCE", `unsupported ASN.1 time "${s}"`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** Depth-first search for SEQUENCE { OID oid, …, value } and returns that last child. */
export function findByOid(node: Der, oid: string): Der | undefined {
  if (node.tag === TAG.SEQUENCE && node.children.length >= 2) {
    const first = node.children[0]!;
    if (first.tag === TAG.OID && oidToString(first.value) === oid) return node.children[node.children.length - 1];
  }
  for (const c of node.children) {
    const found = findByOid(c, oid);
    if (found) return found;
  }
  return undefined;
}
