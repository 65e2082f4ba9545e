import type { ChainForkConfig } from "@lodestar/config";
import type { ForkInfo } from "@lodestar/config";
import { DOMAIN_VOLUNTARY_EXIT, ForkSeq, SLOTS_PER_EPOCH } from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import { InputError } from "../errors.js";
import { toHex } from "../util/hex.js";

/** compute_domain: domain_type ‖ fork_data_root[0:28] (consensus-specs, phase0 beacon-chain). */
export function computeDomain(
  domainType: Uint8Array,
  forkVersion: Uint8Array,
  genesisValidatorsRoot: Uint8Array,
): Uint8Array {
  const forkDataRoot = ssz.phase0.ForkData.hashTreeRoot({ currentVersion: forkVersion, genesisValidatorsRoot });
  const domain = new Uint8Array(32);
  domain.set(domainType, 0);
  domain.set(forkDataRoot.subarray(0, 28), 4);
  return domain;
}

export function computeSigningRoot(objectRoot: Uint8Array, domain: Uint8Array): Uint8Array {
  return ssz.phase0.SigningData.hashTreeRoot({ objectRoot, domain });
}

export function epochAtSlot(slot: number): number {
  return Math.floor(slot / SLOTS_PER_EPOCH);
}

/** The slot the clock is in (0 before genesis). */
export function slotAtTime(nowSeconds: number, genesisTime: number, secondsPerSlot: number): number {
  return Math.max(0, Math.floor((nowSeconds - genesisTime) / secondsPerSlot));
}

/** A request's fork_info, parsed and matched against the network's fork schedule. */
export interface RequestFork {
  fork: phase0.Fork;
  genesisValidatorsRoot: Uint8Array;
  /** The network's fork whose version is fork_info's current_version. */
  active: ForkInfo;
}

/**
 * get_domain: the fork version of the message's epoch, as the beacon state's `fork` gives it. The
 * state's fork epoch is when its current version took effect, which the network's schedule knows:
 * clients do not all send that epoch in fork_info (see matchFork).
 */
export function forkDomain(requestFork: RequestFork, domainType: Uint8Array, epoch: number): Uint8Array {
  const { fork, genesisValidatorsRoot, active } = requestFork;
  const previous = epoch < active.epoch;
  // A fork_info is reused across requests (see signingRoot.ts), and each of its domains costs a hash.
  let domains = domainsOf.get(requestFork);
  if (domains === undefined) domainsOf.set(requestFork, (domains = new Map()));
  const key = ((domainType[0]! * 256 + domainType[1]!) * 256 + domainType[2]!) * 512 + domainType[3]! * 2 + (previous ? 1 : 0);
  let domain = domains.get(key);
  if (domain === undefined) {
    domain = computeDomain(domainType, previous ? fork.previousVersion : fork.currentVersion, genesisValidatorsRoot);
    domains.set(key, domain);
  }
  return domain;
}

/** The domains computed from a fork_info, by domain type and version; a domain is never modified. */
const domainsOf = new WeakMap<RequestFork, Map<number, Uint8Array>>();

/** The fork_info a beacon node following the network's schedule would send at `epoch`. */
export function scheduledFork(config: ChainForkConfig, epoch: number, genesisValidatorsRoot: Uint8Array): RequestFork {
  const active = config.getForkInfoAtEpoch(epoch);
  return { fork: { previousVersion: active.prevVersion, currentVersion: active.version, epoch: active.epoch }, genesisValidatorsRoot, active };
}

/**
 * The domain of a voluntary exit signed while the chain is at `chainFork`. EIP-7044: from Deneb on,
 * exits are signed with the Capella fork version for good, so that a signed exit stays valid across
 * later forks; before, with the fork version of the exit's epoch.
 */
export function voluntaryExitDomain(config: ChainForkConfig, exitEpoch: number, chainFork: RequestFork): Uint8Array {
  const postDeneb = chainFork.active.seq >= ForkSeq.deneb || config.getForkSeqAtEpoch(exitEpoch) >= ForkSeq.deneb;
  return postDeneb
    ? computeDomain(DOMAIN_VOLUNTARY_EXIT, config.CAPELLA_FORK_VERSION, chainFork.genesisValidatorsRoot)
    : forkDomain(chainFork, DOMAIN_VOLUNTARY_EXIT, exitEpoch);
}

/**
 * Refuses a fork_info that is not a fork of the configured network, so that a key is never made
 * to sign for another chain. The previous version may equal the current one: a network that
 * starts at a later fork has a genesis state whose fork is {v, v, 0}.
 *
 * fork.epoch may be any epoch from the current version's activation on. Most clients send the
 * activation epoch (the state's fork); Lodestar sends the epoch of the slot it signs for, as
 * Web3Signer, which does not check the field, accepts. An epoch before the activation contradicts
 * the schedule and is refused.
 */
export function matchFork(config: ChainForkConfig, fork: phase0.Fork): ForkInfo {
  const sameVersion = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
  const active = config.forksDescendingEpochOrder.find((f) => sameVersion(f.version, fork.currentVersion));
  if (active === undefined) {
    throw new InputError(
      "INVALID_INPUT",
      `fork_info/fork/current_version ${toHex(fork.currentVersion)} is not a fork version of network ${config.CONFIG_NAME}`,
      { field: "fork_info/fork/current_version" },
    );
  }
  if (!sameVersion(fork.previousVersion, active.prevVersion) && !sameVersion(fork.previousVersion, active.version)) {
    throw new InputError(
      "INVALID_INPUT",
      `fork_info/fork/previous_version ${toHex(fork.previousVersion)} does not precede ${active.name} ` +
        `(${toHex(active.version)}) on network ${config.CONFIG_NAME}, expected ${toHex(active.prevVersion)}`,
      { field: "fork_info/fork/previous_version" },
    );
  }
  if (active.epoch === Infinity) {
    throw new InputError(
      "INVALID_INPUT",
      `fork_info/fork/current_version ${toHex(fork.currentVersion)} is ${active.name}, which network ${config.CONFIG_NAME} does not schedule`,
      { field: "fork_info/fork/current_version" },
    );
  }
  if (fork.epoch < active.epoch) {
    throw new InputError(
      "INVALID_INPUT",
      `fork_info/fork/epoch ${fork.epoch} is before ${active.name} (${toHex(active.version)}) took effect on network ${config.CONFIG_NAME}, at epoch ${active.epoch}`,
      { field: "fork_info/fork/epoch" },
    );
  }
  return active;
}
