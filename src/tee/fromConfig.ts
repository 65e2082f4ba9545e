import type { Config } from "../config/config.js";
import { createPlatform } from "./index.js";
import type { Platform } from "./platform.js";

/** The TEE platform the settings name: `serve` and the CLI's offline key commands open it alike. */
export function platformFor(config: Config): Promise<Platform> {
  return createPlatform(config.platform, {
    dataDir: config.dataDir,
    requireAttested: config.requireAttested,
    gramine: { root: config.gramineAttestationDir, sealingKey: config.gramineSealingKey },
    ...(config.stateKeyFile && { stateKeyFile: config.stateKeyFile }),
    ...(config.gramineEncryptedFsKey && { encryptedFsKeyFile: config.gramineEncryptedFsKey }),
    ...(config.tsmSealingKeyFile && { tsm: { root: config.tsmReportDir, sealing: { keyFile: config.tsmSealingKeyFile } } }),
  });
}
