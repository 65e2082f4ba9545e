import { ensureApiToken } from "../api/apiToken.js";
import { apiTokenFile } from "../config/config.js";
import { SealedKeyStore } from "../keys/sealedStore.js";
import { TransportKey } from "../keys/transport.js";
import { mkdirSync } from "node:fs";
import { formatFlags, parseFlags } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";
import { PLATFORM_FLAGS, platformConfig, withPlatform } from "./keys.js";

const USAGE = [
  "Usage: secure-signer init [options]",
  "",
  "Creates the data directory (mode 0700) with what the signer makes on first start: the platform's",
  "sealing material (dev platform), the sealed transport key, the keymanager API token",
  "(api-token.txt, mode 0600) and the sealed-key folder. Running it again changes nothing.",
  "",
  "Options:",
  formatFlags(PLATFORM_FLAGS),
].join("\n");

export const initCommand: Command = {
  name: "init",
  summary: "create a data directory: transport key, API token, sealed-key folder",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, PLATFORM_FLAGS);
    if (positionals.length > 0) throw new UsageError("USAGE", `unexpected argument "${positionals[0]}"`);
    const config = platformConfig(values);
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    return withPlatform(config, async (platform) => {
      await SealedKeyStore.open(platform, config.dataDir);
      const transportKey = await TransportKey.open(platform, config.dataDir);
      const tokenFile = apiTokenFile(config.dataDir);
      await ensureApiToken(tokenFile);
      console.log(`data directory  ${config.dataDir}`);
      console.log(`platform        ${platform.name}${platform.attested ? " (attested)" : " (NOT attested)"}`);
      console.log(`transport key   ${transportKey.publicKeyHex}`);
      console.log(`API token       ${tokenFile}`);
      return 0;
    });
  },
};
