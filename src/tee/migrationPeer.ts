import { TeeError } from "./errors.js";
import { simulatedQuotingKey, type PlatformKind, type PlatformOptions } from "./index.js";
import type { EvidenceVerifier } from "./migration.js";
import { verifySimulatedEvidence } from "./simulatedSgx.js";
import { verifyEvidence } from "./verify/index.js";

/**
 * The verifier of the other end's evidence in a migration, chosen by this signer's own platform
 * (predecessor and successor run on one kind of TEE): the full vendor-rooted check for SGX, TDX and
 * SEV-SNP, with any measurement (the release allowlist decides which), or the simulated CPU's key
 * for simulated-sgx. There is none for dev: its evidence measures nothing.
 */
export async function migrationVerifierFor(
  kind: PlatformKind,
  opts: Pick<PlatformOptions, "simulatedSgx">,
  /** SGX/TDX: Intel collateral for the peer's quote (Intel-signed, so whoever carries it cannot forge it). */
  collateral?: unknown,
): Promise<EvidenceVerifier> {
  switch (kind) {
    case "simulated-sgx": {
      if (!opts.simulatedSgx) throw new TeeError("PLATFORM_UNAVAILABLE", `platform "simulated-sgx" needs a CPU secret file and an MRENCLAVE`, { kind });
      const quotingKey = await simulatedQuotingKey(opts.simulatedSgx.cpuSecretFile);
      return async (evidence) => {
        const report = verifySimulatedEvidence(evidence, quotingKey);
        return { measurement: report.mrenclave, reportData: report.reportData };
      };
    }
    case "gramine-sgx":
    case "tsm":
      return async (evidence) => {
        const result = verifyEvidence(evidence, { anyMeasurement: true, ...(collateral !== undefined && { collateral }) });
        if (!result.ok) throw new TeeError("INVALID_EVIDENCE", result.reasons.join("; "));
        return { measurement: `0x${result.measurement}`, reportData: `0x${result.reportData}` };
      };
    case "dev":
      throw new TeeError("MIGRATION_DISABLED", `platform "dev" has no measured builds: its data directory is simply copied, there is nothing to migrate`, { kind });
  }
}
