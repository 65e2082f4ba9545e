import { join } from "node:path";
import { SERVE_OPTIONS } from "../config/config.js";
import { openSlashingProtection } from "../slashing/open.js";
import type { SlashingProtection } from "../slashing/store.js";

/** The `serve` flags that also say where an offline command finds the signer's data. */
export const DATA_FLAGS = {
  "data-dir": SERVE_OPTIONS["data-dir"],
  "slashing-db": SERVE_OPTIONS["slashing-db"],
  network: SERVE_OPTIONS.network,
};

export function dataDirOf(values: Record<string, unknown>): string {
  return (values["data-dir"] as string | undefined) ?? SERVE_OPTIONS["data-dir"].default;
}

/** Opens the slashing database the signer with these flags would use (fails while it runs on SQLite). */
export function openSlashingFor(values: Record<string, unknown>): Promise<SlashingProtection> {
  const url = values["slashing-db"] as string | undefined;
  return openSlashingProtection(url ?? join(dataDirOf(values), "slashing-protection.sqlite"));
}
