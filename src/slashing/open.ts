import { openPostgresStore } from "./postgres.js";
import { openSqliteStore } from "./sqlite.js";
import type { SlashingProtection } from "./store.js";

/** Opens the slashing-protection backend a location names: a postgres:// URL or an SQLite file path. */
export function openSlashingProtection(location: string): Promise<SlashingProtection> {
  return /^postgres(ql)?:\/\//.test(location) ? openPostgresStore(location) : openSqliteStore(location);
}
