import type { ChainForkConfig } from "@lodestar/config";
import { requireGenesisValidatorsRoot } from "../config/genesis.js";
import { createNetworkConfig, type GivenGenesis } from "../signing/network.js";
import { fromHex } from "../util/hex.js";

/** What key-lifecycle messages (deposits, exits) need to know about a network. */
export interface KeyNetwork {
  /** `network_name` in deposit data, e.g. "mainnet". */
  name: string;
  genesisForkVersion: Uint8Array;
  genesisValidatorsRoot: Uint8Array;
  /** The fork schedule and the clock, which decide the domain of an exit. */
  config: ChainForkConfig;
  genesisTime: number | undefined;
}

/**
 * A named network (mainnet, hoodi, holesky, ...) or a network config file, as the signer's --network
 * accepts. A config file carries neither the genesis validators root nor the genesis time: they
 * are given (--genesis-validators-root, and --genesis-time for exits).
 */
export function keyNetwork(network: string, given: GivenGenesis = {}): KeyNetwork {
  const chain = createNetworkConfig(network, given);
  const { config } = chain;
  return {
    name: config.CONFIG_NAME,
    genesisForkVersion: config.GENESIS_FORK_VERSION,
    genesisValidatorsRoot: fromHex(requireGenesisValidatorsRoot(chain), "genesis_validators_root", 32),
    config,
    genesisTime: chain.genesisTime,
  };
}
