import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { chainConfigToJson } from "@lodestar/config";
import { gnosisChainConfig } from "@lodestar/config/networks";
import { GNOSIS_NETWORKS, signsWithTheGnosisPreset } from "../helpers/gnosis.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { serveArgs, spawnSigner, writeKeystores } from "../helpers/signer.js";

describe("gnosis and chiado", () => {
  for (const name of ["gnosis", "chiado"] as const) {
    it(`--network ${name} starts on the gnosis preset and signs what verifies under the chain's own domain`, async (t) => {
      const dir = await tempDir(t, name);
      const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
      const signer = await spawnSigner(serveArgs(join(dir, "data"), { keystoresDir, passwordsDir }, "--network", name));
      try {
        await signsWithTheGnosisPreset(signer.url, keys[0]!.pubkey, GNOSIS_NETWORKS[name]);
      } finally {
        signer.child.kill("SIGTERM");
        await signer.exited;
      }
    });
  }

  it("takes Gnosis's config.yaml as --network FILE, with its genesis given", async (t) => {
    const dir = await tempDir(t, "gnosis-file");
    const { keystoresDir, passwordsDir, keys } = await writeKeystores(dir, 1);
    // The file as gnosischain/configs writes it: one KEY: value a line, unquoted numbers and hex.
    const lines = Object.entries(chainConfigToJson(gnosisChainConfig)).map(([k, v]) => `${k}: ${Array.isArray(v) ? "[]" : String(v)}`);
    const file = join(dir, "config.yaml");
    await writeFile(file, `# Gnosis Chain\n${lines.join("\n")}\n`);
    const { gvr, genesisTime } = GNOSIS_NETWORKS.gnosis;
    const signer = await spawnSigner(
      serveArgs(join(dir, "data"), { keystoresDir, passwordsDir }, "--network", file, "--genesis-validators-root", gvr, "--genesis-time", String(genesisTime)),
    );
    try {
      await signsWithTheGnosisPreset(signer.url, keys[0]!.pubkey, GNOSIS_NETWORKS.gnosis);
    } finally {
      signer.child.kill("SIGTERM");
      await signer.exited;
    }
  });
});
