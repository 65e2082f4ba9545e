import { ssz } from "@lodestar/types";
import type { SigningKeys } from "../bls/signingKeys.js";
import { requireGenesisTime } from "../config/genesis.js";
import { InputError } from "../errors.js";
import { computeSigningRoot, epochAtSlot, scheduledFork, slotAtTime, voluntaryExitDomain } from "../signing/domain.js";
import { normalizePubkey, toHex } from "../util/hex.js";
import type { KeyNetwork } from "./network.js";

/** SignedVoluntaryExit as POST /eth/v1/beacon/pool/voluntary_exits accepts it. */
export interface SignedVoluntaryExitJson {
  message: { epoch: string; validator_index: string };
  signature: string;
}

export interface ExitParams {
  keys: SigningKeys;
  pubkey: string;
  validatorIndex: number;
  /** Earliest epoch the exit is valid at; the current epoch is the usual choice. */
  epoch: number;
  network: Pick<KeyNetwork, "config" | "genesisValidatorsRoot" | "genesisTime">;
  /** The clock, in seconds since 1970 (tests set it). */
  nowSeconds?: number;
}

/**
 * Signs a voluntary exit, under the same domain rule as a VOLUNTARY_EXIT sign request whose
 * fork_info is the chain's fork when the exit can first be included: now, or its epoch if later.
 */
export async function createVoluntaryExit(params: ExitParams): Promise<SignedVoluntaryExitJson> {
  const { keys, validatorIndex, epoch, network } = params;
  const pubkey = normalizePubkey(params.pubkey);
  for (const [name, value] of [["validator index", validatorIndex], ["epoch", epoch]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InputError("INVALID_INPUT", `${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (network.genesisValidatorsRoot.length !== 32) {
    throw new InputError("INVALID_INPUT", "genesis validators root must be 32 bytes");
  }
  if (!keys.has(pubkey)) throw new InputError("INVALID_INPUT", `no key loaded for ${pubkey}`);
  const message = { epoch, validatorIndex };
  const genesisTime = requireGenesisTime({ name: network.config.CONFIG_NAME, genesisTime: network.genesisTime }, "an exit's fork (the chain's current epoch)");
  const nowEpoch = epochAtSlot(slotAtTime(params.nowSeconds ?? Date.now() / 1000, genesisTime, network.config.SECONDS_PER_SLOT));
  const chainFork = scheduledFork(network.config, Math.max(epoch, nowEpoch), network.genesisValidatorsRoot);
  const domain = voluntaryExitDomain(network.config, epoch, chainFork);
  const signature = await keys.sign(pubkey, computeSigningRoot(ssz.phase0.VoluntaryExit.hashTreeRoot(message), domain));
  return { message: { epoch: String(epoch), validator_index: String(validatorIndex) }, signature: toHex(signature) };
}
