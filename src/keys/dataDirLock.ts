import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { KeyError } from "./errors.js";

/** Beside the sealed keys; holds no data, only the lock. */
export const dataDirLockFile = (dataDir: string): string => join(dataDir, "signer.lock");

/**
 * An exclusive lock on a data directory, held by a running signer for its whole life and by an
 * offline command that changes its keys for as long as it runs: an offline `keys delete` beside a
 * running signer would report a key deleted while the signer, which loaded it at start, kept
 * signing with it.
 *
 * The lock is SQLite's POSIX advisory lock on a file of its own, held in EXCLUSIVE locking mode: the
 * kernel releases it when the process ends however it ends (SIGKILL, OOM, power), so there is no
 * stale lock to detect and no PID to trust, which a PID file would need (PIDs are reused, and differ
 * between containers sharing the directory). better-sqlite3 is already the signer's database driver.
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /**
   * Takes the lock at once or throws DATA_DIR_IN_USE (never waits: the holder may run for months).
   * `purpose` completes the refusal's message, saying what to do instead.
   */
  static acquire(dataDir: string, purpose: string): DataDirLock {
    const file = dataDirLockFile(dataDir);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(file, { timeout: 0 });
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      // In EXCLUSIVE mode the lock a write transaction takes is kept until the connection closes.
      db.exec("BEGIN EXCLUSIVE; COMMIT");
    } catch (e) {
      db.close();
      if ((e as { code?: string }).code === "SQLITE_BUSY") {
        throw new KeyError("DATA_DIR_IN_USE", `data directory ${dataDir} is in use by a running signer (it holds ${file}): ${purpose}`, {
          dataDir,
        });
      }
      throw new KeyError("IO_FAILED", `cannot lock data directory ${dataDir} (${file}): ${(e as Error).message}`, { dataDir });
    }
    return new DataDirLock(db);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}
