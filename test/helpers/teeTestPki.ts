/**
 * Test PKIs shaped like Intel's (root, PCK CA, PCK, TCB Signing) and AMD's (ARK, ASK/ASVK, VCEK/VLEK),
 * with keys this test holds, and builders for quotes, reports and collateral they sign. They reach the
 * verifier only through its library option `roots`; the CLI cannot be pointed at them.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  CertificateList,
  Extension,
  Extensions,
  id_ce_basicConstraints,
  Name,
  RelativeDistinguishedName,
  RevokedCertificate,
  SubjectPublicKeyInfo,
  TBSCertificate,
  TBSCertList,
  Time,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import * as asn1js from "asn1js";
import type { PinnedRoot } from "../../src/tee/roots/index.js";

const NOT_BEFORE = new Date("2020-01-01T00:00:00Z");
const NOT_AFTER = new Date("2040-01-01T00:00:00Z");
/** Inside every validity window below. */
export const TEST_AT = new Date("2025-07-01T00:00:00Z");
const INTEL = "O=Intel Corporation, L=Santa Clara, ST=CA, C=US";
const SGX_EXT = "1.2.840.113741.1.13.1";

export interface Alg {
  curve: "P-256" | "P-384";
  hash: "sha256" | "sha384";
  oid: string;
}
export const P256: Alg = { curve: "P-256", hash: "sha256", oid: "1.2.840.10045.4.3.2" };
export const P384: Alg = { curve: "P-384", hash: "sha384", oid: "1.2.840.10045.4.3.3" };

export interface Party {
  name: Name;
  /** The subject as printed in messages, e.g. "CN=Intel SGX PCK Platform CA, …". */
  subject: string;
  serial: string;
  der: Buffer;
  pem: string;
  alg: Alg;
  node: KeyObject;
}

const ATTR: Record<string, string> = { CN: "2.5.4.3", O: "2.5.4.10", OU: "2.5.4.11", L: "2.5.4.7", ST: "2.5.4.8", C: "2.5.4.6" };

function name(dn: string): Name {
  return new Name(
    dn.split(", ").map((part) => {
      const [k, v] = part.split("=") as [string, string];
      const value = k === "C" ? new AttributeValue({ printableString: v }) : new AttributeValue({ utf8String: v });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: ATTR[k]!, value })]);
    }),
  );
}

function ext(oid: string, value: ArrayBuffer | Uint8Array, critical = false): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
}

/** asn1-schema wants ArrayBuffers; a Buffer may be a view into a larger pool, so copy exactly its bytes. */
const ab = (b: Uint8Array): ArrayBuffer => Uint8Array.from(b).buffer;

function randomSerial(): string {
  return "1" + createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 15);
}

function party(alg: Alg, subject: string, issuer: Party | undefined, ca: boolean, extensions: Extension[] = [], serial = randomSerial()): Party {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: alg.curve });
  const signer = issuer ?? ({ name: name(subject), node: privateKey, alg } as Party);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: ab(Buffer.from(serial, "hex")),
    signature: new AlgorithmIdentifier({ algorithm: signer.alg.oid }),
    issuer: signer.name,
    validity: new Validity({ notBefore: NOT_BEFORE, notAfter: NOT_AFTER }),
    subject: name(subject),
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ format: "der", type: "spki" }), SubjectPublicKeyInfo),
    extensions: new Extensions([ext(id_ce_basicConstraints, AsnConvert.serialize(new BasicConstraints({ cA: ca })), true), ...extensions]),
  });
  const signature = sign(signer.alg.hash, Buffer.from(AsnConvert.serialize(tbs)), signer.node);
  const der = Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: new AlgorithmIdentifier({ algorithm: signer.alg.oid }), signatureValue: ab(signature) })));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----`;
  return { name: name(subject), subject, serial, der, pem, alg, node: privateKey };
}

export function pinned(label: string, p: Party): PinnedRoot {
  return { name: label, pem: p.pem, sha256: createHash("sha256").update(p.der).digest("hex") };
}

function crl(issuer: Party, revoked: string[] = [], window = { thisUpdate: new Date("2025-06-01T00:00:00Z"), nextUpdate: new Date("2025-08-01T00:00:00Z") }): Buffer {
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: new AlgorithmIdentifier({ algorithm: issuer.alg.oid }),
    issuer: issuer.name,
    thisUpdate: new Time(window.thisUpdate),
    nextUpdate: new Time(window.nextUpdate),
    ...(revoked.length ? { revokedCertificates: revoked.map((s) => new RevokedCertificate({ userCertificate: ab(Buffer.from(s, "hex")), revocationDate: new Time(new Date("2025-01-01T00:00:00Z")) })) } : {}),
  });
  const signature = sign(issuer.alg.hash, Buffer.from(AsnConvert.serialize(tbs)), issuer.node);
  return Buffer.from(AsnConvert.serialize(new CertificateList({ tbsCertList: tbs, signatureAlgorithm: new AlgorithmIdentifier({ algorithm: issuer.alg.oid }), signature: ab(signature) })));
}

function seq(...items: asn1js.AsnType[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: items });
}
function entry(oid: string, value: asn1js.AsnType): asn1js.Sequence {
  return seq(new asn1js.ObjectIdentifier({ value: oid }), value);
}

/** The SGX extension of a PCK certificate: PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type. */
const extOf = (oid: string, value: ArrayBuffer | Uint8Array) => ext(oid, value);

function sgxExtension(fmspc: string, pceSvn: number): Extension {
  const comps = Array.from({ length: 16 }, (_, i) => entry(`${SGX_EXT}.2.${i + 1}`, new asn1js.Integer({ value: 2 })));
  const tcb = seq(...comps, entry(`${SGX_EXT}.2.17`, new asn1js.Integer({ value: pceSvn })), entry(`${SGX_EXT}.2.18`, new asn1js.OctetString({ valueHex: new Uint8Array(16).fill(2) })));
  const body = seq(
    entry(`${SGX_EXT}.1`, new asn1js.OctetString({ valueHex: new Uint8Array(16).fill(7) })),
    entry(`${SGX_EXT}.2`, tcb),
    entry(`${SGX_EXT}.3`, new asn1js.OctetString({ valueHex: new Uint8Array(2) })),
    entry(`${SGX_EXT}.4`, new asn1js.OctetString({ valueHex: Buffer.from(fmspc, "hex") })),
    entry(`${SGX_EXT}.5`, new asn1js.Enumerated({ value: 0 })),
  );
  return extOf(SGX_EXT, body.toBER());
}

export interface IntelPki {
  root: Party;
  rootPin: PinnedRoot;
  pckCa: Party;
  pck: Party;
  tcbSigner: Party;
  /** PEM: PCK, PCK CA, root: the chain a QE embeds. */
  pckChain: string;
  pckCrl: Buffer;
  rootCrl: Buffer;
  fmspc: string;
}

export function intelPki(): IntelPki {
  const fmspc = "00906ed50000";
  const root = party(P256, `CN=Intel SGX Root CA, ${INTEL}`, undefined, true);
  const pckCa = party(P256, `CN=Intel SGX PCK Platform CA, ${INTEL}`, root, true);
  const pck = party(P256, `CN=Intel SGX PCK Certificate, ${INTEL}`, pckCa, false, [sgxExtension(fmspc, 13)]);
  const tcbSigner = party(P256, `CN=Intel SGX TCB Signing, ${INTEL}`, root, false);
  return {
    root,
    rootPin: pinned("Test Intel SGX Root CA", root),
    pckCa,
    pck,
    tcbSigner,
    pckChain: [pck, pckCa, root].map((p) => p.pem + "\n").join(""),
    pckCrl: crl(pckCa),
    rootCrl: crl(root),
    fmspc,
  };
}

/** Intel's QE / TD-QE identity, which the verifier's built-in floor requires. */
export const INTEL_QE = {
  sgx: { mrsigner: "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff", prodId: 1 },
  tdx: { mrsigner: "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", prodId: 2 },
};
export const INTEL_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";

export interface QuoteSpec {
  version: 3 | 4 | 5;
  tee: "sgx" | "tdx";
  /** v5 TDX: TD report 1.5 (body type 3) instead of 1.0. */
  td15?: boolean;
  vendorId?: string;
  qeMrSigner?: string;
  qeProdId?: number;
  /** 8 bytes, little-endian as in the report. Default SEPT_VE_DISABLE only. */
  tdAttributes?: string;
  mrSignerSeam?: Uint8Array;
  mrServiceTd?: Uint8Array;
  sgxAttributes?: string;
  measurement?: Uint8Array;
  reportData?: Uint8Array;
  /** The PEM chain to embed; default the PKI's. */
  pckChain?: string;
  /** Signs the QE report with this key instead of the PCK's. */
  qeSigner?: KeyObject;
}

const u16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function enclaveReport(f: { attributes: string; mrEnclave: Uint8Array; mrSigner: Buffer; prodId: number; reportData: Uint8Array }): Buffer {
  return Buffer.concat([
    Buffer.alloc(16, 3), // CPUSVN
    u32(0), // MISCSELECT
    Buffer.alloc(28),
    Buffer.from(f.attributes, "hex"),
    Buffer.from(f.mrEnclave),
    Buffer.alloc(32),
    f.mrSigner,
    Buffer.alloc(96),
    u16(f.prodId),
    u16(4), // ISVSVN
    Buffer.alloc(60),
    Buffer.from(f.reportData),
  ]);
}

function p1363(key: KeyObject, hash: "sha256" | "sha384", data: Uint8Array): Buffer {
  return sign(hash, data, { key, dsaEncoding: "ieee-p1363" });
}

/** A quote signed end to end by the test PKI: attestation key, QE report by the PCK, chain embedded. */
export function buildQuote(pki: IntelPki, spec: QuoteSpec): Buffer {
  const tdx = spec.tee === "tdx";
  const header = Buffer.concat([u16(spec.version), u16(2), u32(tdx ? 0x81 : 0), u16(5), u16(13), Buffer.from(spec.vendorId ?? INTEL_VENDOR_ID, "hex"), Buffer.alloc(20)]);
  const reportData = spec.reportData ?? new Uint8Array(64).fill(0x5a);
  const measurement = spec.measurement ?? new Uint8Array(tdx ? 48 : 32).fill(0x11);
  const body = tdx
    ? Buffer.concat([
        Buffer.alloc(16), // TEE_TCB_SVN
        Buffer.alloc(48, 0x22), // MRSEAM
        Buffer.from(spec.mrSignerSeam ?? new Uint8Array(48)),
        Buffer.alloc(8),
        Buffer.from(spec.tdAttributes ?? "0000001000000000", "hex"),
        Buffer.from("e702060000000000", "hex"), // XFAM
        Buffer.from(measurement),
        Buffer.alloc(48 * 3),
        Buffer.alloc(48 * 4),
        Buffer.from(reportData),
        ...(spec.td15 ? [Buffer.alloc(16), Buffer.from(spec.mrServiceTd ?? new Uint8Array(48))] : []),
      ])
    : enclaveReport({ attributes: spec.sgxAttributes ?? "05000000000000000700000000000000", mrEnclave: measurement, mrSigner: Buffer.alloc(32, 0x33), prodId: 0, reportData });
  const descriptor = spec.version === 5 ? Buffer.concat([u16(tdx ? (spec.td15 ? 3 : 2) : 1), u32(body.length)]) : Buffer.alloc(0);
  const signed = Buffer.concat([header, descriptor, body]);

  const att = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = att.publicKey.export({ format: "jwk" });
  const attKey = Buffer.concat([Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  const authData = Buffer.alloc(32, 0x44);
  const qeId = INTEL_QE[spec.tee];
  const qeReport = enclaveReport({
    attributes: "11000000000000000000000000000000",
    mrEnclave: new Uint8Array(32).fill(0x55),
    mrSigner: Buffer.from(spec.qeMrSigner ?? qeId.mrsigner, "hex"),
    prodId: spec.qeProdId ?? qeId.prodId,
    reportData: Buffer.concat([createHash("sha256").update(attKey).update(authData).digest(), Buffer.alloc(32)]),
  });
  const certData = Buffer.from((spec.pckChain ?? pki.pckChain) + "\0", "latin1");
  const qeBlock = Buffer.concat([qeReport, p1363(spec.qeSigner ?? pki.pck.node, "sha256", qeReport), u16(authData.length), authData, u16(5), u32(certData.length), certData]);
  const sigData = Buffer.concat([
    p1363(att.privateKey, "sha256", signed),
    attKey,
    ...(spec.version === 3 ? [qeBlock] : [u16(6), u32(qeBlock.length), qeBlock]),
  ]);
  return Buffer.concat([signed, u32(sigData.length), sigData]);
}

/** Collateral for buildQuote's platform, signed by the test TCB Signing key; every status UpToDate. */
export function buildCollateral(pki: IntelPki, tee: "sgx" | "tdx", over: { pckCrl?: Buffer; rootCrl?: Buffer; tcbSigner?: Party } = {}): Record<string, string> {
  const dates = { issueDate: "2025-06-15T00:00:00Z", nextUpdate: "2025-07-15T00:00:00Z" };
  const svn = (n: number) => Array.from({ length: 16 }, () => ({ svn: n }));
  const tcbInfo = JSON.stringify({
    id: tee === "tdx" ? "TDX" : "SGX",
    version: 3,
    ...dates,
    fmspc: pki.fmspc.toUpperCase(),
    pceId: "0000",
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    tcbLevels: [{ tcb: { sgxtcbcomponents: svn(2), pcesvn: 13, ...(tee === "tdx" ? { tdxtcbcomponents: svn(0) } : {}) }, tcbDate: "2024-03-13T00:00:00Z", tcbStatus: "UpToDate" }],
  });
  const qe = INTEL_QE[tee];
  const qeIdentity = JSON.stringify({
    id: tee === "tdx" ? "TD_QE" : "QE",
    version: 2,
    ...dates,
    tcbEvaluationDataNumber: 17,
    miscselect: "00000000",
    miscselectMask: "FFFFFFFF",
    attributes: "11000000000000000000000000000000",
    attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
    mrsigner: qe.mrsigner.toUpperCase(),
    isvprodid: qe.prodId,
    tcbLevels: [{ tcb: { isvsvn: 4 }, tcbDate: "2024-03-13T00:00:00Z", tcbStatus: "UpToDate" }],
  });
  const signer = over.tcbSigner ?? pki.tcbSigner;
  const chain = signer.pem + "\n" + pki.root.pem + "\n";
  return {
    tcb_info_issuer_chain: chain,
    tcb_info: tcbInfo,
    tcb_info_signature: p1363(signer.node, "sha256", Buffer.from(tcbInfo)).toString("hex"),
    qe_identity_issuer_chain: chain,
    qe_identity: qeIdentity,
    qe_identity_signature: p1363(signer.node, "sha256", Buffer.from(qeIdentity)).toString("hex"),
    pck_crl: (over.pckCrl ?? pki.pckCrl).toString("hex"),
    root_ca_crl: (over.rootCrl ?? pki.rootCrl).toString("hex"),
  };
}

export { crl as testCrl, party as testParty };

const VCEK_OID = "1.3.6.1.4.1.3704.1";
const AMD = "OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices";

export interface AmdPki {
  ark: Party;
  arkPin: PinnedRoot;
  ask: Party;
  asvk: Party;
  vcek: Party;
  vlek: Party;
  chipId: Buffer;
  /** REPORTED_TCB the endorsement keys are issued for. */
  tcb: bigint;
  crl: Buffer;
}

function spl(oid: string, value: number): Extension {
  return ext(`${VCEK_OID}.3.${oid}`, new asn1js.Integer({ value }).toBER());
}

/** The TCB_VERSION layout: boot loader, TEE, 4 reserved, SNP, microcode. */
export function snpTcbVersion(bl: number, tee: number, snp: number, ucode: number): bigint {
  return Buffer.from([bl, tee, 0, 0, 0, 0, snp, ucode]).readBigUInt64LE(0);
}

export function amdPki(tcb = snpTcbVersion(3, 0, 8, 115)): AmdPki {
  const chipId = Buffer.alloc(64, 0x6c);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(tcb);
  const spls = [spl("1", b[0]!), spl("2", b[1]!), spl("3", b[6]!), spl("8", b[7]!)];
  const ark = party(P384, `CN=ARK-Milan, ${AMD}`, undefined, true);
  const ask = party(P384, `CN=SEV-Milan, ${AMD}`, ark, true, [], "0101");
  const asvk = party(P384, `CN=SEV-VLEK-Milan, ${AMD}`, ark, true, [], "0102");
  const vcek = party(P384, `CN=SEV-VCEK, ${AMD}`, ask, false, [...spls, ext(`${VCEK_OID}.4`, chipId)]);
  const vlek = party(P384, `CN=SEV-VLEK, ${AMD}`, asvk, false, [...spls, ext(`${VCEK_OID}.5`, new asn1js.IA5String({ value: "test-csp" }).toBER())]);
  return { ark, arkPin: pinned("ARK-Milan", ark), ask, asvk, vcek, vlek, chipId, tcb, crl: crl(ark) };
}

export interface SnpSpec {
  policy?: bigint;
  vmpl?: number;
  platformInfo?: bigint;
  reportedTcb?: bigint;
  signingKey?: "vcek" | "vlek";
  reportData?: Uint8Array;
}

/** An SEV-SNP report (version 2) signed by the test VCEK or VLEK. Default policy: SMT allowed, bit 17. */
export function buildSnpReport(pki: AmdPki, spec: SnpSpec = {}): Buffer {
  const r = Buffer.alloc(0x4a0);
  r.writeUInt32LE(2, 0x00);
  r.writeBigUInt64LE(spec.policy ?? 0x30000n, 0x08);
  r.writeUInt32LE(spec.vmpl ?? 0, 0x30);
  r.writeUInt32LE(1, 0x34);
  r.writeBigUInt64LE(spec.reportedTcb ?? pki.tcb, 0x38);
  r.writeBigUInt64LE(spec.platformInfo ?? 1n, 0x40);
  r.writeUInt32LE((spec.signingKey === "vlek" ? 1 : 0) << 2, 0x48);
  Buffer.from(spec.reportData ?? new Uint8Array(64).fill(0x5a)).copy(r, 0x50);
  r.fill(0x77, 0x90, 0xc0);
  r.writeBigUInt64LE(spec.reportedTcb ?? pki.tcb, 0x180);
  pki.chipId.copy(r, 0x1a0);
  const sig = p1363((spec.signingKey === "vlek" ? pki.vlek : pki.vcek).node, "sha384", r.subarray(0, 0x2a0));
  Buffer.from(sig.subarray(0, 48)).reverse().copy(r, 0x2a0);
  Buffer.from(sig.subarray(48)).reverse().copy(r, 0x2e8);
  return r;
}

export function der(p: Party): Uint8Array {
  return new Uint8Array(p.der);
}
