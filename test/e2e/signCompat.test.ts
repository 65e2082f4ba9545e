/**
 * Requests that Web3Signer accepts, each signed over HTTP and verified with blst against a root
 * computed here independently: uint64 values past 2^53 (as decimal strings and as JSON numbers,
 * with @lodestar/types' bigint-valued types), `type` in any letter case, a pubkey without 0x, both
 * aggregate types in both shapes, and bodies with no or a non-JSON Content-Type.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { BitArray, ContainerType } from "@chainsafe/ssz";
import { ssz } from "@lodestar/types";
import { startTestSigner } from "../helpers/signer.js";
import { computeDomain, computeSigningRoot, DOMAIN, forkInfo, MAINNET_FORKS, MAINNET_GENESIS_VALIDATORS_ROOT } from "../helpers/signingCases.js";

const GVR = MAINNET_GENESIS_VALIDATORS_ROOT;
const ZERO32 = "0x" + "00".repeat(32);
const FULU = MAINNET_FORKS.fulu;
const fuluSlot = (FULU.epoch + 5) * 32 + 3;
const hex = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex");
const bytes = (byte: number, n: number) => new Uint8Array(n).fill(byte);
const domainAt = (type: string, version: string) => computeDomain(type, version, GVR);

/** JSON text in which each `raw(n)` stands as the bare JSON number n, digits as written. */
const RAW = "__raw__";
const raw = (digits: string) => `${RAW}${digits}`;
const jsonText = (value: unknown) => JSON.stringify(value).replace(new RegExp(`"${RAW}([0-9]+)"`, "g"), "$1");

/** ValidatorRegistrationV1 with bigint-valued gas_limit and timestamp (@lodestar/types' holds numbers). */
const ValidatorRegistrationBigint = new ContainerType(
  { feeRecipient: ssz.ExecutionAddress, gasLimit: ssz.UintBn64, timestamp: ssz.UintBn64, pubkey: ssz.BLSPubkey },
  { typeName: "ValidatorRegistrationBigint", jsonCase: "eth2" },
);

/** BeaconBlockHeader with a bigint-valued proposer_index too (@lodestar/types' Bigint variant has only the slot). */
const BeaconBlockHeaderBigint = new ContainerType(
  { slot: ssz.UintBn64, proposerIndex: ssz.UintBn64, parentRoot: ssz.Root, stateRoot: ssz.Root, bodyRoot: ssz.Root },
  { typeName: "BeaconBlockHeaderBigint", jsonCase: "eth2" },
);

interface Case {
  name: string;
  /** Request body, as JSON text. */
  text: string;
  expectedRoot: Uint8Array;
  contentType?: string | null;
  bareKey?: boolean;
}

function cases(pubkey: string): Case[] {
  const out: Case[] = [];
  const add = (name: string, body: unknown, expectedRoot: Uint8Array, extra: Partial<Case> = {}) =>
    out.push({ name, text: jsonText(body), expectedRoot, ...extra });

  // Web3Signer's OpenAPI BLOCK_V2 examples: proposer_index 4666673844721362956, past 2^53.
  const bellatrixSlot = (MAINNET_FORKS.bellatrix.epoch + 2) * 32 + 1;
  const header = { slot: BigInt(bellatrixSlot), proposerIndex: 4666673844721362956n, parentRoot: bytes(1, 32), stateRoot: bytes(2, 32), bodyRoot: bytes(3, 32) };
  const headerRoot = BeaconBlockHeaderBigint.hashTreeRoot(header);
  const bellatrixDomain = domainAt(DOMAIN.BEACON_PROPOSER, MAINNET_FORKS.bellatrix.version);
  add("BLOCK_V2 BELLATRIX block_header, proposer_index as a decimal string", {
    type: "BLOCK_V2",
    fork_info: forkInfo("bellatrix"),
    beacon_block: { version: "BELLATRIX", block_header: BeaconBlockHeaderBigint.toJson(header) },
  }, computeSigningRoot(headerRoot, bellatrixDomain));

  // A full Capella block whose proposer_index and a withdrawal's amount are bare JSON numbers past 2^53.
  const capellaSlot = (MAINNET_FORKS.capella.epoch + 2) * 32 + 1;
  const block = ssz.capella.BeaconBlock.defaultValue();
  block.slot = capellaSlot;
  block.parentRoot = bytes(4, 32);
  block.body.executionPayload.withdrawals = [{ index: 5, validatorIndex: 6, address: bytes(7, 20), amount: 9007199254740993n }];
  const blockJson = ssz.capella.BeaconBlock.toJson(block) as Record<string, any>;
  blockJson.proposer_index = raw("4666673844721362956");
  blockJson.body.execution_payload.withdrawals[0].amount = raw("9007199254740993");
  const blockRoot = BeaconBlockHeaderBigint.hashTreeRoot({
    slot: BigInt(capellaSlot),
    proposerIndex: 4666673844721362956n,
    parentRoot: block.parentRoot,
    stateRoot: block.stateRoot,
    bodyRoot: ssz.capella.BeaconBlockBody.hashTreeRoot(block.body),
  });
  add("BLOCK_V2 CAPELLA block, proposer_index and a withdrawal amount as JSON numbers", {
    type: "BLOCK_V2",
    fork_info: forkInfo("capella"),
    beacon_block: { version: "CAPELLA", block: blockJson },
  }, computeSigningRoot(blockRoot, domainAt(DOMAIN.BEACON_PROPOSER, MAINNET_FORKS.capella.version)));

  const registration = { feeRecipient: bytes(8, 20), gasLimit: 18446744073709551615n, timestamp: 9007199254740993n, pubkey: Buffer.from(pubkey.slice(2), "hex") };
  const registrationJson = ValidatorRegistrationBigint.toJson(registration) as Record<string, unknown>;
  registrationJson.timestamp = raw("9007199254740993");
  add("VALIDATOR_REGISTRATION, gas_limit 2^64-1 and timestamp 2^53+1 as a JSON number", {
    type: "VALIDATOR_REGISTRATION",
    validator_registration: registrationJson,
  }, computeSigningRoot(ValidatorRegistrationBigint.hashTreeRoot(registration), computeDomain(DOMAIN.APPLICATION_BUILDER, "0x00000000", ZERO32)));

  const attestation = {
    slot: BigInt(fuluSlot),
    index: 18446744073709551615n,
    beaconBlockRoot: bytes(9, 32),
    source: { epoch: BigInt(FULU.epoch + 4), root: bytes(10, 32) },
    target: { epoch: BigInt(FULU.epoch + 5), root: bytes(11, 32) },
  };
  const attestationJson = ssz.phase0.AttestationDataBigint.toJson(attestation) as Record<string, unknown>;
  attestationJson.index = raw("18446744073709551615");
  add("ATTESTATION, index 2^64-1 as a JSON number, type in lower case", {
    type: "attestation",
    fork_info: forkInfo("fulu"),
    attestation: attestationJson,
  }, computeSigningRoot(ssz.phase0.AttestationDataBigint.hashTreeRoot(attestation), domainAt(DOMAIN.BEACON_ATTESTER, FULU.version)));

  const fuluBlock = { slot: BigInt(fuluSlot), proposerIndex: 12n, parentRoot: bytes(12, 32), stateRoot: bytes(13, 32), bodyRoot: bytes(14, 32) };
  add("block_v2 in lower case, version Fulu in mixed case", {
    type: "block_v2",
    fork_info: forkInfo("fulu"),
    beacon_block: { version: "Fulu", block_header: BeaconBlockHeaderBigint.toJson(fuluBlock) },
  }, computeSigningRoot(BeaconBlockHeaderBigint.hashTreeRoot(fuluBlock), domainAt(DOMAIN.BEACON_PROPOSER, FULU.version)));

  const randaoRoot = computeSigningRoot(ssz.Epoch.hashTreeRoot(FULU.epoch + 5), domainAt(DOMAIN.RANDAO, FULU.version));
  const randao = { type: "Randao_Reveal", fork_info: forkInfo("fulu"), randao_reveal: { epoch: String(FULU.epoch + 5) } };
  add("Randao_Reveal in mixed case", randao, randaoRoot);
  add("a pubkey without 0x in the path", { ...randao, type: "RANDAO_REVEAL" }, randaoRoot, { bareKey: true });
  add("no Content-Type", { ...randao, type: "RANDAO_REVEAL" }, randaoRoot, { contentType: null });
  add("Content-Type text/plain", { ...randao, type: "RANDAO_REVEAL" }, randaoRoot, { contentType: "text/plain" });
  add("Content-Type application/octet-stream", { ...randao, type: "RANDAO_REVEAL" }, randaoRoot, { contentType: "application/octet-stream" });

  // Aggregates at a Fulu slot: the phase0 AggregateAndProof (older clients send it after Electra
  // too) and the Electra one, flat and wrapped, under both type names.
  const aggregateDomain = domainAt(DOMAIN.AGGREGATE_AND_PROOF, FULU.version);
  const phase0Aggregate = ssz.phase0.AggregateAndProof.defaultValue();
  phase0Aggregate.aggregatorIndex = 15;
  phase0Aggregate.aggregate.data = { ...ssz.phase0.AttestationData.defaultValue(), slot: fuluSlot, beaconBlockRoot: bytes(15, 32) };
  phase0Aggregate.aggregate.aggregationBits = BitArray.fromBoolArray([true, false, true]);
  phase0Aggregate.aggregate.signature = bytes(0xc0, 96);
  phase0Aggregate.selectionProof = bytes(0xc0, 96);
  const phase0Root = computeSigningRoot(ssz.phase0.AggregateAndProof.hashTreeRoot(phase0Aggregate), aggregateDomain);
  add("AGGREGATE_AND_PROOF, the phase0 AggregateAndProof at a Fulu slot", {
    type: "AGGREGATE_AND_PROOF",
    fork_info: forkInfo("fulu"),
    aggregate_and_proof: ssz.phase0.AggregateAndProof.toJson(phase0Aggregate),
  }, phase0Root);
  const electraAggregate = ssz.electra.AggregateAndProof.defaultValue();
  Object.assign(electraAggregate, { aggregatorIndex: 16, selectionProof: phase0Aggregate.selectionProof });
  Object.assign(electraAggregate.aggregate, { data: phase0Aggregate.aggregate.data, aggregationBits: phase0Aggregate.aggregate.aggregationBits, signature: phase0Aggregate.aggregate.signature });
  electraAggregate.aggregate.committeeBits.set(2, true);
  const electraJson = ssz.electra.AggregateAndProof.toJson(electraAggregate);
  const electraRoot = computeSigningRoot(ssz.electra.AggregateAndProof.hashTreeRoot(electraAggregate), aggregateDomain);
  add("AGGREGATE_AND_PROOF with the {version, data} wrapper", {
    type: "AGGREGATE_AND_PROOF",
    fork_info: forkInfo("fulu"),
    aggregate_and_proof: { version: "FULU", data: electraJson },
  }, electraRoot);
  add("AGGREGATE_AND_PROOF_V2 flat, as early Web3Signer releases took it", {
    type: "AGGREGATE_AND_PROOF_V2",
    fork_info: forkInfo("fulu"),
    aggregate_and_proof: electraJson,
  }, electraRoot);
  return out;
}

describe("sign endpoint: requests Web3Signer accepts", () => {
  it("signs each, and blst verifies the signature against a root computed independently", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1 });
    const key = signer.keys[0]!;
    const publicKey = PublicKey.fromBytes(key.pubkeyBytes);
    const all = cases(key.pubkey);
    const failures: string[] = [];
    for (const c of all) {
      const path = c.bareKey ? key.pubkey.slice(2).toUpperCase() : key.pubkey;
      const headers: Record<string, string> = { accept: "application/json" };
      if (c.contentType !== null) headers["content-type"] = c.contentType ?? "application/json";
      // A Uint8Array body makes fetch send no Content-Type of its own.
      const res = await fetch(`${signer.url}/api/v1/eth2/sign/${path}`, { method: "POST", headers, body: new TextEncoder().encode(c.text) });
      const text = await res.text();
      if (res.status !== 200) {
        failures.push(`${c.name}: ${res.status} ${text}`);
        continue;
      }
      const { signature } = JSON.parse(text) as { signature: string };
      if (!verify(c.expectedRoot, publicKey, Signature.fromBytes(Buffer.from(signature.slice(2), "hex")))) {
        failures.push(`${c.name}: the signature does not verify against ${hex(c.expectedRoot)}`);
      }
    }
    // Every case is tried, so that a failure lists all that fail.
    assert.deepEqual(failures, []);
    assert.equal(all.length, 13);
  });
});
