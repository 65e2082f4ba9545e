import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, MAINNET_GVR, sign } from "../helpers/messages.js";
import { networkFile } from "../helpers/networks.js";
import { spawnSigner, writeKeystores, type SignerProcess } from "../helpers/signer.js";

/** `serve` with `args` must exit before it listens, with an error matching `pattern`. */
async function refusesToStart(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<void> {
  let started: SignerProcess | undefined;
  try {
    started = await spawnSigner(args, env);
  } catch (e) {
    assert.match((e as Error).message, /signer exited \(1\) before listening/);
    assert.match((e as Error).message, pattern);
    return;
  }
  started.child.kill("SIGTERM");
  await started.exited;
  assert.fail(`serve ${args.join(" ")} started`);
}

describe("a network the signer does not know the genesis of", () => {
  it("does not start without --genesis-validators-root, names the flag, and creates nothing", async (t) => {
    const dir = await tempDir(t, "no-root");
    const dataDir = join(dir, "data");
    const file = await networkFile(dir);
    const quiet = ["--data-dir", dataDir, "--startup-floor-epochs", "off", "--log-level", "warn"];
    await refusesToStart(
      ["--network", "minimal", ...quiet],
      { LODESTAR_PRESET: "minimal" },
      /network minimal has no known genesis_validators_root: give it with --genesis-validators-root HEX/,
    );
    await refusesToStart(["--network", file, ...quiet], {}, /network .*network\.yaml has no known genesis_validators_root: give it with --genesis-validators-root/);
    assert.equal(existsSync(dataDir), false, "no data directory, no database bound to a chain");
  });

  it("does not start with the clock bound or the rollback guard on and no --genesis-time, names the flag; starts with it", async (t) => {
    const dir = await tempDir(t, "no-genesis-time");
    const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
    const dataDir = join(dir, "data");
    const args = ["--data-dir", dataDir, "--network", await networkFile(dir), "--genesis-validators-root", MAINNET_GVR, "--keystores-dir", keystoresDir, "--keystores-passwords-dir", passwordsDir, "--log-level", "warn"];
    await refusesToStart(args, {}, /has no known genesis time, which the clock bound \(--clock-skew-slots\) and the rollback guard \(--startup-floor-epochs\) needs: give it with --genesis-time SECONDS/);

    // Genesis 10½ epochs ago: the clock bound refuses targets after epoch 10; a new database has no floor.
    const genesisTime = Math.floor(Date.now() / 1000) - 10 * 384 - 192;
    const signer = await spawnSigner([...args, "--genesis-time", String(genesisTime)]);
    try {
      const ahead = await sign(signer.url, keys[0]!.pubkey, attestationBody(10, 11));
      assert.equal(ahead.status, 412);
      assert.match(ahead.message ?? "", /--clock-skew-slots/);
      assert.equal((await sign(signer.url, keys[0]!.pubkey, attestationBody(9, 10))).status, 200);
    } finally {
      signer.child.kill("SIGTERM");
      await signer.exited;
    }
  });

  it("exports the slashing records of the chain the database is bound to: keymanager DELETE and the offline CLI", async (t) => {
    const dir = await tempDir(t, "unknown-root");
    const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
    const pubkey = keys[0]!.pubkey;
    const [name] = (await readdir(keystoresDir)).filter((f) => f.endsWith(".json"));
    const keystore = await readFile(join(keystoresDir, name!), "utf8");
    const password = (await readFile(join(passwordsDir, name!.replace(/\.json$/, ".txt")), "utf8")).trim();
    const dataDir = join(dir, "data");
    const network = await networkFile(dir);
    const signer = await spawnSigner(["--data-dir", dataDir, "--network", network, "--genesis-validators-root", MAINNET_GVR, "--startup-floor-epochs", "off", "--clock-skew-slots", "off", "--log-level", "warn"]);
    try {
      const token = (await readFile(join(dataDir, "api-token.txt"), "utf8")).trim();
      const keymanager = (method: string, body: unknown) =>
        fetch(`${signer.url}/eth/v1/keystores`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const imported = await keymanager("POST", { keystores: [keystore], passwords: [password] });
      assert.deepEqual(((await imported.json()) as { data: Array<{ status: string }> }).data.map((d) => d.status), ["imported"]);
      assert.equal((await sign(signer.url, pubkey, attestationBody(5, 6))).status, 200);

      const deleted = await keymanager("DELETE", { pubkeys: [pubkey] });
      assert.equal(deleted.status, 200);
      const body = (await deleted.json()) as { data: Array<{ status: string }>; slashing_protection: string };
      assert.deepEqual(body.data.map((d) => d.status), ["deleted"]);
      const exported = JSON.parse(body.slashing_protection);
      assert.equal(exported.metadata.genesis_validators_root, MAINNET_GVR);
      assert.deepEqual(exported.data.map((d: { pubkey: string }) => d.pubkey), [pubkey]);
      assert.deepEqual(exported.data[0].signed_attestations.map((a: { source_epoch: string; target_epoch: string }) => [a.source_epoch, a.target_epoch]), [["5", "6"]]);
    } finally {
      signer.child.kill("SIGTERM");
      await signer.exited;
    }

    // Offline, without the root: the chain the database was bound to at the signer's start.
    const offline = await cli("slashing-protection", "export", "--data-dir", dataDir, "--network", network);
    assert.equal(offline.code, 0, offline.stderr);
    const file = JSON.parse(offline.stdout);
    assert.equal(file.metadata.genesis_validators_root, MAINNET_GVR);
    assert.deepEqual(file.data.map((d: { pubkey: string }) => d.pubkey), [pubkey]);
  });
});
