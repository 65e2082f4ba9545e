import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeSecretFile } from "../util/secretFile.js";
import { IdentityError } from "./errors.js";
import { isPostgresLocation, openSlashingProtection, type OpenOptions } from "./open.js";
import type { DatabaseIdentity, SlashingProtection } from "./store.js";

/**
 * Database identity. A data directory remembers the id of the slashing database it uses (a file
 * beside the sealed keys), and that database stores the same id (its meta table). A signer that
 * finds its database gone, emptied or replaced by another would otherwise take it for a new one
 * and sign again everything the lost one recorded; it refuses to start instead, until the operator
 * says what the database is (`slashing-protection init`) or brings its history back
 * (`slashing-protection import`). Lighthouse refuses the same way (`--init-slashing-protection`).
 *
 * Against a hostile host this is a tripwire, not a guarantee: the host can delete the id file with
 * the database, or edit another database's id to match (except under Gramine's encrypted mount).
 * What a restored or forged database could have forgotten is the restart floor's and the
 * continuity store's to cover (docs/tee.md).
 */

const ID_FILE = "slashing-db.id";
const ID_RE = /^[0-9a-f]{32}$/;

/**
 * What the opener accepts: `strict` (serve) only the recorded database or a first one; `restore`
 * (an interchange import) also a missing or emptied one, which the import fills; `adopt`
 * (`slashing-protection init`) whatever database is there now, recorded as this directory's.
 */
export type IdentityMode = "strict" | "restore" | "adopt";

/** An SQLite file as found before opening it; a PostgreSQL database is only known once open. */
export type FileState = "absent" | "empty" | "present" | "not-a-file";

const REMEDY =
  "restore it, or bring its history back with `secure-signer slashing-protection import FILE`, or, if it is truly lost and the keys signed nothing since, start from empty with `secure-signer slashing-protection init`";

/** Refusals that can be told before the database is opened, so that opening it creates nothing. */
export function checkBeforeOpen(recordedId: string | undefined, file: FileState, mode: IdentityMode, location: string): void {
  if (mode !== "strict") return;
  if (file === "empty") {
    throw new IdentityError(
      "SLASHING_DB_EMPTIED",
      `slashing database ${location} is empty (zero bytes): its records are gone, and starting on it would sign again what it recorded; ${REMEDY}`,
      { location },
    );
  }
  if (file === "absent" && recordedId !== undefined) throw missing(location, recordedId);
}

/**
 * The rest once the database is open: whether `identity` may serve a data directory that recorded
 * `recordedId`. Resolves whether the directory's id file must be (re)written.
 */
export function checkAfterOpen(recordedId: string | undefined, identity: DatabaseIdentity, mode: IdentityMode, location: string): boolean {
  if (recordedId === identity.id) return false;
  if (recordedId === undefined || mode === "adopt") return true;
  if (identity.created) {
    if (mode === "restore") return true;
    throw missing(location, recordedId);
  }
  throw new IdentityError(
    "SLASHING_DB_MISMATCH",
    `slashing database ${location} is not the one this data directory recorded (its id is ${identity.id}, the data directory's ${recordedId}): it does not hold this signer's history; put the right one back, or, to make this database the record from now on, run \`secure-signer slashing-protection init\``,
    { location, expected: recordedId, actual: identity.id },
  );
}

function missing(location: string, recordedId: string): IdentityError {
  return new IdentityError("SLASHING_DB_MISSING", `slashing database ${location} (id ${recordedId}) is missing; ${REMEDY}`, {
    location,
    expected: recordedId,
  });
}

export function idFile(dataDir: string): string {
  return join(dataDir, ID_FILE);
}

/** The id the data directory recorded; a file that does not hold one is a database it cannot vouch for. */
export function readRecordedId(dataDir: string): string | undefined {
  const path = idFile(dataDir);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8").trim();
  if (!ID_RE.test(text)) {
    throw new IdentityError("SLASHING_DB_MISMATCH", `${path} does not hold a slashing database id; run \`secure-signer slashing-protection init\` to record the database in use`, {
      location: path,
    });
  }
  return text;
}

export function sqliteFileState(path: string): FileState {
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return "not-a-file";
    return stats.size === 0 ? "empty" : "present";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "absent";
    throw e;
  }
}

/**
 * Opens the slashing database at `location` for the data directory `dataDir`, checked against the
 * id the directory recorded, and records the id when it is the first (or, for `adopt`, a new) one.
 */
export async function openIdentified(
  location: string,
  dataDir: string,
  mode: IdentityMode,
  options: OpenOptions = {},
): Promise<SlashingProtection> {
  const recordedId = readRecordedId(dataDir);
  checkBeforeOpen(recordedId, isPostgresLocation(location) ? "present" : sqliteFileState(location), mode, location);
  const store = await openSlashingProtection(location, options);
  try {
    if (checkAfterOpen(recordedId, store.identity, mode, location)) await writeSecretFile(idFile(dataDir), store.identity.id + "\n");
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
