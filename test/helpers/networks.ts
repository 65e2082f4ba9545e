import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MAINNET_GVR } from "./messages.js";

const EPOCH_SECONDS = 12 * 32;

/**
 * Mainnet's fork schedule as a consensus config file for --network: a network the signer knows
 * neither the genesis_validators_root nor the genesis time of.
 */
export async function networkFile(dir: string): Promise<string> {
  const forks: Array<[string, string, number]> = [
    ["ALTAIR", "0x01000000", 74240],
    ["BELLATRIX", "0x02000000", 144896],
    ["CAPELLA", "0x03000000", 194048],
    ["DENEB", "0x04000000", 269568],
    ["ELECTRA", "0x05000000", 364032],
    ["FULU", "0x06000000", 411392],
  ];
  const lines = [
    "PRESET_BASE: 'mainnet'",
    "CONFIG_NAME: 'rollback-test'",
    "SECONDS_PER_SLOT: 12",
    "GENESIS_FORK_VERSION: 0x00000000",
    ...forks.flatMap(([f, v, e]) => [`${f}_FORK_VERSION: ${v}`, `${f}_FORK_EPOCH: ${e}`]),
  ];
  const path = join(dir, "network.yaml");
  await writeFile(path, lines.join("\n") + "\n");
  return path;
}

/**
 * `serve` flags for that network with its genesis `epochsAgo` epochs (and half of one) before now,
 * and mainnet's genesis_validators_root, which the messages helpers sign for. A test moves the
 * signer's clock forward between restarts by giving it another genesis time.
 */
export async function networkAt(dir: string, epochsAgo: number): Promise<string[]> {
  const genesisTime = Math.floor(Date.now() / 1000) - epochsAgo * EPOCH_SECONDS - EPOCH_SECONDS / 2;
  return ["--network", await networkFile(dir), "--genesis-time", String(genesisTime), "--genesis-validators-root", MAINNET_GVR];
}
