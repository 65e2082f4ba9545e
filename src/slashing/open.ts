import { openSqliteStore, type SqliteStoreOptions } from "./sqlite.js";
import type { SlashingProtection } from "./store.js";

/** `postgres://…` or `postgresql://…` selects PostgreSQL; anything else is a SQLite file path. */
export function openSlashingProtection(location: string, options: SqliteStoreOptions = {}): Promise<SlashingProtection> {
  return openSqliteStore(location, options);
}

/** The same as openSlashingProtection, under the name the composition root uses. */
export const openSlashingStore = openSlashingProtection;
