import { verifyEvidenceFile, type VerifyFileOptions } from "../tee/verify/index.js";
import { fromHex } from "../util/hex.js";
import { formatFlags, parseFlags } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";

/** What a relying party expects of evidence; `keys encrypt-for-signer --evidence` takes the same. */
export const EVIDENCE_FLAGS = {
  "expected-measurement": { kind: "string", placeholder: "HEX", description: "MRENCLAVE / MRTD / SEV-SNP MEASUREMENT the evidence must carry (required)" },
  "any-measurement": { kind: "boolean", description: "accept any measurement instead (the result then proves nothing about the code)" },
  expect: { kind: "string", placeholder: "NAME=HEX", multiple: true, description: "another field the evidence must hold, e.g. mrsigner=…, rtmr1=…, hostData=… (repeatable)" },
  "deposit-data": { kind: "string", placeholder: "FILE", description: "evidence v2: a deposit_data JSON whose every deposit must be stated as signed inside at keygen" },
  "transport-key": { kind: "string", placeholder: "HEX", description: "the signer's transport public key the report data must bind" },
  "bls-key": { kind: "string", placeholder: "HEX", multiple: true, description: "a BLS public key the report data must bind (repeatable)" },
  nonce: { kind: "string", placeholder: "HEX", description: "the 32-byte nonce the evidence was requested with; always checked when given" },
  vcek: { kind: "string", placeholder: "FILE", description: "SEV-SNP: the VCEK certificate (DER or PEM)" },
  "amd-certs": { kind: "string", placeholder: "FILE", description: "SEV-SNP: AMD intermediate certificates (PEM), e.g. the Genoa ASK or an ASVK" },
  "amd-crl": { kind: "string", placeholder: "FILE", multiple: true, description: "SEV-SNP: an AMD CRL (DER) from the KDS (repeatable)" },
  vmpl: { kind: "string", placeholder: "N", description: "SEV-SNP: the VMPL the report must come from (default 0)" },
  "snp-min-tcb": { kind: "string", placeholder: "PRODUCT:BL,TEE,SNP,UCODE", multiple: true, description: "SEV-SNP: minimum REPORTED_TCB for a product, e.g. Milan:3,0,8,115 (repeatable)" },
  "snp-no-smt": { kind: "boolean", description: "SEV-SNP: refuse a host with SMT enabled" },
  "snp-single-socket": { kind: "boolean", description: "SEV-SNP: require the guest policy's single-socket bit" },
  collateral: { kind: "string", placeholder: "FILE", description: "SGX/TDX: Intel collateral JSON (TCB info, QE identity, CRLs); required" },
  "no-collateral": { kind: "boolean", description: "SGX/TDX: verify without collateral: no TCB status, no revocation (labelled in the output)" },
  at: { kind: "string", placeholder: "ISO-TIME", description: "verify as of this time (default: now)" },
  "allow-debug": { kind: "boolean", description: "accept evidence from a debug TEE (development only)" },
  "allow-sept-ve": { kind: "boolean", description: "TDX: accept a TD without SEPT_VE_DISABLE" },
  "accept-tcb-status": { kind: "string", placeholder: "LIST", description: "comma-separated TCB statuses to accept with --collateral (default UpToDate)" },
} as const;

const USAGE = [
  "Usage: secure-signer verify-evidence FILE [options]",
  "",
  "Verifies remote-attestation evidence offline: an SGX DCAP v3 quote, a TDX v4/v5 quote, an SEV-SNP report",
  "(VCEK or VLEK), or the JSON evidence document the signer serves. Checks the signatures and certificate",
  "chains up to the Intel / AMD roots shipped with secure-signer, Intel's quoting enclave identity, the TCB",
  "status and revocation from the collateral, the TEE's policy, the measurement, the nonce and what the",
  "report data binds. For evidence v2, each key's statement (generated or imported) is checked and printed. A measurement and (SGX/TDX) collateral are required unless explicitly waived.",
  "Exit code 0 when every check passes, 1 otherwise.",
  "",
  "Options:",
  formatFlags(EVIDENCE_FLAGS),
].join("\n");

/** The verification options the EVIDENCE_FLAGS in `values` ask for. */
export function evidenceOptions(values: Record<string, unknown>): VerifyFileOptions {
  const opts: VerifyFileOptions = {};
  if (values["expected-measurement"]) opts.expectedMeasurement = values["expected-measurement"] as string;
  if (values["any-measurement"]) {
    if (opts.expectedMeasurement !== undefined) throw new UsageError("USAGE", "give --expected-measurement or --any-measurement, not both");
    opts.anyMeasurement = true;
  }
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
    };
  }
  if (values["deposit-data"]) opts.depositDataPath = values["deposit-data"] as string;
  if (values.nonce) opts.nonce = fromHex(values.nonce as string, "--nonce", 32);
  if (values.vcek) opts.vcekPath = values.vcek as string;
  if (values["amd-certs"]) opts.amdIntermediatesPath = values["amd-certs"] as string;
  const crls = values["amd-crl"] as string[] | undefined;
  if (crls) opts.amdCrlPaths = crls;
  const snp: NonNullable<VerifyFileOptions["snp"]> = {};
  if (values.vmpl !== undefined) {
    if (!/^[0-3]$/.test(values.vmpl as string)) throw new UsageError("USAGE", `--vmpl ${values.vmpl}: give 0 to 3`);
    snp.vmpl = Number(values.vmpl);
  }
  for (const spec of (values["snp-min-tcb"] as string[] | undefined) ?? []) {
    const m = /^([A-Za-z]+):(\d+),(\d+),(\d+),(\d+)$/.exec(spec);
    if (!m || m.slice(2).some((n) => Number(n) > 255)) throw new UsageError("USAGE", `--snp-min-tcb ${spec}: write PRODUCT:BL,TEE,SNP,UCODE, each 0..255`);
    snp.minTcb = { ...snp.minTcb, [m[1]!]: { bootLoader: Number(m[2]), tee: Number(m[3]), snp: Number(m[4]), microcode: Number(m[5]) } };
  }
  if (values["snp-no-smt"]) snp.noSmt = true;
  if (values["snp-single-socket"]) snp.singleSocket = true;
  opts.snp = snp;
  if (values.collateral) opts.collateralPath = values.collateral as string;
  if (values["no-collateral"]) {
    if (values.collateral) throw new UsageError("USAGE", "give --collateral or --no-collateral, not both");
    opts.noCollateral = true;
  }
  if (values.at) {
    const at = new Date(values.at as string);
    if (Number.isNaN(at.getTime())) throw new UsageError("USAGE", `--at ${values.at}: not an ISO time`);
    opts.now = at;
  }
  if (values["allow-debug"]) opts.allowDebug = true;
  if (values["allow-sept-ve"]) opts.allowSeptVe = true;
  if (values["accept-tcb-status"]) opts.acceptTcbStatuses = (values["accept-tcb-status"] as string).split(",").map((s) => s.trim());
  return opts;
}

export const verifyEvidenceCommand: Command = {
  name: "verify-evidence",
  summary: "verify SGX / TDX / SEV-SNP evidence and the keys it binds (for third parties)",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, EVIDENCE_FLAGS);
    if (positionals.length !== 1) throw new UsageError("USAGE", "give exactly one evidence FILE");
    const opts = evidenceOptions(values);
    const { result, text } = await verifyEvidenceFile(positionals[0]!, opts);
    console.log(text);
    return result.ok ? 0 : 1;
  },
};
