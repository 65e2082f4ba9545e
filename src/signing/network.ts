import {
  chainConfigFromJson,
  chainConfigTypes,
  createChainForkConfig,
  type ChainConfig,
  type ChainForkConfig,
} from "@lodestar/config";
import { mainnetChainConfig, minimalChainConfig } from "@lodestar/config/configs";
import { genesisData, networksChainConfig } from "@lodestar/config/networks";
import { ACTIVE_PRESET, PresetName, SLOTS_PER_EPOCH } from "@lodestar/params";
import { badNetworkFile as badFile, presetOf } from "./networkFile.js";
import { InputError } from "../errors.js";
import { fromHex, HEX_RE, toHex } from "../util/hex.js";
import { isNetworkName, networkFileValues, type NetworkName } from "./preset.js";

export { NETWORK_NAMES, requiredPreset, type NetworkName } from "./preset.js";

export interface NetworkConfig {
  /** What --network said: a network's name or a config file's path. */
  name: string;
  config: ChainForkConfig;
  /** 0x-prefixed lower-case hex; unknown for `minimal` and for config files unless given. */
  genesisValidatorsRoot?: string;
  /** Unix seconds of slot 0; unknown for `minimal` and for config files unless given. */
  genesisTime?: number;
}

/** What the operator says of the chain (--genesis-validators-root, --genesis-time). */
export interface GivenGenesis {
  genesisValidatorsRoot?: string | undefined;
  genesisTime?: number | undefined;
}

/**
 * Holešky is no longer shipped by @lodestar/config 1.48. Values from eth-clients/holesky
 * `metadata/config.yaml` (commit 8aec65f, 2025-09-23); the rest of the config is mainnet's, as there.
 */
const holeskyChainConfig: ChainConfig = {
  ...mainnetChainConfig,
  CONFIG_NAME: "holesky",
  MIN_GENESIS_ACTIVE_VALIDATOR_COUNT: 16384,
  MIN_GENESIS_TIME: 1695902100,
  GENESIS_DELAY: 300,
  GENESIS_FORK_VERSION: fromHex("0x01017000", "GENESIS_FORK_VERSION", 4),
  ALTAIR_FORK_VERSION: fromHex("0x02017000", "ALTAIR_FORK_VERSION", 4),
  ALTAIR_FORK_EPOCH: 0,
  BELLATRIX_FORK_VERSION: fromHex("0x03017000", "BELLATRIX_FORK_VERSION", 4),
  BELLATRIX_FORK_EPOCH: 0,
  CAPELLA_FORK_VERSION: fromHex("0x04017000", "CAPELLA_FORK_VERSION", 4),
  CAPELLA_FORK_EPOCH: 256,
  DENEB_FORK_VERSION: fromHex("0x05017000", "DENEB_FORK_VERSION", 4),
  DENEB_FORK_EPOCH: 29696,
  ELECTRA_FORK_VERSION: fromHex("0x06017000", "ELECTRA_FORK_VERSION", 4),
  ELECTRA_FORK_EPOCH: 115968,
  FULU_FORK_VERSION: fromHex("0x07017000", "FULU_FORK_VERSION", 4),
  FULU_FORK_EPOCH: 165120,
  DEPOSIT_CHAIN_ID: 17000,
  DEPOSIT_NETWORK_ID: 17000,
  DEPOSIT_CONTRACT_ADDRESS: fromHex("0x4242424242424242424242424242424242424242", "DEPOSIT_CONTRACT_ADDRESS", 20),
};

const KNOWN: Record<NetworkName, { chainConfig: ChainConfig } & GivenGenesis> = {
  mainnet: { chainConfig: networksChainConfig.mainnet, ...genesisData.mainnet },
  hoodi: { chainConfig: networksChainConfig.hoodi, ...genesisData.hoodi },
  sepolia: { chainConfig: networksChainConfig.sepolia, ...genesisData.sepolia },
  holesky: {
    chainConfig: holeskyChainConfig,
    // eth-clients/holesky metadata/genesis.json (the same commit).
    genesisValidatorsRoot: "0x9143aa7c615a7f7115e2b6aac319c03529df8242ae705fba9df39b79c59fa8b1",
    genesisTime: 1695902400,
  },
  gnosis: { chainConfig: networksChainConfig.gnosis, ...genesisData.gnosis },
  chiado: { chainConfig: networksChainConfig.chiado, ...genesisData.chiado },
  minimal: { chainConfig: minimalChainConfig },
};

/**
 * A named network, or the path of a network config file (consensus-specs `config.yaml`, or the
 * JSON of a beacon node's `/eth/v1/config/spec`), with its chain's genesis: the named network's
 * own, else what is given (a config file carries neither genesis_validators_root nor genesis time).
 * A given value that contradicts a named network's is refused: obeying it would sign for no chain,
 * ignoring it would hide the mistake.
 */
export function createNetworkConfig(network: string, given: GivenGenesis = {}): NetworkConfig {
  const known: { chainConfig: Partial<ChainConfig> } & GivenGenesis = isNetworkName(network)
    ? KNOWN[network]
    : { chainConfig: chainConfigFromFile(network) };
  const preset = known.chainConfig.PRESET_BASE ?? PresetName.mainnet;
  if (preset !== ACTIVE_PRESET) {
    throw new InputError(
      "UNSUPPORTED",
      `network ${network} uses the ${preset} preset but this process loaded the ${ACTIVE_PRESET} preset; ` +
        `start it with LODESTAR_PRESET=${preset}`,
      { network, preset, activePreset: ACTIVE_PRESET },
    );
  }
  const genesisValidatorsRoot = pick(
    network,
    "--genesis-validators-root",
    known.genesisValidatorsRoot,
    given.genesisValidatorsRoot === undefined ? undefined : toHex(fromHex(given.genesisValidatorsRoot, "--genesis-validators-root", 32)),
  );
  if (given.genesisTime !== undefined && !(Number.isSafeInteger(given.genesisTime) && given.genesisTime >= 0)) {
    throw new InputError("INVALID_INPUT", `--genesis-time must be whole seconds since 1970, got ${given.genesisTime}`, { field: "genesis-time" });
  }
  const genesisTime = pick(network, "--genesis-time", known.genesisTime, given.genesisTime);
  return {
    name: network,
    config: createChainForkConfig(known.chainConfig),
    ...(genesisValidatorsRoot !== undefined && { genesisValidatorsRoot }),
    ...(genesisTime !== undefined && { genesisTime }),
  };
}

function pick<T>(network: string, flag: string, known: T | undefined, given: T | undefined): T | undefined {
  if (known !== undefined && given !== undefined && known !== given) {
    throw new InputError("INVALID_INPUT", `${flag} ${given} is not that of network ${network} (${known}); leave it out for a named network`, {
      field: flag.slice(2),
    });
  }
  return given ?? known;
}

const FORK_PREFIXES = ["ALTAIR", "BELLATRIX", "CAPELLA", "DENEB", "ELECTRA", "FULU", "GLOAS", "HEZE"] as const;
const FAR_FUTURE_EPOCH = "18446744073709551615";

function chainConfigFromFile(path: string): Partial<ChainConfig> {
  const values = networkFileValues(path);
  presetOf(values, path);
  if (!values.has("GENESIS_FORK_VERSION")) throw badFile(path, 0, "GENESIS_FORK_VERSION is missing");
  // A beacon node's /eth/v1/config/spec also gives the preset. A custom SLOTS_PER_EPOCH would put
  // every epoch the signer computes (forks, slashing targets) elsewhere than the chain's. Other
  // preset values are not compared: later forks' sizes changed between spec versions, and a node
  // serving an older spec still agrees with this preset on the forks it runs.
  const slots = values.get("SLOTS_PER_EPOCH");
  if (slots !== undefined && slots.value !== String(SLOTS_PER_EPOCH)) {
    throw badFile(path, slots.line, `SLOTS_PER_EPOCH is ${slots.value}, but the ${ACTIVE_PRESET} preset has ${SLOTS_PER_EPOCH}: custom presets are not supported`);
  }

  const json: Record<string, string> = {};
  for (const [key, { value, line }] of values) {
    const typeName = (chainConfigTypes as Record<string, string>)[key];
    // Schedules (blobs, gas limits) and unknown keys do not bear on signing roots.
    if (typeName === undefined || !["string", "number", "bigint", "bytes"].includes(typeName)) continue;
    const ok =
      typeName === "string" ||
      (typeName === "number" && (value === FAR_FUTURE_EPOCH || (/^[0-9]+$/.test(value) && Number.isSafeInteger(Number(value))))) ||
      (typeName === "bigint" && /^[0-9]+$/.test(value)) ||
      (typeName === "bytes" && HEX_RE.test(value) && (!key.endsWith("_FORK_VERSION") || value.length === 10));
    if (!ok) {
      throw badFile(path, line, `${key} must be ${key.endsWith("_FORK_VERSION") ? "4 bytes of 0x-prefixed hex" : `a ${typeName}`}, got ${value}`);
    }
    json[key] = value;
  }
  // A fork the file does not mention is not scheduled on this network; left out, it would take
  // the preset's default epoch, which is mainnet's.
  for (const fork of FORK_PREFIXES) {
    const epochKey = `${fork}_FORK_EPOCH`;
    if (json[epochKey] === undefined) json[epochKey] = FAR_FUTURE_EPOCH;
    else if (json[`${fork}_FORK_VERSION`] === undefined) {
      throw badFile(path, values.get(epochKey)?.line ?? 0, `${epochKey} is set but ${fork}_FORK_VERSION is not`);
    }
  }
  const chainConfig = chainConfigFromJson(json);
  checkForkSchedule(path, chainConfig);
  return chainConfig;
}

/** Fork epochs must not go backwards, and two scheduled forks must not share a version. */
function checkForkSchedule(path: string, chainConfig: Partial<ChainConfig>): void {
  const versions = new Map<string, string>([[toHex(chainConfig.GENESIS_FORK_VERSION as Uint8Array), "GENESIS"]]);
  let previousEpoch = 0;
  for (const fork of FORK_PREFIXES) {
    const epoch = chainConfig[`${fork}_FORK_EPOCH`] as number;
    if (epoch < previousEpoch) {
      throw badFile(path, 0, `${fork}_FORK_EPOCH ${epoch} is before the previous fork's epoch ${previousEpoch}`);
    }
    previousEpoch = epoch;
    if (epoch === Infinity) continue;
    const version = toHex(chainConfig[`${fork}_FORK_VERSION`] as Uint8Array);
    const other = versions.get(version);
    if (other !== undefined) throw badFile(path, 0, `${fork}_FORK_VERSION ${version} is also ${other}'s version`);
    versions.set(version, fork);
  }
}

