import * as asn1js from "asn1js";
import { TeeError } from "../errors.js";
import { hex } from "./bytes.js";
import { commonName, extension, isCa, type Cert } from "./x509.js";

/**
 * Intel's certificate profiles (SGX PCK Certificate and CRL Profile): which certificate may play
 * which part, and the SGX extension of a PCK certificate that names the platform's TCB.
 */

const SGX_EXTENSION = "1.2.840.113741.1.13.1";
const PCK_LEAF_CN = "Intel SGX PCK Certificate";
const PCK_CA_CNS = ["Intel SGX PCK Platform CA", "Intel SGX PCK Processor CA"];
const TCB_SIGNING_CN = "Intel SGX TCB Signing";

export interface PckTcb {
  fmspc: string;
  pceId: string;
  cpuSvnComponents: number[];
  pceSvn: number;
}

function invalid(message: string): TeeError {
  return new TeeError("INVALID_EVIDENCE", message);
}

/** The leaf must be a PCK certificate issued by a PCK CA: any other Intel-signed key proves nothing about a QE. */
export function pckProfileProblem(path: readonly Cert[]): string | undefined {
  const [leaf, ca] = path;
  if (!leaf || !ca || path.length !== 3) return `the PCK chain is leaf, PCK CA, root (3 certificates), not ${path.length}`;
  if (commonName(leaf) !== PCK_LEAF_CN || isCa(leaf) || !extension(leaf, SGX_EXTENSION)) {
    return `the leaf "${commonName(leaf)}" is not an Intel SGX PCK certificate (end entity with the SGX extension)`;
  }
  if (!PCK_CA_CNS.includes(commonName(ca))) return `the PCK certificate's issuer "${commonName(ca)}" is not a PCK Platform or Processor CA`;
  return undefined;
}

/** TCB info and QE identity are signed by the TCB Signing certificate directly under the root, and nothing else. */
export function tcbSignerProblem(path: readonly Cert[]): string | undefined {
  const [leaf] = path;
  if (!leaf || path.length !== 2) return `the TCB signing chain is signer, root (2 certificates), not ${path.length}`;
  if (commonName(leaf) !== TCB_SIGNING_CN || isCa(leaf)) return `"${commonName(leaf)}" is not the Intel SGX TCB Signing certificate`;
  return undefined;
}

function der(bytes: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset !== bytes.length || parsed.result.error || !Buffer.from(parsed.result.toBER()).equals(bytes)) {
    throw invalid(`${what} is not canonical DER`);
  }
  return parsed.result;
}

/** SEQUENCE OF SEQUENCE { OID, value } keyed by OID; a repeated OID is ambiguous and refused. */
function fields(node: asn1js.AsnType, what: string): Map<string, asn1js.AsnType> {
  if (!(node instanceof asn1js.Sequence)) throw invalid(`${what} is not a SEQUENCE`);
  const out = new Map<string, asn1js.AsnType>();
  for (const entry of node.valueBlock.value) {
    const [id, value, ...more] = entry instanceof asn1js.Sequence ? entry.valueBlock.value : [];
    if (!(id instanceof asn1js.ObjectIdentifier) || !value || more.length > 0) throw invalid(`${what} holds an entry that is not { OID, value }`);
    const oid = id.valueBlock.toString();
    if (out.has(oid)) throw invalid(`${what} names ${oid} twice`);
    out.set(oid, value);
  }
  return out;
}

function field<T extends asn1js.AsnType>(map: Map<string, asn1js.AsnType>, oid: string, type: new () => T, what: string): T {
  const v = map.get(oid);
  if (!(v instanceof type)) throw invalid(`${what} lacks ${oid} of the right type`);
  return v;
}

function smallInt(v: asn1js.Integer, what: string): number {
  const n = v.valueBlock.valueDec;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff) throw invalid(`${what} is out of range`);
  return n;
}

export function pckTcb(pck: Cert): PckTcb {
  const raw = extension(pck, SGX_EXTENSION);
  if (!raw) throw invalid("PCK certificate has no SGX extension");
  const sgx = fields(der(raw, "PCK SGX extension"), "PCK SGX extension");
  const tcb = fields(field(sgx, `${SGX_EXTENSION}.2`, asn1js.Sequence, "PCK SGX extension"), "PCK TCB");
  const component = (i: number) => smallInt(field(tcb, `${SGX_EXTENSION}.2.${i}`, asn1js.Integer, "PCK TCB"), `PCK TCB component ${i}`);
  const octets = (oid: string, length: number) => {
    const v = field(sgx, oid, asn1js.OctetString, "PCK SGX extension").valueBlock.valueHexView;
    if (v.length !== length) throw invalid(`PCK SGX extension ${oid} is ${v.length} bytes, not ${length}`);
    return hex(v);
  };
  return {
    fmspc: octets(`${SGX_EXTENSION}.4`, 6),
    pceId: octets(`${SGX_EXTENSION}.3`, 2),
    cpuSvnComponents: Array.from({ length: 16 }, (_, i) => component(i + 1)),
    pceSvn: component(17),
  };
}
