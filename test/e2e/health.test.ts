import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { blockBody, sign } from "../helpers/messages.js";
import { serveArgs, spawnSigner, startTestSigner, writeKeystores } from "../helpers/signer.js";

interface Health {
  status: string;
  checks: Array<{ id: string; status: string; data?: Record<string, unknown> }>;
}

async function healthcheck(url: string): Promise<{ httpStatus: number } & Health> {
  const res = await fetch(`${url}/healthcheck`);
  return { httpStatus: res.status, ...((await res.json()) as Health) };
}

const check = (h: Health, id: string) => h.checks.find((c) => c.id === id)!;

describe("/healthcheck reports what signing needs", () => {
  it("is DOWN when the data directory's file system has less free space than --min-free-disk-mb", async (t) => {
    // A threshold above any disk here: the real free space, read from the file system, is below it.
    const signer = await startTestSigner(t, { flags: { "min-free-disk-mb": String(1024 ** 4) } });
    const h = await healthcheck(signer.url);
    assert.equal(h.httpStatus, 503);
    assert.equal(h.status, "DOWN");
    const disk = check(h, "disk-space");
    assert.equal(disk.status, "DOWN");
    assert.ok((disk.data!["free-bytes"] as number) < (disk.data!["min-free-bytes"] as number));
    assert.equal(check(h, "slashing-protection-db").status, "UP", "only the disk check is DOWN");
  });

  it("is UP with the default threshold, the disk check included", async (t) => {
    const signer = await startTestSigner(t);
    const h = await healthcheck(signer.url);
    assert.equal(h.httpStatus, 200, JSON.stringify(h));
    assert.equal(check(h, "disk-space").status, "UP");
  });

  it("is DOWN once the slashing database cannot be written (file-size limit), as blocks get 503", async (t) => {
    const dir = await tempDir(t, "health-full");
    const dirs = await writeKeystores(dir, 1);
    const dataDir = join(dir, "data");
    const signer = await spawnSigner(serveArgs(dataDir, dirs));
    t.after(async () => {
      signer.child.kill("SIGTERM");
      await signer.exited;
    });
    const key = dirs.keys[0]!;
    assert.equal((await sign(signer.url, key.pubkey, blockBody(1))).status, 200);
    // A health check before the limit: its probe's row exists, so the later ones overwrite it.
    assert.equal((await healthcheck(signer.url)).httpStatus, 200);

    // From now on no file of the process may grow much past the largest one: the WAL soon cannot
    // take another commit, as on a full disk (SIGXFSZ is ignored by serve, so the write fails).
    const sizes = await Promise.all((await readdir(dataDir)).map(async (f) => (await stat(join(dataDir, f))).size));
    const limit = Math.max(...sizes) + 64 * 1024;
    execFileSync("prlimit", ["--pid", String(signer.child.pid), `--fsize=${limit}:${limit}`]);

    let refused: { status: number; message?: string } | undefined;
    for (let slot = 2; slot < 5000 && !refused; slot++) {
      const res = await sign(signer.url, key.pubkey, blockBody(slot));
      if (res.status !== 200) refused = res;
    }
    assert.equal(refused?.status, 503, refused?.message);
    assert.equal(signer.child.exitCode, null, "the signer keeps running");
    const h = await healthcheck(signer.url);
    assert.equal(h.httpStatus, 503, JSON.stringify(h));
    const db = check(h, "slashing-protection-db");
    assert.equal(db.status, "DOWN");
    assert.match(String(db.data!.error), /health check/);
  });
});
