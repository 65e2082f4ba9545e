/**
 * The slashing-protection backends the shared suites run against, each opened on a fresh database:
 * a SQLite file in a temp dir, or a PostgreSQL database created for this run (see
 * slashingPostgres.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../../src/slashing/sqlite.js";
import type { SlashingProtection } from "../../src/slashing/store.js";

export interface OpenOptions {
  genesisValidatorsRoot?: string;
}

export interface Backend {
  name: "sqlite" | "postgres";
  /** A store on an empty database. */
  fresh(options?: OpenOptions): Promise<SlashingProtection>;
  /** Another store on the database of `store` (after it was closed, for SQLite). */
  reopen(store: SlashingProtection, options?: OpenOptions): Promise<SlashingProtection>;
  /** Drops every database this backend created. */
  cleanup(): Promise<void>;
}

export function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), "slashing-test-"));
  let n = 0;
  const paths = new WeakMap<SlashingProtection, string>();
  const open = async (path: string, options: OpenOptions): Promise<SlashingProtection> => {
    const store = await openSqliteStore(path, options);
    paths.set(store, path);
    return store;
  };
  return {
    name: "sqlite",
    fresh: (options = {}) => open(join(dir, `db${n++}.sqlite`), options),
    reopen: (store, options = {}) => open(paths.get(store)!, options),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const GVR = "0x" + "04".repeat(32);
export const OTHER_GVR = "0x" + "05".repeat(32);

export function pubkey(i: number): string {
  return "0x" + "a0" + i.toString(16).padStart(94, "0");
}

export function root(i: number): string {
  return "0x" + i.toString(16).padStart(64, "0");
}
