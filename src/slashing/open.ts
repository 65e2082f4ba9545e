import { openPostgresStore } from "./postgres.js";
import { openSqliteStore } from "./sqlite.js";
import type { SlashingObserver, SlashingProtection } from "./store.js";

/**
 * Opens the slashing-protection backend a location names: a postgres:// URL or an SQLite file path.
 * With the network's genesis_validators_root the database is bound to that chain from the start,
 * so a first import or sign request for another chain is refused instead of binding it. The
 * observer, if any, is told of the sign path's transactions (store.ts). `timeoutMs` bounds
 * PostgreSQL's waits (PostgresStoreOptions); SQLite, in this process, has none to bound.
 */
export interface OpenOptions {
  genesisValidatorsRoot?: string;
  observer?: SlashingObserver;
  timeoutMs?: number;
}

/** Whether `location` names a PostgreSQL database rather than an SQLite file. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

export function openSlashingProtection(location: string, options: OpenOptions = {}): Promise<SlashingProtection> {
  return isPostgresLocation(location) ? openPostgresStore(location, options) : openSqliteStore(location, options);
}
