import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, MAINNET_GVR, sign } from "../helpers/messages.js";
import { networkAt } from "../helpers/networks.js";
import { spawnSigner, writeKeystores } from "../helpers/signer.js";

describe("a network given as a config file, with no known genesis_validators_root", () => {
  it("exports the slashing records of the chain the database is bound to: keymanager DELETE and the offline CLI", async (t) => {
    const dir = await tempDir(t, "unknown-root");
    const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
    const pubkey = keys[0]!.pubkey;
    const [name] = (await readdir(keystoresDir)).filter((f) => f.endsWith(".json"));
    const keystore = await readFile(join(keystoresDir, name!), "utf8");
    const password = (await readFile(join(passwordsDir, name!.replace(/\.json$/, ".txt")), "utf8")).trim();
    const dataDir = join(dir, "data");
    const network = await networkAt(dir, 100);
    const signer = await spawnSigner(["--data-dir", dataDir, "--network", network, "--startup-floor-epochs", "off", "--log-level", "warn"]);
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

    const offline = await cli("slashing-protection", "export", "--data-dir", dataDir, "--network", network);
    assert.equal(offline.code, 0, offline.stderr);
    const file = JSON.parse(offline.stdout);
    assert.equal(file.metadata.genesis_validators_root, MAINNET_GVR);
    assert.deepEqual(file.data.map((d: { pubkey: string }) => d.pubkey), [pubkey]);
  });
});
