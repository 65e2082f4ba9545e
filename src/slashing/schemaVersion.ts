import { StorageError } from "./errors.js";

/**
 * The schema version a slashing database records, checked against the migrations this signer
 * knows. A database written by a newer signer is refused rather than opened: its tables may hold
 * records this one would not see, and lowering its version would make the newer signer migrate
 * it again.
 */
export function recordedSchemaVersion(value: string | undefined, known: number, database: string): number {
  const version = value === undefined ? 0 : /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(version)) {
    throw new StorageError("DATABASE_UNAVAILABLE", `slashing database ${database} has an unreadable schema version (${value})`);
  }
  if (version > known) {
    throw new StorageError(
      "DATABASE_UNAVAILABLE",
      `slashing database ${database} has schema version ${value}, newer than this signer's ${known}; run a signer at least as new as the one that wrote it`,
    );
  }
  return version;
}
