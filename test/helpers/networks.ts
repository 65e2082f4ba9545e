import { writeFile } from "node:fs/promises";
import { join } from "node:path";

const EPOCH_SECONDS = 12 * 32;

/**
 * Mainnet's fork schedule with a genesis `epochsAgo` epochs before now, as a consensus config file
 * for --network: a network the signer knows no genesis_validators_root for. A test moves the
 * signer's clock forward between restarts by giving it a new file.
 */
export async function networkAt(dir: string, epochsAgo: number): Promise<string> {
  const forks: Array<[string, string, number]> = [
    ["ALTAIR", "0x01000000", 74240],
    ["BELLATRIX", "0x02000000", 144896],
    ["CAPELLA", "0x03000000", 194048],
    ["DENEB", "0x04000000", 269568],
    ["ELECTRA", "0x05000000", 364032],
    ["FULU", "0x06000000", 411392],
  ];
  const genesisDelay = 604800;
  const genesis = Math.floor(Date.now() / 1000) - epochsAgo * EPOCH_SECONDS - EPOCH_SECONDS / 2;
  const lines = [
    "PRESET_BASE: 'mainnet'",
    "CONFIG_NAME: 'rollback-test'",
    `MIN_GENESIS_TIME: ${genesis - genesisDelay}`,
    `GENESIS_DELAY: ${genesisDelay}`,
    "SECONDS_PER_SLOT: 12",
    "GENESIS_FORK_VERSION: 0x00000000",
    ...forks.flatMap(([f, v, e]) => [`${f}_FORK_VERSION: ${v}`, `${f}_FORK_EPOCH: ${e}`]),
  ];
  const path = join(dir, `network-${epochsAgo}.yaml`);
  await writeFile(path, lines.join("\n") + "\n");
  return path;
}
