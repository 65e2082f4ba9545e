import { openPostgresStore, type PostgresStoreOptions } from "./postgres.js";
import { openSqliteStore } from "./sqlite.js";
import type { SlashingProtection } from "./store.js";

/** `postgres://…` or `postgresql://…` selects PostgreSQL; anything else is a SQLite file path. */
export function openSlashingProtection(location: string, options: PostgresStoreOptions = {}): Promise<SlashingProtection> {
  if (/^postgres(ql)?:\/\//.test(location)) return openPostgresStore(location, options);
  const { genesisValidatorsRoot } = options;
  return openSqliteStore(location, genesisValidatorsRoot === undefined ? {} : { genesisValidatorsRoot });
}

/** The same as openSlashingProtection, under the name the composition root uses. */
export const openSlashingStore = openSlashingProtection;
