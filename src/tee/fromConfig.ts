import type { Config } from "../config/config.js";
import { openPlatformState, type PlatformOptions } from "./index.js";
import type { Platform } from "./platform.js";
import type { StateKey } from "./stateKey.js";

/** The platform options the settings name: `serve`, the CLI's offline key commands and `tee migrate` read them alike. */
export function platformOptionsFor(config: Config): PlatformOptions {
  return {
    dataDir: config.dataDir,
    requireAttested: config.requireAttested,
    gramine: { root: config.gramineAttestationDir, sealingKey: config.gramineSealingKey },
    ...(config.stateKeyFile && { stateKeyFile: config.stateKeyFile }),
    ...(config.gramineEncryptedFsKey && { encryptedFsKeyFile: config.gramineEncryptedFsKey }),
    ...(config.tsmSealingKeyFile && { tsm: { root: config.tsmReportDir, sealing: { keyFile: config.tsmSealingKeyFile } } }),
    ...(config.simulatedSgxCpuSecretFile &&
      config.simulatedSgxMrenclave && { simulatedSgx: { cpuSecretFile: config.simulatedSgxCpuSecretFile, mrenclave: config.simulatedSgxMrenclave } }),
  };
}

/** The state key on the platform the settings name; `serve` keeps it to answer a successor's migration request. */
export function stateFor(config: Config): Promise<StateKey> {
  return openPlatformState(config.platform, platformOptionsFor(config));
}

/** The TEE platform the settings name, sealing under the state key. */
export async function platformFor(config: Config): Promise<Platform> {
  return (await stateFor(config)).platform;
}
