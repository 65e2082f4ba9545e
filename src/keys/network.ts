import type { ChainForkConfig } from "@lodestar/config";
import { InputError } from "../errors.js";
import { createNetworkConfig } from "../signing/network.js";
import { fromHex } from "../util/hex.js";

/** What key-lifecycle messages (deposits, exits) need to know about a network. */
export interface KeyNetwork {
  /** `network_name` in deposit data, e.g. "mainnet". */
  name: string;
  genesisForkVersion: Uint8Array;
  genesisValidatorsRoot: Uint8Array;
  /** The fork schedule and the clock, which decide the domain of an exit. */
  config: ChainForkConfig;
  genesisTime: number;
}

/**
 * A named network (mainnet, hoodi, holesky, ...) or a config.yaml path, as the signer's --network
 * accepts. A config file does not carry the genesis validators root, so it must be given for exits.
 */
export function keyNetwork(network: string, genesisValidatorsRoot?: string): KeyNetwork {
  const { config, genesisValidatorsRoot: root, genesisTime } = createNetworkConfig(network, genesisValidatorsRoot);
  if (root === undefined) {
    throw new InputError("INVALID_INPUT", `network ${network} has no known genesis validators root; pass it explicitly`);
  }
  return {
    name: config.CONFIG_NAME,
    genesisForkVersion: config.GENESIS_FORK_VERSION,
    genesisValidatorsRoot: fromHex(root, "genesis_validators_root", 32),
    config,
    genesisTime,
  };
}
