import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import pg from "pg";
import { GNOSIS_NETWORKS, signsWithTheGnosisPreset } from "../helpers/gnosis.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { spawnSigner, writeKeystores } from "../helpers/signer.js";
import { createTestDatabase } from "../helpers/slashingPostgres.js";

describe("a Web3Signer configuration", () => {
  it("starts serve from Web3Signer's config file and flags: network and preset, keystores, PostgreSQL with user and password", async (t) => {
    const dir = await tempDir(t, "w3s-config");
    const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { hostname, port, pathname } = new URL(db.url);
    // Web3Signer's file as its documentation writes it: global options by name, eth2's under eth2.
    const configFile = join(dir, "web3signer.yaml");
    await writeFile(
      configFile,
      [
        "# Web3Signer",
        'logging: "WARN"',
        'http-host-allowlist: ["localhost", "127.0.0.1"]',
        'eth2.network: "chiado"',
        `eth2.keystores-path: "${keystoresDir}"`,
        `eth2.keystores-passwords-path: "${passwordsDir}"`,
        `eth2.slashing-protection-db-url: "jdbc:postgresql://${hostname}:${port || 5432}${pathname}"`,
        'eth2.slashing-protection-db-username: "postgres"',
        "eth2.slashing-protection-pruning-enabled: true",
        "",
      ].join("\n"),
    );
    const signer = await spawnSigner(["--config-file", configFile, "--data-dir", join(dir, "data"), "--startup-floor-epochs", "off"]);
    try {
      // The gnosis preset was chosen from eth2.network in the file, before anything loaded it.
      await signsWithTheGnosisPreset(signer.url, keys[0]!.pubkey, GNOSIS_NETWORKS.chiado);
    } finally {
      signer.child.kill("SIGTERM");
      await signer.exited;
    }
    // The block went to the PostgreSQL database the JDBC URL named.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const blocks = await client.query<{ n: string }>("SELECT count(*) AS n FROM signed_blocks");
      assert.equal(Number(blocks.rows[0]!.n), 1, "the one block signed is on record there");
    } finally {
      await client.end();
    }
  });
});
