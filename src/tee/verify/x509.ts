import { constants, createHash, verify as cryptoVerify, X509Certificate, type KeyObject } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { BasicConstraints, Certificate, CertificateList, id_ce_basicConstraints, type Name } from "@peculiar/asn1-x509";
import { TeeError } from "../errors.js";

/**
 * Certificates and CRLs through @peculiar/asn1-x509 (structure) and node:crypto (signatures). Every
 * input must be canonical DER: it is parsed, re-encoded and compared byte for byte, which refuses
 * trailing bytes, indefinite or padded lengths and any other encoding a signature does not pin.
 */

export interface Cert {
  x509: X509Certificate;
  asn: Certificate;
  der: Buffer;
}

export interface Crl {
  what: string;
  /** DER of the issuer Name, compared with the candidate issuer's subject. */
  issuer: Buffer;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Revoked serial numbers, lower-case hex without leading zeros. */
  revoked: Set<string>;
  tbs: Buffer;
  signatureAlgorithm: Buffer;
  signature: Buffer;
}

function invalid(message: string): TeeError {
  return new TeeError("INVALID_EVIDENCE", message);
}

function strictParse<T>(der: Uint8Array, type: new () => T, what: string): T {
  let parsed: T;
  try {
    parsed = AsnConvert.parse(der, type);
  } catch (e) {
    throw invalid(`${what} is not DER: ${(e as Error).message}`);
  }
  if (!Buffer.from(AsnConvert.serialize(parsed)).equals(der)) {
    throw invalid(`${what} is not canonical DER (trailing bytes or a non-minimal encoding)`);
  }
  return parsed;
}

export function parseCertificate(der: Uint8Array, what: string): Cert {
  const bytes = Buffer.from(der);
  const asn = strictParse(bytes, Certificate, what);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(bytes);
  } catch (e) {
    throw invalid(`${what} is not valid X.509: ${(e as Error).message}`);
  }
  return { x509, asn, der: bytes };
}

const PEM_BLOCK = /^-----BEGIN CERTIFICATE-----\r?\n((?:[A-Za-z0-9+/=]{1,76}\r?\n)+)-----END CERTIFICATE-----/;

/**
 * A PEM chain as the QE and PCCS write it: certificate blocks separated by line breaks, optionally
 * ended by one NUL (the QE's C string). Anything else between or after the blocks is refused, so the
 * bytes a verifier shows are the bytes it checked.
 */
export function parsePemChain(text: string, what: string): Cert[] {
  const certs: Cert[] = [];
  let rest = text.endsWith("\0") ? text.slice(0, -1) : text;
  while (rest.length > 0) {
    const m = PEM_BLOCK.exec(rest);
    if (!m) throw invalid(`${what}: unexpected ${JSON.stringify(rest.slice(0, 16))} where a PEM certificate (or the end) should be`);
    certs.push(parseCertificate(Buffer.from(m[1]!.replace(/\s/g, ""), "base64"), `${what}: certificate ${certs.length + 1}`));
    rest = rest.slice(m[0].length).replace(/^(\r?\n)+/, "");
  }
  return certs;
}

export function nameDer(name: Name): Buffer {
  return Buffer.from(AsnConvert.serialize(name));
}

export function subjectOf(c: Cert): Buffer {
  return nameDer(c.asn.tbsCertificate.subject);
}

export function issuerOf(c: Cert): Buffer {
  return nameDer(c.asn.tbsCertificate.issuer);
}

const CN = "2.5.4.3";

/** The subject's common name, or "" when it has none. */
export function commonName(c: Cert): string {
  for (const rdn of c.asn.tbsCertificate.subject) for (const atv of rdn) if (atv.type === CN) return atv.value.toString();
  return "";
}

export function extension(c: Cert, oid: string): Uint8Array | undefined {
  const ext = c.asn.tbsCertificate.extensions?.find((e) => e.extnID === oid);
  return ext ? new Uint8Array(ext.extnValue.buffer) : undefined;
}

export function isCa(c: Cert): boolean {
  const bc = extension(c, id_ce_basicConstraints);
  return bc !== undefined && AsnConvert.parse(bc, BasicConstraints).cA;
}

export function sha256Hex(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

export function describe(c: Cert): string {
  return c.x509.subject.replace(/\n/g, ", ");
}

function serialHex(bytes: ArrayBuffer): string {
  return Buffer.from(bytes).toString("hex").replace(/^(00)+(?=.)/, "");
}

export function serialOf(c: Cert): string {
  return serialHex(c.asn.tbsCertificate.serialNumber);
}

export function parseCrl(der: Uint8Array, what: string): Crl {
  const bytes = Buffer.from(der);
  const crl = strictParse(bytes, CertificateList, what);
  const tbs = crl.tbsCertList;
  return {
    what,
    issuer: nameDer(tbs.issuer),
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate: tbs.nextUpdate?.getTime(),
    revoked: new Set((tbs.revokedCertificates ?? []).map((r) => serialHex(r.userCertificate))),
    tbs: Buffer.from(AsnConvert.serialize(tbs)),
    signatureAlgorithm: Buffer.from(AsnConvert.serialize(crl.signatureAlgorithm)),
    signature: Buffer.from(crl.signature),
  };
}

const ECDSA_SHA256 = Buffer.from("300a06082a8648ce3d040302", "hex");
const ECDSA_SHA384 = Buffer.from("300a06082a8648ce3d040303", "hex");
/** RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48: the only RSA profile AMD's KDS signs with. */
const RSA_PSS_SHA384 = Buffer.from(
  "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130",
  "hex",
);

/** Verifies a signature made with `algorithm` (DER AlgorithmIdentifier); unknown algorithms sign nothing. */
export function signatureVerifies(algorithm: Buffer, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    if (algorithm.equals(ECDSA_SHA256)) return cryptoVerify("sha256", data, key, signature);
    if (algorithm.equals(ECDSA_SHA384)) return cryptoVerify("sha384", data, key, signature);
    if (algorithm.equals(RSA_PSS_SHA384)) {
      return cryptoVerify("sha384", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, signature);
    }
  } catch {
    // An undecodable key or signature signs nothing.
  }
  return false;
}

export function publicKeyOf(c: Cert): KeyObject | undefined {
  try {
    return c.x509.publicKey;
  } catch {
    return undefined;
  }
}
