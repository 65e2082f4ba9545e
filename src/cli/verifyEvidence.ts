import { verifyEvidenceFile, type VerifyFileOptions } from "../tee/verify/index.js";
import { fromHex } from "../util/hex.js";
import { formatFlags, parseFlags } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";

const FLAGS = {
  "expected-measurement": { kind: "string", placeholder: "HEX", description: "MRENCLAVE / MRTD / SEV-SNP MEASUREMENT the evidence must carry" },
  expect: { kind: "string", placeholder: "NAME=HEX", multiple: true, description: "another field the evidence must hold, e.g. mrsigner=…, rtmr1=…, hostData=… (repeatable)" },
  "transport-key": { kind: "string", placeholder: "HEX", description: "the signer's transport public key the report data must bind" },
  "bls-key": { kind: "string", placeholder: "HEX", multiple: true, description: "a BLS public key the report data must bind (repeatable)" },
  nonce: { kind: "string", placeholder: "HEX", description: "the 32-byte nonce the evidence was requested with" },
  vcek: { kind: "string", placeholder: "FILE", description: "SEV-SNP: the VCEK certificate (DER or PEM)" },
  "amd-certs": { kind: "string", placeholder: "FILE", description: "SEV-SNP: AMD intermediate certificates (PEM), e.g. the Genoa ASK" },
  collateral: { kind: "string", placeholder: "FILE", description: "SGX/TDX: Intel collateral JSON (TCB info, QE identity, CRLs)" },
  at: { kind: "string", placeholder: "ISO-TIME", description: "verify as of this time (default: now)" },
  "allow-debug": { kind: "boolean", description: "accept evidence from a debug TEE (development only)" },
  "accept-tcb-status": { kind: "string", placeholder: "LIST", description: "comma-separated TCB statuses to accept with --collateral" },
} as const;

const USAGE = [
  "Usage: secure-signer verify-evidence FILE [options]",
  "",
  "Verifies remote-attestation evidence offline: an SGX DCAP v3 quote, a TDX v4 quote, an SEV-SNP report,",
  "or the JSON evidence document the signer serves. Checks the signatures and certificate chain up to the",
  "Intel / AMD root certificates shipped with secure-signer, the measurement, and what the report data binds.",
  "Exit code 0 when every check passes, 1 otherwise.",
  "",
  "Options:",
  formatFlags(FLAGS),
].join("\n");

export const verifyEvidenceCommand: Command = {
  name: "verify-evidence",
  summary: "verify SGX / TDX / SEV-SNP evidence and the keys it binds (for third parties)",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    if (positionals.length !== 1) throw new UsageError("USAGE", "give exactly one evidence FILE");
    const opts: VerifyFileOptions = {};
    if (values["expected-measurement"]) opts.expectedMeasurement = values["expected-measurement"] as string;
    const expect = values.expect as string[] | undefined;
    if (expect) {
      opts.expect = Object.fromEntries(
        expect.map((e) => {
          const eq = e.indexOf("=");
          if (eq <= 0) throw new UsageError("USAGE", `--expect ${e}: write NAME=HEX`);
          return [e.slice(0, eq), e.slice(eq + 1)];
        }),
      );
    }
    const blsKeys = values["bls-key"] as string[] | undefined;
    if (values["transport-key"] || blsKeys) {
      if (!values["transport-key"]) throw new UsageError("USAGE", "--bls-key needs --transport-key");
      opts.claim = {
        transportPublicKey: fromHex(values["transport-key"] as string, "--transport-key"),
        blsPubkeys: blsKeys ?? [],
        ...(values.nonce ? { nonce: fromHex(values.nonce as string, "--nonce", 32) } : {}),
      };
    }
    if (values.vcek) opts.vcekPath = values.vcek as string;
    if (values["amd-certs"]) opts.amdIntermediatesPath = values["amd-certs"] as string;
    if (values.collateral) opts.collateralPath = values.collateral as string;
    if (values.at) {
      const at = new Date(values.at as string);
      if (Number.isNaN(at.getTime())) throw new UsageError("USAGE", `--at ${values.at}: not an ISO time`);
      opts.now = at;
    }
    if (values["allow-debug"]) opts.allowDebug = true;
    if (values["accept-tcb-status"]) opts.acceptTcbStatuses = (values["accept-tcb-status"] as string).split(",").map((s) => s.trim());
    const { result, text } = await verifyEvidenceFile(positionals[0]!, opts);
    console.log(text);
    return result.ok ? 0 : 1;
  },
};
