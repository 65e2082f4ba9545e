import { DOMAIN_VOLUNTARY_EXIT } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import type { SigningKeys } from "../bls/signingKeys.js";
import { InputError } from "../errors.js";
import { computeDomain, computeSigningRoot } from "../signing/domain.js";
import { normalizePubkey, toHex } from "../util/hex.js";

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
  network: { capellaForkVersion: Uint8Array; genesisValidatorsRoot: Uint8Array };
}

/**
 * Signs a voluntary exit. Since Deneb (EIP-7044) exits are verified under the Capella fork
 * version whatever the current fork, so a signed exit stays valid forever.
 */
export async function createVoluntaryExit(params: ExitParams): Promise<SignedVoluntaryExitJson> {
  const { keys, validatorIndex, epoch, network } = params;
  const pubkey = normalizePubkey(params.pubkey);
  for (const [name, value] of [["validator index", validatorIndex], ["epoch", epoch]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InputError("INVALID_INPUT", `${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (network.capellaForkVersion.length !== 4 || network.genesisValidatorsRoot.length !== 32) {
    throw new InputError("INVALID_INPUT", "capella fork version must be 4 bytes and genesis validators root 32 bytes");
  }
  if (!keys.has(pubkey)) throw new InputError("INVALID_INPUT", `no key loaded for ${pubkey}`);
  const message = { epoch, validatorIndex };
  const domain = computeDomain(DOMAIN_VOLUNTARY_EXIT, network.capellaForkVersion, network.genesisValidatorsRoot);
  const signature = await keys.sign(pubkey, computeSigningRoot(ssz.phase0.VoluntaryExit.hashTreeRoot(message), domain));
  return { message: { epoch: String(epoch), validator_index: String(validatorIndex) }, signature: toHex(signature) };
}
