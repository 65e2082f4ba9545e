import { existsSync, mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { InputError } from "../errors.js";
import { loadConfig, SERVE_OPTIONS, sqliteFile } from "../config/config.js";
import { createNetworkConfig } from "../signing/network.js";
import { openIdentified } from "../slashing/identity.js";
import { openSlashingProtection } from "../slashing/open.js";
import type { SlashingProtection } from "../slashing/store.js";

/** The `serve` flags that also say where an offline command finds the signer's data, and how long it waits for PostgreSQL. */
export const DATA_FLAGS = {
  "data-dir": SERVE_OPTIONS["data-dir"],
  "slashing-db": SERVE_OPTIONS["slashing-db"],
  "slashing-db-timeout-ms": SERVE_OPTIONS["slashing-db-timeout-ms"],
  network: SERVE_OPTIONS.network,
};

export function dataDirOf(values: Record<string, unknown>): string {
  return (values["data-dir"] as string | undefined) ?? SERVE_OPTIONS["data-dir"].default;
}

/**
 * What an offline command does with the database identity (slashing/identity.ts): `read` opens an
 * existing database as it is; `restore` (import) may fill a missing or emptied one; `adopt`
 * (init) records the database there now, or a new empty one, as the data directory's.
 */
export type DatabaseUse = "read" | "restore" | "adopt";

/**
 * Runs `use` on the slashing database the signer with these flags would use (fails while it runs
 * on SQLite), with the chain's genesis_validators_root when the network gives one, and closes the
 * database after. Except for `read`, the data directory and the database are made when they do not
 * exist yet and the directory records the database's id; for `read` a missing SQLite file is an
 * error rather than an empty database.
 */
export async function withSlashingFor<T>(
  values: Record<string, unknown>,
  mode: DatabaseUse,
  use: (store: SlashingProtection, genesisValidatorsRoot: string | undefined) => Promise<T>,
): Promise<T> {
  const { genesisValidatorsRoot } = createNetworkConfig((values.network as string | undefined) ?? "mainnet", {
    genesisValidatorsRoot: values["genesis-validators-root"] as string | undefined,
  });
  // Parsed and bounded as serve does it, from the flag alone like the other flags here.
  const { slashingDbTimeoutMs } = loadConfig({ "slashing-db-timeout-ms": values["slashing-db-timeout-ms"] as string | undefined }, {});
  const options = { timeoutMs: slashingDbTimeoutMs, ...(genesisValidatorsRoot && { genesisValidatorsRoot }) };
  const dataDir = dataDirOf(values);
  const postgres = values["slashing-db"] as string | undefined;
  const location = postgres ?? sqliteFile(dataDir);
  if (mode !== "read" && !postgres) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (mode === "read" && !postgres && !existsSync(location)) {
    throw new InputError("INVALID_INPUT", `no slashing-protection database at ${location} (is --data-dir right?)`);
  }
  // A shared PostgreSQL database worked on from a machine without the signer's data directory:
  // there is no directory to record it in, and each signer records it at its own start.
  const identified = mode !== "read" && existsSync(dataDir);
  const store = identified ? await openIdentified(location, dataDir, mode, options) : await openSlashingProtection(location, options);
  try {
    return await use(store, genesisValidatorsRoot);
  } finally {
    await store.close();
  }
}

/** Pretty JSON to the --out file (created with `mode` when given) or to standard output. */
export async function writeJsonOutput(values: Record<string, unknown>, json: unknown, mode?: number): Promise<void> {
  const text = JSON.stringify(json, null, 2) + "\n";
  if (values.out) await writeFile(values.out as string, text, mode === undefined ? {} : { mode });
  else process.stdout.write(text);
}
