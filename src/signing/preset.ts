/**
 * Network names and the preset each needs, known without importing @lodestar/* (see
 * requiredPreset). network.ts builds the chain config.
 */
import { existsSync } from "node:fs";
import { presetOf, readNetworkFile, type NetworkValues, type Preset } from "./networkFile.js";
import { InputError } from "../errors.js";

export const NETWORK_PRESETS = {
  mainnet: "mainnet",
  hoodi: "mainnet",
  holesky: "mainnet",
  sepolia: "mainnet",
  gnosis: "gnosis",
  chiado: "gnosis",
  minimal: "minimal",
} as const satisfies Record<string, Preset>;

export type NetworkName = keyof typeof NETWORK_PRESETS;
export const NETWORK_NAMES = Object.keys(NETWORK_PRESETS) as NetworkName[];

export function isNetworkName(network: string): network is NetworkName {
  return Object.hasOwn(NETWORK_PRESETS, network);
}

/**
 * The preset a network needs. @lodestar/params fixes the preset (SLOTS_PER_EPOCH, container sizes)
 * from LODESTAR_PRESET when it is first imported, so a process serving a minimal or gnosis network
 * must set LODESTAR_PRESET before anything imports @lodestar/*. This module imports none of them,
 * so the CLI entry point can call this first.
 */
export function requiredPreset(network: string): Preset {
  return isNetworkName(network) ? NETWORK_PRESETS[network] : presetOf(networkFileValues(network), network);
}

/** The values of the network config file `network` names, once it is not one of the names. */
export function networkFileValues(network: string): NetworkValues {
  if (!existsSync(network)) {
    throw new InputError("INVALID_INPUT", `network ${network} is neither one of ${NETWORK_NAMES.join(", ")} nor an existing config file`, {
      network,
    });
  }
  return readNetworkFile(network);
}
