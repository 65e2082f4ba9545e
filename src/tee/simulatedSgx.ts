import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { fromHex, toHex } from "../util/hex.js";
import { createSealer, type Sealer } from "./aead.js";
import { TeeError } from "./errors.js";
import type { Evidence, Platform } from "./platform.js";
import { assertReportDataLength } from "./reportData.js";

/**
 * A development stand-in for SGX that derives its sealing keys the way EGETKEY does, so that what
 * survives an upgrade or a TCB recovery can be shown without SGX hardware: the key is a function of
 * a per-CPU secret, the sealing identity (MRENCLAVE, or MRSIGNER with ISVPRODID) and the TCB
 * (CPUSVN, ISVSVN); a key for a TCB at or below the current one can be derived, never above.
 * Its evidence is signed by a key derived from the same CPU secret, which stands in for the
 * quoting enclave. Not attested: nobody outside can check it.
 */
export interface SimulatedSgxOptions {
  /** The simulated CPU's fused secret; two platforms with the same one are the same machine. */
  cpuSecret: Uint8Array;
  /** 32 bytes hex: the build. */
  mrenclave: string;
  /** 32 bytes hex: the enclave signer. */
  mrsigner: string;
  isvprodid: number;
  isvsvn: number;
  /** The microcode TCB level; a TCB recovery raises it. */
  cpusvn: number;
  policy: "mrenclave" | "mrsigner";
}

/** What the simulated quote says; verifySimulatedEvidence returns it once the signature holds. */
export interface SimulatedReport {
  mrenclave: string;
  mrsigner: string;
  isvprodid: number;
  isvsvn: number;
  cpusvn: number;
  reportData: string;
}

const utf8 = new TextEncoder();
const Hex32 = Type.String({ pattern: "^0x[0-9a-f]{64}$" });
const Svn = Type.Integer({ minimum: 0, maximum: 65535 });
const ReportSchema = Type.Object(
  { mrenclave: Hex32, mrsigner: Hex32, isvprodid: Svn, isvsvn: Svn, cpusvn: Svn, reportData: Type.String({ pattern: "^0x[0-9a-f]{128}$" }) },
  { additionalProperties: false },
);
const QuoteSchema = Type.Object({ report: ReportSchema, signature: Type.String({ pattern: "^0x[0-9a-f]{128}$" }) }, { additionalProperties: false });

/** The simulated quoting key of a CPU: what a verifier of simulated evidence trusts. */
export function simulatedAttestationKey(cpuSecret: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = hkdf(sha256, cpuSecret, undefined, utf8.encode("secure-signer/simulated-sgx/quoting-key"), 32);
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

function sealKey(o: SimulatedSgxOptions, cpusvn: number, isvsvn: number): Uint8Array {
  const identity = o.policy === "mrenclave" ? `mrenclave:${o.mrenclave}` : `mrsigner:${o.mrsigner}:${o.isvprodid}`;
  // 16 bytes, as EGETKEY's; the sealer below is the Gramine platform's, so blobs look like real ones.
  return hkdf(sha256, o.cpuSecret, undefined, utf8.encode(`secure-signer/simulated-sgx/seal/${identity}/cpusvn:${cpusvn}/isvsvn:${isvsvn}`), 16);
}

function sealerFor(o: SimulatedSgxOptions, cpusvn: number, isvsvn: number): Sealer {
  const key = sealKey(o, cpusvn, isvsvn);
  const sealer = createSealer(key, { magic: "SSGX", infoPrefix: `secure-signer/gramine-seal/v1/${o.policy}/`, platform: "simulated-sgx" });
  key.fill(0);
  return sealer;
}

export function createSimulatedSgxPlatform(o: SimulatedSgxOptions): Platform {
  const current = sealerFor(o, o.cpusvn, o.isvsvn);
  const quoting = simulatedAttestationKey(o.cpuSecret);
  return {
    name: "simulated-sgx",
    attested: false,
    async seal(plaintext, context) {
      return current.seal(plaintext, context);
    },
    async unseal(blob, context) {
      return current.unseal(blob, context);
    },
    async unsealPrevious(blob, context) {
      // Newest first: the TCB just left is the likeliest one.
      for (let c = o.cpusvn; c >= 0; c--) {
        for (let i = o.isvsvn; i >= 0; i--) {
          if (c === o.cpusvn && i === o.isvsvn) continue;
          try {
            return sealerFor(o, c, i).unseal(blob, context);
          } catch {
            // not sealed under this TCB
          }
        }
      }
      throw new TeeError("UNSEAL_FAILED", `sealed for ${context} under no TCB at or below cpusvn ${o.cpusvn}, isvsvn ${o.isvsvn} of this enclave`);
    },
    async evidence(reportData: Uint8Array): Promise<Evidence> {
      assertReportDataLength(reportData);
      const report: SimulatedReport = {
        mrenclave: o.mrenclave,
        mrsigner: o.mrsigner,
        isvprodid: o.isvprodid,
        isvsvn: o.isvsvn,
        cpusvn: o.cpusvn,
        reportData: toHex(reportData),
      };
      const signature = toHex(ed25519.sign(utf8.encode(JSON.stringify(report)), quoting.secretKey));
      return { platform: "simulated-sgx", format: "simulated-sgx", quote: Buffer.from(JSON.stringify({ report, signature })).toString("base64"), reportData: toHex(reportData) };
    },
  };
}

/** The report of simulated evidence whose signature is by `attestationKey`; TeeError("INVALID_EVIDENCE") otherwise. */
export function verifySimulatedEvidence(evidence: Evidence, attestationKey: Uint8Array): SimulatedReport {
  let quote: unknown;
  try {
    quote = JSON.parse(Buffer.from(evidence.quote, "base64").toString("utf8"));
  } catch {
    throw new TeeError("INVALID_EVIDENCE", "simulated evidence: the quote is not JSON");
  }
  if (evidence.format !== "simulated-sgx" || !Value.Check(QuoteSchema, quote)) {
    throw new TeeError("INVALID_EVIDENCE", "simulated evidence: not a simulated-sgx quote");
  }
  if (!ed25519.verify(fromHex(quote.signature, "signature", 64), utf8.encode(JSON.stringify(quote.report)), attestationKey)) {
    throw new TeeError("INVALID_EVIDENCE", "simulated evidence: the quote's signature is not by the trusted simulated CPU");
  }
  return quote.report;
}
