import type { ChainForkConfig } from "@lodestar/config";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_APPLICATION_BUILDER,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_DEPOSIT,
  DOMAIN_RANDAO,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  ForkName,
  isForkPostBellatrix,
  isForkPostElectra,
} from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import type { Type } from "@chainsafe/ssz";
import { InputError } from "../errors.js";
import { fromHex, toHex, ZERO_ROOT_HEX } from "../util/hex.js";
import {
  computeDomain,
  computeSigningRoot,
  epochAtSlot,
  forkDomain,
  matchFork,
  voluntaryExitDomain,
  type RequestFork,
} from "./domain.js";
import type { SigningPlan, SlashingCheck } from "./plan.js";
import { SIGN_TYPES, VERSIONS, type SignRequest, type SignRequestOf, type SignType } from "./schema.js";
import { invalid, object, parseSszJson, readSszJson, safeUint, shown } from "./sszJson.js";

const ZERO_ROOT = new Uint8Array(32);

/** What one message type contributes: the root of the object signed and the domain it is signed in. */
interface Message {
  objectRoot: Uint8Array;
  domain: Uint8Array;
  slot?: number;
  epoch?: number;
  slashing?: SlashingCheck;
}

interface Context {
  config: ChainForkConfig;
  /** Undefined only for the two types that may omit fork_info (DEPOSIT, VALIDATOR_REGISTRATION). */
  fork: RequestFork | undefined;
  type: SignType;
}

type Rule<T extends SignType> = (body: SignRequestOf<T>, ctx: Context) => Message;

/**
 * Message type → object root and domain, per the consensus specs' validator guide. The fork_info
 * types use get_domain at the message's epoch; DEPOSIT and VALIDATOR_REGISTRATION are signed across
 * forks with a fixed version and a zero genesis_validators_root.
 */
const RULES: { [T in SignType]: Rule<T> } = {
  BLOCK: (body, ctx) => blockMessage(ssz.phase0.BeaconBlock, body.block, "block", ctx),
  BLOCK_V2: (body, ctx) => {
    const request = object(body.beacon_block, "beacon_block");
    const fork = forkOfVersion(request.version, "beacon_block/version", ctx.config);
    if (request.block !== undefined && request.block_header !== undefined) {
      throw invalid("beacon_block", "must have either block or block_header, not both");
    }
    if (request.block_header !== undefined) {
      return blockMessage(ssz.phase0.BeaconBlockHeader, request.block_header, "beacon_block/block_header", ctx);
    }
    if (request.block === undefined) throw invalid("beacon_block", "must have block or block_header");
    const block = object(request.block, "beacon_block/block");
    // A blinded block carries the execution payload's header in place of the payload; its root is
    // the full block's root, so a blinded block is signed as the block it stands for.
    const blinded = isForkPostBellatrix(fork) && "execution_payload_header" in object(block.body, "beacon_block/block/body");
    const type = blinded
      ? ssz[fork as Exclude<ForkName, ForkName.phase0 | ForkName.altair>].BlindedBeaconBlock
      : ssz[fork].BeaconBlock;
    return blockMessage(type as Type<{ slot: number }>, block, "beacon_block/block", ctx);
  },
  ATTESTATION: (body, ctx) => {
    const { value: data, root } = readSszJson(ssz.phase0.AttestationData, body.attestation, "attestation");
    const slot = safeUint(data.slot, "attestation/slot");
    const sourceEpoch = safeUint(data.source.epoch, "attestation/source/epoch");
    const targetEpoch = safeUint(data.target.epoch, "attestation/target/epoch");
    return {
      objectRoot: root,
      domain: forkDomain(requireFork(ctx), DOMAIN_BEACON_ATTESTER, targetEpoch),
      slot,
      epoch: targetEpoch,
      slashing: { kind: "attestation", sourceEpoch, targetEpoch },
    };
  },
  AGGREGATION_SLOT: (body, ctx) => {
    const slot = parseSszJson(ssz.Slot, object(body.aggregation_slot, "aggregation_slot").slot, "aggregation_slot/slot");
    return slotMessage(ssz.Slot.hashTreeRoot(slot), DOMAIN_SELECTION_PROOF, slot, ctx);
  },
  AGGREGATE_AND_PROOF: (body, ctx) => aggregateMessage(body.aggregate_and_proof, ctx),
  AGGREGATE_AND_PROOF_V2: (body, ctx) => aggregateMessage(body.aggregate_and_proof, ctx),
  RANDAO_REVEAL: (body, ctx) => {
    const epoch = parseSszJson(ssz.Epoch, object(body.randao_reveal, "randao_reveal").epoch, "randao_reveal/epoch");
    return {
      objectRoot: ssz.Epoch.hashTreeRoot(epoch),
      domain: forkDomain(requireFork(ctx), DOMAIN_RANDAO, epoch),
      epoch,
    };
  },
  VOLUNTARY_EXIT: (body, ctx) => {
    const { value: exit, root } = readSszJson(ssz.phase0.VoluntaryExit, body.voluntary_exit, "voluntary_exit");
    const epoch = safeUint(exit.epoch, "voluntary_exit/epoch");
    const domain = voluntaryExitDomain(ctx.config, epoch, requireFork(ctx));
    return { objectRoot: root, domain, epoch };
  },
  DEPOSIT: (body) => {
    const deposit = object(body.deposit, "deposit");
    const { root } = readSszJson(ssz.phase0.DepositMessage, deposit, "deposit");
    const version = parseSszJson(ssz.Version, deposit.genesis_fork_version, "deposit/genesis_fork_version");
    return {
      objectRoot: root,
      // Deposits are valid on any fork and before genesis, hence the genesis version and zero root.
      domain: computeDomain(DOMAIN_DEPOSIT, version, ZERO_ROOT),
    };
  },
  SYNC_COMMITTEE_MESSAGE: (body, ctx) => {
    const message = object(body.sync_committee_message, "sync_committee_message");
    const slot = parseSszJson(ssz.Slot, message.slot, "sync_committee_message/slot");
    const blockRoot = parseSszJson(ssz.Root, message.beacon_block_root, "sync_committee_message/beacon_block_root");
    return slotMessage(ssz.Root.hashTreeRoot(blockRoot), DOMAIN_SYNC_COMMITTEE, slot, ctx);
  },
  SYNC_COMMITTEE_SELECTION_PROOF: (body, ctx) => {
    const field = "sync_aggregator_selection_data";
    const { value, root } = readSszJson(ssz.altair.SyncAggregatorSelectionData, body.sync_aggregator_selection_data, field);
    return slotMessage(root, DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, safeUint(value.slot, `${field}/slot`), ctx);
  },
  SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF: (body, ctx) => {
    const field = "contribution_and_proof";
    const { value, root } = readSszJson(ssz.altair.ContributionAndProof, body.contribution_and_proof, field);
    return slotMessage(root, DOMAIN_CONTRIBUTION_AND_PROOF, safeUint(value.contribution.slot, `${field}/contribution/slot`), ctx);
  },
  VALIDATOR_REGISTRATION: (body, ctx) => {
    const { root } = readSszJson(ssz.bellatrix.ValidatorRegistrationV1, body.validator_registration, "validator_registration");
    return {
      objectRoot: root,
      // Builder API: registrations are signed once for every fork, with the genesis version.
      domain: computeDomain(DOMAIN_APPLICATION_BUILDER, ctx.config.GENESIS_FORK_VERSION, ZERO_ROOT),
    };
  },
};

/**
 * The signing root of a Web3Signer eth2 sign request, and what slashing protection must check.
 * Pure: the same config and body give the same plan. Throws InputError naming the field that is
 * wrong, or SIGNING_ROOT_MISMATCH when the caller's signingRoot is not the one the message gives.
 */
export function planSigning(config: ChainForkConfig, body: SignRequest): SigningPlan {
  const request = object(body, "body");
  // Web3Signer reads enums case-insensitively.
  const type = typeof request.type === "string" ? request.type.toUpperCase() : request.type;
  if (typeof type !== "string" || !(SIGN_TYPES as string[]).includes(type)) {
    throw invalid("type", `must be one of ${SIGN_TYPES.join(", ")}, got ${shown(request.type)}`);
  }
  const signType = type as SignType;
  const fork = request.fork_info === undefined ? undefined : cachedForkInfo(config, request.fork_info);
  const rule = RULES[signType] as Rule<SignType>;
  const message = rule(body, { config, fork, type: signType });
  const signingRoot = computeSigningRoot(message.objectRoot, message.domain);

  const claimed = claimedSigningRoot(request);
  if (claimed !== undefined && Buffer.compare(claimed, signingRoot) !== 0) {
    throw new InputError(
      "SIGNING_ROOT_MISMATCH",
      `signingRoot ${toHex(claimed)} does not match the signing root of the ${signType} message, ${toHex(signingRoot)}`,
      { field: "signingRoot", claimed: toHex(claimed), computed: toHex(signingRoot) },
    );
  }
  // Assigned field by field: conditional spreads of a shape that differs by type take V8's slow generic copy.
  const plan: SigningPlan = { type: signType, signingRoot, genesisValidatorsRoot: fork === undefined ? ZERO_ROOT_HEX : rootHexOf(fork) };
  if (message.slashing) plan.slashing = message.slashing;
  if (message.slot !== undefined) plan.slot = message.slot;
  if (message.epoch !== undefined) plan.epoch = message.epoch;
  return plan;
}

/** A kept fork_info's root as hex, encoded once rather than on every request that names it. */
const rootHexes = new WeakMap<RequestFork, string>();
function rootHexOf(fork: RequestFork): string {
  let hex = rootHexes.get(fork);
  if (hex === undefined) rootHexes.set(fork, (hex = toHex(fork.genesisValidatorsRoot)));
  return hex;
}

function blockMessage(
  type: Type<{ slot: number }>,
  json: unknown,
  field: string,
  ctx: Context,
): Message {
  const { value: block, root } = readSszJson(type, json, field);
  const slot = safeUint(block.slot, `${field}/slot`);
  const epoch = epochAtSlot(slot);
  return {
    objectRoot: root,
    domain: forkDomain(requireFork(ctx), DOMAIN_BEACON_PROPOSER, epoch),
    slot,
    epoch,
    slashing: { kind: "block", slot },
  };
}

/**
 * Both aggregate types come in both shapes that Web3Signer reads: wrapped, `{version, data}`, and
 * flat, the AggregateAndProof itself (AGGREGATE_AND_PROOF as it began; AGGREGATE_AND_PROOF_V2 as
 * early Web3Signer releases took it). A version names the SSZ type (from Electra on, with
 * committee_bits; Nimbus sends "electra" for Fulu's, the same type). Without one, the aggregate's
 * shape does: Teku and Lighthouse send Electra aggregates as AGGREGATE_AND_PROOF, older clients
 * the phase0 one, also after Electra, and Web3Signer signs either as sent.
 */
function aggregateMessage(json: unknown, ctx: Context): Message {
  let field = "aggregate_and_proof";
  let message = object(json, field);
  let electra: boolean;
  if (message.version !== undefined || message.data !== undefined) {
    electra = isForkPostElectra(forkOfVersion(message.version, `${field}/version`, ctx.config));
    field = `${field}/data`;
    message = object(message.data, field);
  } else {
    electra = "committee_bits" in object(message.aggregate, `${field}/aggregate`);
  }
  const type = (electra ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof) as Type<phase0.AggregateAndProof>;
  const { value, root } = readSszJson(type, message, field);
  return slotMessage(root, DOMAIN_AGGREGATE_AND_PROOF, safeUint(value.aggregate.data.slot, `${field}/aggregate/data/slot`), ctx);
}

function slotMessage(objectRoot: Uint8Array, domainType: Uint8Array, slot: number, ctx: Context): Message {
  const epoch = epochAtSlot(slot);
  return { objectRoot, domain: forkDomain(requireFork(ctx), domainType, epoch), slot, epoch };
}

/**
 * Nearly every request carries fork_info, and a network has only a few at a time (Lodestar's
 * changes with each epoch), so parsed ones are kept, with the domains computed from them, by their
 * exact JSON text: parsing one, matching it to the schedule and hashing its domain cost about a
 * third of an attestation's signing root. Only well-formed fields are keys (the fixed widths make
 * their concatenation unambiguous); anything else is parsed afresh and refused with its error.
 */
const FORK_INFOS_KEPT = 16;
const forkInfos = new WeakMap<ChainForkConfig, Map<string, RequestFork>>();

function cachedForkInfo(config: ChainForkConfig, json: unknown): RequestFork {
  const key = forkInfoKey(json);
  if (key === undefined) return parseForkInfo(config, json);
  let kept = forkInfos.get(config);
  if (kept === undefined) forkInfos.set(config, (kept = new Map()));
  let fork = kept.get(key);
  if (fork === undefined) {
    fork = parseForkInfo(config, json);
    if (kept.size >= FORK_INFOS_KEPT) kept.delete(kept.keys().next().value!);
    kept.set(key, fork);
  }
  return fork;
}

function forkInfoKey(json: unknown): string | undefined {
  const forkInfo = json as { fork?: { previous_version?: unknown; current_version?: unknown; epoch?: unknown }; genesis_validators_root?: unknown } | null;
  const fork = forkInfo?.fork;
  const gvr = forkInfo?.genesis_validators_root;
  if (typeof fork !== "object" || fork === null) return undefined;
  const { previous_version: previous, current_version: current, epoch } = fork;
  if (typeof previous !== "string" || previous.length !== 10 || typeof current !== "string" || current.length !== 10) return undefined;
  if (typeof gvr !== "string" || gvr.length !== 66 || typeof epoch !== "string") return undefined;
  return previous + current + gvr + epoch;
}

function parseForkInfo(config: ChainForkConfig, json: unknown): RequestFork {
  const forkInfo = object(json, "fork_info");
  const fork = parseSszJson(ssz.phase0.Fork, forkInfo.fork, "fork_info/fork");
  const genesisValidatorsRoot = parseSszJson(
    ssz.Root,
    forkInfo.genesis_validators_root,
    "fork_info/genesis_validators_root",
  );
  return { fork, genesisValidatorsRoot, active: matchFork(config, fork) };
}

function requireFork(ctx: Context): RequestFork {
  if (ctx.fork === undefined) throw invalid("fork_info", `is required for type ${ctx.type}`);
  // The zero root stands for "no chain" in the plan (DEPOSIT, VALIDATOR_REGISTRATION), which the
  // chain check lets through; no chain has it, so a message signed under it is refused here.
  if (ctx.fork.genesisValidatorsRoot.every((byte) => byte === 0)) {
    throw invalid("fork_info/genesis_validators_root", "is zero, the root of no chain");
  }
  return ctx.fork;
}

/** A `version` (any letter case, as Web3Signer reads it) naming a fork the network schedules. */
function forkOfVersion(version: unknown, field: string, config: ChainForkConfig): ForkName {
  const name = typeof version === "string" ? version.toUpperCase() : undefined;
  if (name === undefined || !(VERSIONS as readonly string[]).includes(name)) {
    throw invalid(field, `must be one of ${VERSIONS.join(", ")} (in any letter case), got ${shown(version)}`);
  }
  const fork = name.toLowerCase() as ForkName;
  if (config.forks[fork].epoch === Infinity) {
    throw invalid(field, `is ${name}, which network ${config.CONFIG_NAME} does not schedule`);
  }
  return fork;
}

function claimedSigningRoot(request: Record<string, unknown>): Uint8Array | undefined {
  const camel = request.signingRoot === undefined ? undefined : fromHex(request.signingRoot as string, "signingRoot", 32);
  const snake = request.signing_root === undefined ? undefined : fromHex(request.signing_root as string, "signing_root", 32);
  if (camel !== undefined && snake !== undefined && Buffer.compare(camel, snake) !== 0) {
    throw invalid("signing_root", "differs from signingRoot; send one of them");
  }
  return camel ?? snake;
}
