/**
 * The narrow trusted-execution boundary: sealing secrets to this platform and producing evidence
 * that binds report data (see tee/reportData.ts) to it. Backends: dev (not attested), gramine-sgx,
 * tsm (TDX / SEV-SNP through configfs-tsm).
 */
export interface Evidence {
  /** Backend name, e.g. "dev", "gramine-sgx", "tsm". */
  platform: string;
  /** "sgx-dcap", "tdx", "sev-snp" or "none". */
  format: string;
  /** The raw quote or report, base64; empty for the dev backend. */
  quote: string;
  /** 64 bytes, 0x-hex, the report data the evidence binds. */
  reportData: string;
}

export interface Platform {
  readonly name: string;
  /** True only when the evidence comes from hardware and can be verified by a third party. */
  readonly attested: boolean;
  /** Authenticated encryption bound to `context` (e.g. "bls-key:<pubkey>"); the blob is opaque. */
  seal(plaintext: Uint8Array, context: string): Promise<Uint8Array>;
  /** Throws TeeError("UNSEAL_FAILED") when the blob was tampered with or sealed for another context or platform. */
  unseal(blob: Uint8Array, context: string): Promise<Uint8Array>;
  /** Evidence over exactly 64 bytes of report data. */
  evidence(reportData: Uint8Array): Promise<Evidence>;
  /**
   * Opens a blob sealed under an earlier TCB of this same enclave (SGX: EGETKEY with a lower CPUSVN
   * or ISVSVN, which the hardware allows and a downgrade never gets the other way). Absent where the
   * platform cannot reach older keys (Gramine 1.9 exposes only the current one).
   */
  unsealPrevious?(blob: Uint8Array, context: string): Promise<Uint8Array>;
  /**
   * True for a blob that opens but was sealed the old way (by the platform itself, before the state
   * master key): the caller re-seals its plaintext and rewrites the file. Absent when nothing is old.
   */
  needsReseal?(blob: Uint8Array): boolean;
  /** Releases what the platform holds open (tsm: its configfs report entry); absent when there is nothing. */
  close?(): Promise<void>;
}
