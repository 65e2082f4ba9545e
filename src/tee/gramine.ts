import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toHex } from "../util/hex.js";
import { createSealer } from "./aead.js";
import { TeeError } from "./errors.js";
import { Exclusive } from "../util/exclusive.js";
import type { Evidence, Platform } from "./platform.js";
import { assertReportDataLength } from "./reportData.js";
import { parseIntelQuote } from "./verify/intelQuote.js";

export interface GramineOptions {
  /** Gramine's attestation pseudo-filesystem; tests point it at a directory laid out the same way. */
  root?: string;
  /**
   * "mrenclave": only this exact enclave build can unseal (an upgrade must re-seal through a
   * migration). "mrsigner": any enclave signed by the same key with the same ISVPRODID and an
   * ISVSVN not lower can unseal, so upgrades keep their keys but the signing key becomes trusted.
   */
  sealingKey?: "mrenclave" | "mrsigner";
}

/** Gramine's SGX sealing keys (EGETKEY) are 128-bit. */
const SEALING_KEY_BYTES = 16;

async function readPseudoFile(path: string, why: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `cannot read ${path} (${why}): ${(e as Error).message}; is this running under Gramine-SGX?`, {
      path,
    });
  }
}

/**
 * The Gramine-SGX platform. Sealing uses the SGX sealing key Gramine derives with EGETKEY and exposes at
 * `<root>/keys/_sgx_<policy>`; evidence is a DCAP quote obtained by writing report data to
 * `<root>/user_report_data` and reading `<root>/quote` (Gramine "attestation" pseudo-files).
 */
export async function createGraminePlatform(opts: GramineOptions = {}): Promise<Platform> {
  const root = opts.root ?? "/dev/attestation";
  const policy = opts.sealingKey ?? "mrenclave";
  const attestationType = Buffer.from(await readPseudoFile(join(root, "attestation_type"), "attestation type")).toString("utf8").trim();
  if (attestationType !== "dcap") {
    throw new TeeError(
      "PLATFORM_UNAVAILABLE",
      `Gramine reports attestation type "${attestationType}", need "dcap": set sgx.remote_attestation = "dcap" in the manifest`,
      { attestationType },
    );
  }
  const keyPath = join(root, "keys", `_sgx_${policy}`);
  const key = await readPseudoFile(keyPath, `${policy} sealing key`);
  if (key.length !== SEALING_KEY_BYTES) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `${keyPath} holds ${key.length} bytes, a Gramine SGX sealing key has ${SEALING_KEY_BYTES}`, {
      path: keyPath,
    });
  }
  // The policy is in the HKDF info so that the same bytes can never serve both policies.
  const sealer = createSealer(key, { magic: "SSGX", infoPrefix: `secure-signer/gramine-seal/v1/${policy}/`, platform: "gramine-sgx" });
  key.fill(0);
  const exclusive = new Exclusive();

  return {
    name: "gramine-sgx",
    attested: true,
    async seal(plaintext, context) {
      return sealer.seal(plaintext, context);
    },
    async unseal(blob, context) {
      return sealer.unseal(blob, context);
    },
    async evidence(reportData: Uint8Array): Promise<Evidence> {
      assertReportDataLength(reportData);
      return exclusive.run(async () => {
        let quote: Uint8Array;
        try {
          await writeFile(join(root, "user_report_data"), reportData);
          quote = new Uint8Array(await readFile(join(root, "quote")));
        } catch (e) {
          throw new TeeError("EVIDENCE_FAILED", `Gramine quote request failed: ${(e as Error).message}`);
        }
        let parsed;
        try {
          parsed = parseIntelQuote(quote);
        } catch (e) {
          throw new TeeError("EVIDENCE_FAILED", `Gramine returned an unusable quote: ${(e as Error).message}`);
        }
        if (parsed.teeType !== "sgx" || !Buffer.from(parsed.reportData).equals(reportData)) {
          throw new TeeError("EVIDENCE_FAILED", `Gramine returned a quote over report data ${toHex(parsed.reportData)}, not the requested ${toHex(reportData)}`);
        }
        return { platform: "gramine-sgx", format: "sgx-dcap", quote: Buffer.from(quote).toString("base64"), reportData: toHex(reportData) };
      });
    },
  };
}
