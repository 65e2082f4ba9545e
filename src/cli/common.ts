import { existsSync, mkdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { InputError } from "../errors.js";
import { loadConfig, SERVE_OPTIONS, sqliteFile } from "../config/config.js";
import { createNetworkConfig } from "../signing/network.js";
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
 * Runs `use` on the slashing database the signer with these flags would use (fails while it runs
 * on SQLite), with the chain's genesis_validators_root when the network gives one, and closes the
 * database after. `create`: make the data directory and database when they do not exist yet
 * (import); otherwise a missing SQLite file is an error rather than an empty database.
 */
export async function withSlashingFor<T>(
  values: Record<string, unknown>,
  create: boolean,
  use: (store: SlashingProtection, genesisValidatorsRoot: string | undefined) => Promise<T>,
): Promise<T> {
  const { genesisValidatorsRoot } = createNetworkConfig((values.network as string | undefined) ?? "mainnet", {
    genesisValidatorsRoot: values["genesis-validators-root"] as string | undefined,
  });
  // Parsed and bounded as serve does it, from the flag alone like the other flags here.
  const { slashingDbTimeoutMs } = loadConfig({ "slashing-db-timeout-ms": values["slashing-db-timeout-ms"] as string | undefined }, {});
  const options = { timeoutMs: slashingDbTimeoutMs, ...(genesisValidatorsRoot && { genesisValidatorsRoot }) };
  let location = values["slashing-db"] as string | undefined;
  if (!location) {
    const dataDir = dataDirOf(values);
    location = sqliteFile(dataDir);
    if (create) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    else if (!existsSync(location)) throw new InputError("INVALID_INPUT", `no slashing-protection database at ${location} (is --data-dir right?)`);
  }
  const store = await openSlashingProtection(location, options);
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
