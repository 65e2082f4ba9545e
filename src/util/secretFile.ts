import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Files holding secrets (sealed keys, the dev sealing secret, the API token) are written so that a
 * crash at any point leaves either the old content or the new, complete one, never a torn file,
 * and never readable by other users.
 */

async function writeTemp(path: string, data: Uint8Array | string): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(data);
    // Content must be on disk before the name points at it, or a crash could expose an empty file.
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(temp, { force: true });
    throw e;
  }
  await handle.close();
  return temp;
}

/** Makes the rename (or unlink) of an entry in `dir` itself durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` atomically: temp file (0600), fsync, rename over, fsync the directory. */
export async function writeSecretFile(path: string, data: Uint8Array | string): Promise<void> {
  const temp = await writeTemp(path, data);
  try {
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  await syncDir(dirname(path));
}

async function absent(path: string): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw e;
  }
}

/**
 * Creates `path` with `data` only if it does not exist yet, atomically: link(2) fails rather than
 * replace, so two processes starting at once agree on one winner. Returns false when it existed.
 */
export async function createSecretFile(path: string, data: Uint8Array | string): Promise<boolean> {
  const temp = await writeTemp(path, data);
  try {
    await link(temp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    if ((e as NodeJS.ErrnoException).code !== "ENOSYS" || !(await absent(path))) throw e;
    // Gramine has no link(2). Its files are one enclave process's own (locks and the encrypted
    // mount's state do not reach another instance), so a check before the rename has nobody to race.
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
  await syncDir(dirname(path));
  return true;
}

/**
 * The content of `path`; on first use it is created from `make()` first (with createSecretFile,
 * so processes starting together all read the one file that won). Bytes from `make()` are zeroed
 * once written: they are a secret, or sealed from one.
 */
export async function readOrCreateSecretFile(path: string, make: () => Uint8Array | string | Promise<Uint8Array | string>): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const data = await make();
  try {
    await createSecretFile(path, data);
  } finally {
    if (typeof data !== "string") data.fill(0);
  }
  return readFile(path);
}
