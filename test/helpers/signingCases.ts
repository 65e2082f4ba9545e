/**
 * Web3Signer eth2 sign requests for mainnet, one or more per message type and fork, each with the
 * signing root it must produce. The expected root is computed here by a path independent of
 * src/signing: the spec's formulas written out with node:crypto's SHA-256, domain types and fork
 * versions as literals from the consensus specs and the mainnet config, and this file's own rule
 * for which fork version applies. Only the roots of large containers (blocks, aggregates) come
 * from the @lodestar/types SSZ library.
 *
 *   compute_signing_root(object, domain) = sha256(hash_tree_root(object) ‖ domain)
 *   compute_domain(type, version, gvr)   = type ‖ sha256(version ‖ 28 zero bytes ‖ gvr)[0:28]
 */
import { createHash } from "node:crypto";
import { BitArray } from "@chainsafe/ssz";
import { ssz } from "@lodestar/types";

export type CaseFork = "phase0" | "altair" | "bellatrix" | "capella" | "deneb" | "electra" | "fulu";

export interface SigningCase {
  name: string;
  type: string;
  /** The fork of the request's fork_info (for DEPOSIT and VALIDATOR_REGISTRATION: the era it stands for). */
  fork: CaseFork;
  body: Record<string, unknown>;
  expectedRoot: Uint8Array;
}

export const MAINNET_GENESIS_VALIDATORS_ROOT = "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95";

/** Mainnet fork schedule (consensus-specs configs/mainnet.yaml). */
export const MAINNET_FORKS: Record<CaseFork, { version: string; epoch: number; previous: string }> = {
  phase0: { version: "0x00000000", epoch: 0, previous: "0x00000000" },
  altair: { version: "0x01000000", epoch: 74240, previous: "0x00000000" },
  bellatrix: { version: "0x02000000", epoch: 144896, previous: "0x01000000" },
  capella: { version: "0x03000000", epoch: 194048, previous: "0x02000000" },
  deneb: { version: "0x04000000", epoch: 269568, previous: "0x03000000" },
  electra: { version: "0x05000000", epoch: 364032, previous: "0x04000000" },
  fulu: { version: "0x06000000", epoch: 411392, previous: "0x05000000" },
};
const FORKS = Object.keys(MAINNET_FORKS) as CaseFork[];
const forkIndex = (fork: CaseFork) => FORKS.indexOf(fork);

/** Domain types, consensus-specs phase0/altair beacon-chain.md and builder-specs. */
export const DOMAIN = {
  BEACON_PROPOSER: "0x00000000",
  BEACON_ATTESTER: "0x01000000",
  RANDAO: "0x02000000",
  DEPOSIT: "0x03000000",
  VOLUNTARY_EXIT: "0x04000000",
  SELECTION_PROOF: "0x05000000",
  AGGREGATE_AND_PROOF: "0x06000000",
  SYNC_COMMITTEE: "0x07000000",
  SYNC_COMMITTEE_SELECTION_PROOF: "0x08000000",
  CONTRIBUTION_AND_PROOF: "0x09000000",
  APPLICATION_BUILDER: "0x00000001",
} as const;

const SLOTS_PER_EPOCH = 32;
const ZERO32 = "0x" + "00".repeat(32);

const bytes = (hex: string) => Buffer.from(hex.slice(2), "hex");
const sha256 = (...parts: Uint8Array[]) => new Uint8Array(createHash("sha256").update(Buffer.concat(parts)).digest());

export function computeDomain(domainType: string, version: string, genesisValidatorsRoot: string): Uint8Array {
  const versionChunk = Buffer.alloc(32);
  bytes(version).copy(versionChunk);
  const forkDataRoot = sha256(versionChunk, bytes(genesisValidatorsRoot));
  return new Uint8Array(Buffer.concat([bytes(domainType), forkDataRoot.subarray(0, 28)]));
}

export function computeSigningRoot(objectRoot: Uint8Array, domain: Uint8Array): Uint8Array {
  return sha256(objectRoot, domain);
}

/** hash_tree_root of a uint64: little-endian, zero-padded to one chunk. */
export function uint64Root(value: number): Uint8Array {
  const chunk = Buffer.alloc(32);
  chunk.writeBigUInt64LE(BigInt(value));
  return new Uint8Array(chunk);
}

/** get_domain with the state's fork taken from fork_info: the previous version before fork.epoch. */
function forkVersionAt(fork: CaseFork, epoch: number): string {
  const f = MAINNET_FORKS[fork];
  return epoch < f.epoch ? f.previous : f.version;
}

function domainAt(domainType: string, fork: CaseFork, epoch: number): Uint8Array {
  return computeDomain(domainType, forkVersionAt(fork, epoch), MAINNET_GENESIS_VALIDATORS_ROOT);
}

export function forkInfo(fork: CaseFork): Record<string, unknown> {
  const f = MAINNET_FORKS[fork];
  return {
    fork: { previous_version: f.previous, current_version: f.version, epoch: String(f.epoch) },
    genesis_validators_root: MAINNET_GENESIS_VALIDATORS_ROOT,
  };
}

/** Deterministic bytes, so that the cases are stable from run to run yet not all zeros. */
function filler(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let off = 0; off < n; off += 32) sha256(Buffer.from(`${seed}/${counter++}`)).slice(0, n - off).forEach((b, i) => (out[off + i] = b));
    return new Uint8Array(out);
  };
}

function realisticBlock(fork: CaseFork, slot: number): { json: unknown; root: Uint8Array; header: unknown } {
  const rand = filler(`block/${fork}/${slot}`);
  const types = ssz[fork] as any;
  const block = types.BeaconBlock.defaultValue();
  block.slot = slot;
  block.proposerIndex = 123456 + forkIndex(fork);
  block.parentRoot = rand(32);
  block.stateRoot = rand(32);
  const body = block.body;
  body.randaoReveal = rand(96);
  body.graffiti = rand(32);
  body.eth1Data = { depositRoot: rand(32), depositCount: sameKind(body.eth1Data.depositCount, 1_000_000 + (slot % 1000)), blockHash: rand(32) };
  const attestation = types.Attestation.defaultValue();
  attestation.data = attestationData(slot - 1, rand);
  attestation.signature = rand(96);
  attestation.aggregationBits = BitArray.fromBoolArray(Array.from({ length: 40 }, (_, i) => i % 4 === 0));
  if (forkIndex(fork) >= forkIndex("electra")) attestation.committeeBits.set(3, true);
  body.attestations = [attestation];
  body.voluntaryExits = [{ message: { epoch: 1000, validatorIndex: 42 }, signature: rand(96) }];
  if (forkIndex(fork) >= forkIndex("altair")) {
    for (let i = 0; i < 512; i += 3) body.syncAggregate.syncCommitteeBits.set(i, true);
    body.syncAggregate.syncCommitteeSignature = rand(96);
  }
  if (forkIndex(fork) >= forkIndex("bellatrix")) {
    const payload = body.executionPayload;
    payload.parentHash = rand(32);
    payload.feeRecipient = rand(20);
    payload.blockHash = rand(32);
    payload.blockNumber = sameKind(payload.blockNumber, 20_000_000 + (slot % 1000));
    payload.gasLimit = sameKind(payload.gasLimit, 36_000_000);
    payload.gasUsed = sameKind(payload.gasUsed, 12_345_678);
    payload.timestamp = sameKind(payload.timestamp, 1606824023 + slot * 12);
    payload.baseFeePerGas = 7n * 10n ** 9n;
    payload.transactions = [rand(120), rand(64)];
  }
  if (forkIndex(fork) >= forkIndex("capella")) {
    const withdrawal = ssz.capella.Withdrawal.defaultValue();
    body.executionPayload.withdrawals = [
      { index: sameKind(withdrawal.index, 9), validatorIndex: 77, address: rand(20), amount: sameKind(withdrawal.amount, 32_000_000_000) },
    ];
  }
  if (forkIndex(fork) >= forkIndex("deneb")) body.blobKzgCommitments = [rand(48)];
  const header = {
    slot,
    proposerIndex: block.proposerIndex,
    parentRoot: block.parentRoot,
    stateRoot: block.stateRoot,
    bodyRoot: types.BeaconBlockBody.hashTreeRoot(body),
  };
  return {
    json: types.BeaconBlock.toJson(block),
    root: types.BeaconBlock.hashTreeRoot(block),
    header: ssz.phase0.BeaconBlockHeader.toJson(header),
  };
}

/** Some uint64 fields are bigint-valued in @lodestar/types, others number-valued. */
function sameKind(example: unknown, value: number): number | bigint {
  return typeof example === "bigint" ? BigInt(value) : value;
}

function attestationData(slot: number, rand: (n: number) => Uint8Array) {
  const epoch = Math.floor(slot / SLOTS_PER_EPOCH);
  return {
    slot,
    index: 0,
    beaconBlockRoot: rand(32),
    source: { epoch: epoch - 1, root: rand(32) },
    target: { epoch, root: rand(32) },
  };
}

function aggregateAndProof(fork: CaseFork, slot: number): { json: unknown; root: Uint8Array } {
  const rand = filler(`aggregate/${fork}/${slot}`);
  const type = (forkIndex(fork) >= forkIndex("electra") ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof) as any;
  const value = type.defaultValue();
  value.aggregatorIndex = 31337;
  value.aggregate.data = attestationData(slot, rand);
  value.aggregate.signature = rand(96);
  value.selectionProof = rand(96);
  value.aggregate.aggregationBits = BitArray.fromBoolArray(Array.from({ length: 24 }, (_, i) => i % 3 !== 1));
  if (forkIndex(fork) >= forkIndex("electra")) value.aggregate.committeeBits.set(5, true);
  return { json: type.toJson(value), root: type.hashTreeRoot(value) };
}

/** A slot `offset` epochs after the fork's first epoch, a few slots into that epoch. */
const slotIn = (fork: CaseFork, epochOffset = 3) => (MAINNET_FORKS[fork].epoch + epochOffset) * SLOTS_PER_EPOCH + 5;
const epochOf = (slot: number) => Math.floor(slot / SLOTS_PER_EPOCH);

/**
 * The cases, in an order that one key can sign through with slashing protection on: block slots
 * never go down (a block and its header share slot and root) and each attestation's source and
 * target are above the previous one's.
 */
export function signingCases(): SigningCase[] {
  const cases: SigningCase[] = [];
  const add = (name: string, type: string, fork: CaseFork, message: Record<string, unknown>, expectedRoot: Uint8Array, withForkInfo = true) =>
    cases.push({ name, type, fork, body: { type, ...(withForkInfo && { fork_info: forkInfo(fork) }), ...message }, expectedRoot });

  for (const fork of FORKS) {
    const version = fork.toUpperCase();
    const slot = slotIn(fork);
    const rand = filler(`${fork}/messages`);

    const block = realisticBlock(fork, slot);
    const blockRoot = computeSigningRoot(block.root, domainAt(DOMAIN.BEACON_PROPOSER, fork, epochOf(slot)));
    add(`BLOCK_V2 ${version} block`, "BLOCK_V2", fork, { beacon_block: { version, block: block.json } }, blockRoot);
    add(`BLOCK_V2 ${version} block_header`, "BLOCK_V2", fork, { beacon_block: { version, block_header: block.header } }, blockRoot);
    if (fork === "phase0") {
      const phase0Block = realisticBlock("phase0", slotIn("phase0", 10));
      add("BLOCK (deprecated) phase0", "BLOCK", "phase0", { block: phase0Block.json },
        computeSigningRoot(phase0Block.root, domainAt(DOMAIN.BEACON_PROPOSER, "phase0", 10)));
    }

    const aggregate = aggregateAndProof(fork, slot);
    add(
      `AGGREGATE_AND_PROOF_V2 ${version}`,
      "AGGREGATE_AND_PROOF_V2",
      fork,
      { aggregate_and_proof: { version, data: aggregate.json } },
      computeSigningRoot(aggregate.root, domainAt(DOMAIN.AGGREGATE_AND_PROOF, fork, epochOf(slot))),
    );

    const data = ssz.phase0.AttestationData.toJson(attestationData(slot, rand));
    add(
      `ATTESTATION ${fork}`,
      "ATTESTATION",
      fork,
      { attestation: data },
      computeSigningRoot(
        ssz.phase0.AttestationData.hashTreeRoot(ssz.phase0.AttestationData.fromJson(data)),
        domainAt(DOMAIN.BEACON_ATTESTER, fork, epochOf(slot)),
      ),
    );

    const epoch = epochOf(slot);
    add(`RANDAO_REVEAL ${fork}`, "RANDAO_REVEAL", fork, { randao_reveal: { epoch: String(epoch) } },
      computeSigningRoot(uint64Root(epoch), domainAt(DOMAIN.RANDAO, fork, epoch)));
    add(`AGGREGATION_SLOT ${fork}`, "AGGREGATION_SLOT", fork, { aggregation_slot: { slot: String(slot) } },
      computeSigningRoot(uint64Root(slot), domainAt(DOMAIN.SELECTION_PROOF, fork, epoch)));

    if (fork !== "phase0") {
      const beaconBlockRoot = rand(32);
      add(`SYNC_COMMITTEE_MESSAGE ${fork}`, "SYNC_COMMITTEE_MESSAGE", fork,
        { sync_committee_message: { beacon_block_root: hex(beaconBlockRoot), slot: String(slot) } },
        computeSigningRoot(beaconBlockRoot, domainAt(DOMAIN.SYNC_COMMITTEE, fork, epoch)));

      // SyncAggregatorSelectionData {slot, subcommittee_index}: two uint64 chunks.
      add(`SYNC_COMMITTEE_SELECTION_PROOF ${fork}`, "SYNC_COMMITTEE_SELECTION_PROOF", fork,
        { sync_aggregator_selection_data: { slot: String(slot), subcommittee_index: "2" } },
        computeSigningRoot(sha256(uint64Root(slot), uint64Root(2)), domainAt(DOMAIN.SYNC_COMMITTEE_SELECTION_PROOF, fork, epoch)));

      const contribution = ssz.altair.ContributionAndProof.defaultValue();
      contribution.aggregatorIndex = 4242;
      contribution.selectionProof = rand(96);
      contribution.contribution = { ...contribution.contribution, slot, beaconBlockRoot, subcommitteeIndex: 3, signature: rand(96) };
      for (let i = 1; i < 128; i += 5) contribution.contribution.aggregationBits.set(i, true);
      add(`SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF ${fork}`, "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF", fork,
        { contribution_and_proof: ssz.altair.ContributionAndProof.toJson(contribution) },
        computeSigningRoot(ssz.altair.ContributionAndProof.hashTreeRoot(contribution), domainAt(DOMAIN.CONTRIBUTION_AND_PROOF, fork, epoch)));
    }

    add(`VOLUNTARY_EXIT ${fork}`, "VOLUNTARY_EXIT", fork, { voluntary_exit: { epoch: String(epoch), validator_index: "1234" } },
      computeSigningRoot(sha256(uint64Root(epoch), uint64Root(1234)), exitDomain(fork, epoch)));

    // A message from the epoch before fork_info's fork is signed with the previous version.
    if (fork !== "phase0") {
      const before = MAINNET_FORKS[fork].epoch - 1;
      add(`RANDAO_REVEAL ${fork} fork_info, epoch before the fork`, "RANDAO_REVEAL", fork, { randao_reveal: { epoch: String(before) } },
        computeSigningRoot(uint64Root(before), domainAt(DOMAIN.RANDAO, fork, before)));
    }
  }

  // Deprecated phase0-only forms.
  for (const fork of ["phase0", "deneb"] as const) {
    const slot = slotIn(fork, 7);
    const aggregate = aggregateAndProof("phase0", slot);
    add(`AGGREGATE_AND_PROOF (deprecated) ${fork}`, "AGGREGATE_AND_PROOF", fork, { aggregate_and_proof: aggregate.json },
      computeSigningRoot(aggregate.root, domainAt(DOMAIN.AGGREGATE_AND_PROOF, fork, epochOf(slot))));
  }

  // Exits across the EIP-7044 boundary: a Capella-era request at Deneb's epoch, and a
  // Fulu-era request for an old epoch (still Capella's version, not the epoch's).
  const denebEpoch = MAINNET_FORKS.deneb.epoch;
  add("VOLUNTARY_EXIT capella fork_info, exit epoch at deneb", "VOLUNTARY_EXIT", "capella",
    { voluntary_exit: { epoch: String(denebEpoch), validator_index: "99" } },
    computeSigningRoot(sha256(uint64Root(denebEpoch), uint64Root(99)), exitDomain("capella", denebEpoch)));
  add("VOLUNTARY_EXIT fulu fork_info, exit epoch in altair", "VOLUNTARY_EXIT", "fulu",
    { voluntary_exit: { epoch: "80000", validator_index: 7 } },
    computeSigningRoot(sha256(uint64Root(80000), uint64Root(7)), exitDomain("fulu", 80000)));
  add("VOLUNTARY_EXIT bellatrix fork_info, exit epoch in altair", "VOLUNTARY_EXIT", "bellatrix",
    { voluntary_exit: { epoch: "80000", validator_index: "7" } },
    computeSigningRoot(sha256(uint64Root(80000), uint64Root(7)), exitDomain("bellatrix", 80000)));

  // Deposits: genesis version of the request, zero genesis_validators_root.
  for (const [name, genesisForkVersion] of [["mainnet", "0x00000000"], ["hoodi", "0x10000910"]] as const) {
    const message = { pubkey: hex(filler(name)(48)), withdrawal_credentials: "0x01" + "00".repeat(11) + "ab".repeat(20), amount: "32000000000" };
    const root = ssz.phase0.DepositMessage.hashTreeRoot(ssz.phase0.DepositMessage.fromJson(message));
    add(`DEPOSIT ${name} genesis version`, "DEPOSIT", "phase0", { deposit: { ...message, genesis_fork_version: genesisForkVersion } },
      computeSigningRoot(root, computeDomain(DOMAIN.DEPOSIT, genesisForkVersion, ZERO32)), false);
  }

  // Validator registration: mainnet's genesis version and a zero root, whatever fork_info says.
  const registration = { fee_recipient: "0x" + "5a".repeat(20), gas_limit: "36000000", timestamp: "1732500000", pubkey: hex(filler("registration")(48)) };
  const registrationRoot = ssz.bellatrix.ValidatorRegistrationV1.hashTreeRoot(ssz.bellatrix.ValidatorRegistrationV1.fromJson(registration));
  const builderDomain = computeDomain(DOMAIN.APPLICATION_BUILDER, MAINNET_FORKS.phase0.version, ZERO32);
  add("VALIDATOR_REGISTRATION without fork_info", "VALIDATOR_REGISTRATION", "bellatrix", { validator_registration: registration },
    computeSigningRoot(registrationRoot, builderDomain), false);
  add("VALIDATOR_REGISTRATION with electra fork_info", "VALIDATOR_REGISTRATION", "electra", { validator_registration: registration },
    computeSigningRoot(registrationRoot, builderDomain));

  // Half the requests also carry the (matching) signing root, under either of its two names.
  cases.forEach((c, i) => {
    if (i % 2 === 1) c.body[i % 4 === 1 ? "signingRoot" : "signing_root"] = hex(c.expectedRoot);
  });
  return cases;
}

/** EIP-7044: from Deneb on, exits use Capella's version; before, the ordinary get_domain rule. */
function exitDomain(fork: CaseFork, exitEpoch: number): Uint8Array {
  const postDeneb = forkIndex(fork) >= forkIndex("deneb") || exitEpoch >= MAINNET_FORKS.deneb.epoch;
  return postDeneb
    ? computeDomain(DOMAIN.VOLUNTARY_EXIT, MAINNET_FORKS.capella.version, MAINNET_GENESIS_VALIDATORS_ROOT)
    : domainAt(DOMAIN.VOLUNTARY_EXIT, fork, exitEpoch);
}

function hex(value: Uint8Array): string {
  return "0x" + Buffer.from(value).toString("hex");
}
