import type { NetworkConfig } from "../signing/network.js";
import { ConfigError } from "./errors.js";

/**
 * The genesis time, for `needer`, something that reads the clock (a guard, an exit's fork). A
 * network without one must not go on as if genesis were some other time: refused, naming the flag.
 */
export function requireGenesisTime(network: Pick<NetworkConfig, "name" | "genesisTime">, needer: string): number {
  if (network.genesisTime === undefined) {
    throw new ConfigError(
      "INVALID_CONFIG",
      `network ${network.name} has no known genesis time, which ${needer} needs: give it with --genesis-time SECONDS ` +
        "(genesis_time of the beacon node's /eth/v1/beacon/genesis)",
    );
  }
  return network.genesisTime;
}

/**
 * The chain's genesis_validators_root, without which `serve` does not start: a signer that
 * learnt its chain from the first request would let any caller bind it to another chain.
 */
export function requireGenesisValidatorsRoot(network: NetworkConfig): string {
  if (network.genesisValidatorsRoot === undefined) {
    throw new ConfigError(
      "INVALID_CONFIG",
      `network ${network.name} has no known genesis_validators_root: give it with --genesis-validators-root HEX ` +
        "(genesis_validators_root of the beacon node's /eth/v1/beacon/genesis)",
    );
  }
  return network.genesisValidatorsRoot;
}
