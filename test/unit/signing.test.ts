import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ssz } from "@lodestar/types";
import { InputError } from "../../src/errors.js";
import { createNetworkConfig } from "../../src/signing/network.js";
import { VERSIONS, SIGN_TYPES, type SignRequest } from "../../src/signing/schema.js";
import { planSigning } from "../../src/signing/signingRoot.js";
import { toHex } from "../../src/util/hex.js";
import {
  computeDomain,
  computeSigningRoot,
  DOMAIN,
  forkInfo,
  MAINNET_FORKS,
  MAINNET_GENESIS_VALIDATORS_ROOT,
  signingCases,
  type SigningCase,
} from "../helpers/signingCases.js";

const { config } = createNetworkConfig("mainnet");
const cases = signingCases();
/** The versions mainnet schedules; GLOAS is tested on a devnet config (signingNetwork.test.ts). */
const MAINNET_VERSIONS = VERSIONS.filter((v) => config.forks[v.toLowerCase() as keyof typeof config.forks].epoch !== Infinity);
const plan = (body: unknown) => planSigning(config, body as SignRequest);
const clone = (c: SigningCase): Record<string, any> => {
  const body = structuredClone(c.body);
  delete body.signingRoot;
  delete body.signing_root;
  return body;
};
const caseNamed = (name: string) => {
  const found = cases.find((c) => c.name === name);
  assert.ok(found, `no case named ${name}`);
  return found;
};

/** Asserts an InputError with `code` whose message starts with the field's path. */
function refuses(body: unknown, field: string, code: InputError["code"] = "INVALID_INPUT"): InputError {
  let caught: unknown;
  try {
    plan(body);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof InputError, `expected an InputError for ${field}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(caught.message.startsWith(field + " "), `message "${caught.message}" should start with ${field}`);
  return caught;
}

describe("planSigning: every case of test/helpers/signingCases.ts", () => {
  it("covers every type, every BLOCK_V2 version with block and block_header, every AGGREGATE_AND_PROOF_V2 version", () => {
    assert.equal(cases.length, 83);
    assert.deepEqual(new Set(cases.map((c) => c.type)), new Set(SIGN_TYPES));
    for (const version of MAINNET_VERSIONS) {
      for (const form of ["block", "block_header"]) {
        assert.ok(cases.some((c) => c.type === "BLOCK_V2" && (c.body.beacon_block as any).version === version && form in (c.body.beacon_block as any)));
      }
      assert.ok(cases.some((c) => c.type === "AGGREGATE_AND_PROOF_V2" && (c.body.aggregate_and_proof as any).version === version));
    }
  });

  it("computes the expected signing root for each case", () => {
    let ran = 0;
    for (const c of cases) {
      assert.equal(toHex(plan(c.body).signingRoot), toHex(c.expectedRoot), c.name);
      ran++;
    }
    assert.equal(ran, 83);
  });

  it("computes the same root when fork_info's epoch is the message's, as Lodestar sends it, or any later one", () => {
    // Lodestar's external signer client sends fork.epoch = the epoch of the slot it signs for
    // (seen from @lodestar/validator 1.5.1 against this signer), not the fork's activation epoch.
    let ran = 0;
    for (const c of cases) {
      if (!c.body.fork_info) continue;
      const p = plan(c.body);
      const activation = Number((c.body.fork_info as any).fork.epoch);
      for (const epoch of [p.epoch ?? (p.slot === undefined ? undefined : Math.floor(p.slot / 32)), activation + 1, activation + 100_000]) {
        if (epoch === undefined || epoch < activation) continue;
        const body = structuredClone(c.body) as Record<string, any>;
        body.fork_info.fork.epoch = String(epoch);
        assert.equal(toHex(plan(body).signingRoot), toHex(c.expectedRoot), `${c.name}, fork.epoch ${epoch}`);
        ran++;
      }
    }
    assert.ok(ran > 150, `only ${ran} variants`);
  });

  it("reads aggregates as Web3Signer does: by their slot's fork, with the version in either case", () => {
    // Teku and Lighthouse send Electra and later aggregates as AGGREGATE_AND_PROOF (no version);
    // Nimbus sends AGGREGATE_AND_PROOF_V2 with version "electra", also for Fulu's.
    let ran = 0;
    for (const c of cases.filter((c) => c.type === "AGGREGATE_AND_PROOF_V2")) {
      const v2 = c.body as Record<string, any>;
      const v1 = { type: "AGGREGATE_AND_PROOF", fork_info: v2.fork_info, aggregate_and_proof: v2.aggregate_and_proof.data };
      assert.equal(toHex(plan(v1).signingRoot), toHex(c.expectedRoot), `${c.name} as AGGREGATE_AND_PROOF`);
      const lower = structuredClone(v2);
      lower.aggregate_and_proof.version = lower.aggregate_and_proof.version.toLowerCase();
      assert.equal(toHex(plan(lower).signingRoot), toHex(c.expectedRoot), `${c.name} with a lower-case version`);
      ran++;
    }
    assert.equal(ran, MAINNET_VERSIONS.length);
    const fulu = structuredClone(caseNamed("AGGREGATE_AND_PROOF_V2 FULU"));
    (fulu.body.aggregate_and_proof as any).version = "electra";
    assert.equal(toHex(plan(fulu.body).signingRoot), toHex(fulu.expectedRoot));
    const block = structuredClone(caseNamed("BLOCK_V2 DENEB block_header").body) as Record<string, any>;
    block.beacon_block.version = "deneb";
    assert.equal(toHex(plan(block).signingRoot), toHex(caseNamed("BLOCK_V2 DENEB block_header").expectedRoot));
  });

  it("orders slashable cases so that one key can sign them all in turn", () => {
    let lastBlock = { slot: -1, root: "" };
    let lastAttestation = { source: -1, target: -1 };
    for (const c of cases) {
      const { slashing, signingRoot } = plan(c.body);
      if (slashing?.kind === "block") {
        const root = toHex(signingRoot);
        assert.ok(slashing.slot > lastBlock.slot || (slashing.slot === lastBlock.slot && root === lastBlock.root), c.name);
        lastBlock = { slot: slashing.slot, root };
      } else if (slashing?.kind === "attestation") {
        assert.ok(slashing.sourceEpoch >= lastAttestation.source && slashing.targetEpoch > lastAttestation.target, c.name);
        lastAttestation = { source: slashing.sourceEpoch, target: slashing.targetEpoch };
      }
    }
  });

  it("signs a block and its header alike", () => {
    for (const version of MAINNET_VERSIONS) {
      const block = caseNamed(`BLOCK_V2 ${version} block`);
      const header = caseNamed(`BLOCK_V2 ${version} block_header`);
      assert.deepEqual(plan(block.body).signingRoot, plan(header.body).signingRoot);
    }
  });

  it("signs a blinded block as the block it stands for", () => {
    const c = caseNamed("BLOCK_V2 DENEB block");
    const block = ssz.deneb.BeaconBlock.fromJson((c.body.beacon_block as any).block);
    const { executionPayload, ...bodyFields } = block.body;
    const { transactions, withdrawals, ...payloadFields } = executionPayload;
    const blinded = {
      ...block,
      body: {
        ...bodyFields,
        executionPayloadHeader: {
          ...payloadFields,
          transactionsRoot: ssz.bellatrix.Transactions.hashTreeRoot(transactions),
          withdrawalsRoot: ssz.capella.Withdrawals.hashTreeRoot(withdrawals),
        },
      },
    };
    const body = clone(c);
    body.beacon_block.block = ssz.deneb.BlindedBeaconBlock.toJson(blinded);
    assert.equal(toHex(plan(body).signingRoot), toHex(c.expectedRoot));
  });
});

describe("planSigning: plan fields", () => {
  it("asks slashing protection about blocks and attestations only", () => {
    for (const c of cases) {
      const p = plan(c.body);
      assert.equal(p.type, c.type);
      if (c.type === "BLOCK" || c.type === "BLOCK_V2") {
        const block = c.type === "BLOCK" ? c.body.block : (c.body.beacon_block as any).block ?? (c.body.beacon_block as any).block_header;
        assert.deepEqual(p.slashing, { kind: "block", slot: Number((block as any).slot) }, c.name);
        assert.equal(p.slot, Number((block as any).slot));
      } else if (c.type === "ATTESTATION") {
        const data = c.body.attestation as any;
        assert.deepEqual(p.slashing, {
          kind: "attestation",
          sourceEpoch: Number(data.source.epoch),
          targetEpoch: Number(data.target.epoch),
        });
        assert.equal(p.slot, Number(data.slot));
        assert.equal(p.epoch, Number(data.target.epoch));
      } else {
        assert.equal(p.slashing, undefined, c.name);
      }
    }
  });

  it("reports slot and epoch of the message", () => {
    const randao = plan(caseNamed("RANDAO_REVEAL capella").body);
    assert.equal(randao.epoch, MAINNET_FORKS.capella.epoch + 3);
    assert.equal(randao.slot, undefined);
    const selection = plan(caseNamed("AGGREGATION_SLOT electra").body);
    assert.equal(selection.slot, (MAINNET_FORKS.electra.epoch + 3) * 32 + 5);
    assert.equal(selection.epoch, MAINNET_FORKS.electra.epoch + 3);
  });

  it("carries fork_info's genesis_validators_root, zero without fork_info", () => {
    assert.equal(plan(caseNamed("ATTESTATION deneb").body).genesisValidatorsRoot, MAINNET_GENESIS_VALIDATORS_ROOT);
    assert.equal(plan(caseNamed("DEPOSIT mainnet genesis version").body).genesisValidatorsRoot, "0x" + "00".repeat(32));
    assert.equal(plan(caseNamed("VALIDATOR_REGISTRATION without fork_info").body).genesisValidatorsRoot, "0x" + "00".repeat(32));
  });
});

describe("planSigning: special domains", () => {
  it("signs a validator registration with the genesis version and a zero root, whatever the fork_info", () => {
    const without = plan(caseNamed("VALIDATOR_REGISTRATION without fork_info").body);
    const withInfo = plan(caseNamed("VALIDATOR_REGISTRATION with electra fork_info").body);
    assert.deepEqual(without.signingRoot, withInfo.signingRoot);
  });

  it("signs a deposit with the request's genesis_fork_version and a zero root", () => {
    const c = caseNamed("DEPOSIT mainnet genesis version");
    const body = clone(c);
    body.deposit.genesis_fork_version = "0x10000910";
    body.fork_info = forkInfo("electra");
    const root = ssz.phase0.DepositMessage.hashTreeRoot(ssz.phase0.DepositMessage.fromJson(body.deposit));
    assert.equal(
      toHex(plan(body).signingRoot),
      toHex(computeSigningRoot(root, computeDomain(DOMAIN.DEPOSIT, "0x10000910", "0x" + "00".repeat(32)))),
    );
    assert.notDeepEqual(plan(body).signingRoot, c.expectedRoot);
  });

  it("signs exits from Deneb on with Capella's version (EIP-7044), before with the epoch's", () => {
    const exit = (fork: keyof typeof MAINNET_FORKS, epoch: number) =>
      plan({ type: "VOLUNTARY_EXIT", fork_info: forkInfo(fork), voluntary_exit: { epoch: String(epoch), validator_index: "5" } }).signingRoot;
    const epoch = MAINNET_FORKS.capella.epoch + 10;
    assert.deepEqual(exit("deneb", epoch), exit("capella", epoch));
    assert.deepEqual(exit("electra", epoch), exit("capella", epoch));
    assert.deepEqual(exit("fulu", epoch), exit("capella", epoch));
    const bellatrixEpoch = MAINNET_FORKS.bellatrix.epoch + 1;
    assert.notDeepEqual(exit("bellatrix", bellatrixEpoch), exit("deneb", bellatrixEpoch));
    assert.deepEqual(exit("bellatrix", bellatrixEpoch), exit("capella", bellatrixEpoch));
    // Deneb's rule applies to the exit at Deneb's epoch even if fork_info is still Capella's.
    assert.deepEqual(exit("capella", MAINNET_FORKS.deneb.epoch + 1), exit("deneb", MAINNET_FORKS.deneb.epoch + 1));
  });

  it("signs the epoch before fork_info's fork with the previous version", () => {
    const before = MAINNET_FORKS.electra.epoch - 1;
    const randao = (fork: keyof typeof MAINNET_FORKS) =>
      plan({ type: "RANDAO_REVEAL", fork_info: forkInfo(fork), randao_reveal: { epoch: String(before) } }).signingRoot;
    assert.deepEqual(randao("electra"), randao("deneb"));
  });
});

describe("planSigning: signingRoot", () => {
  const c = caseNamed("ATTESTATION electra");

  it("accepts the matching root under either name", () => {
    for (const key of ["signingRoot", "signing_root"]) {
      assert.deepEqual(plan({ ...clone(c), [key]: toHex(c.expectedRoot) }).signingRoot, c.expectedRoot);
    }
  });

  it("refuses a root that differs from the message's, naming both", () => {
    for (const key of ["signingRoot", "signing_root"]) {
      const claimed = "0x" + "ab".repeat(32);
      const e = refuses({ ...clone(c), [key]: claimed }, "signingRoot", "SIGNING_ROOT_MISMATCH");
      assert.ok(e.message.includes(claimed) && e.message.includes(toHex(c.expectedRoot)), e.message);
    }
  });

  it("refuses the two names with different roots, and a root that is not 32 bytes", () => {
    refuses({ ...clone(c), signingRoot: toHex(c.expectedRoot), signing_root: "0x" + "00".repeat(32) }, "signing_root");
    refuses({ ...clone(c), signingRoot: "0x1234" }, "signingRoot");
  });
});

describe("planSigning: bad input", () => {
  const attestation = caseNamed("ATTESTATION deneb");
  const blockV2 = caseNamed("BLOCK_V2 CAPELLA block");
  const aggregateV2 = caseNamed("AGGREGATE_AND_PROOF_V2 ELECTRA");
  const with_ = (c: SigningCase, mutate: (body: Record<string, any>) => void) => {
    const body = clone(c);
    mutate(body);
    return body;
  };

  it("refuses integers that are negative, fractional, not decimal, or past 2^53", () => {
    for (const slot of ["-1", "1.5", "7abc", "0x10", "", -1, 1.5, "9007199254740992", "18446744073709551616", null]) {
      refuses(with_(attestation, (b) => (b.attestation.slot = slot)), "attestation/slot");
    }
    refuses(with_(attestation, (b) => (b.attestation.target.epoch = "9007199254740993")), "attestation/target/epoch");
    refuses(with_(blockV2, (b) => (b.beacon_block.block.slot = "18446744073709551615")), "beacon_block/block/slot");
    refuses(with_(caseNamed("RANDAO_REVEAL altair"), (b) => (b.randao_reveal.epoch = "99999999999999999")), "randao_reveal/epoch");
  });

  it("refuses hex of the wrong length or alphabet, naming the field deep inside a block", () => {
    refuses(with_(attestation, (b) => (b.attestation.beacon_block_root = "0x12")), "attestation/beacon_block_root");
    refuses(with_(blockV2, (b) => (b.beacon_block.block.body.graffiti = "0x" + "zz".repeat(32))), "beacon_block/block/body/graffiti");
    refuses(
      with_(blockV2, (b) => (b.beacon_block.block.body.execution_payload.fee_recipient = "0x00")),
      "beacon_block/block/body/execution_payload/fee_recipient",
    );
    refuses(
      with_(blockV2, (b) => (b.beacon_block.block.body.attestations[0].data.source.root = "0x")),
      "beacon_block/block/body/attestations/0/data/source/root",
    );
  });

  it("refuses lists over their limit", () => {
    const exits = (n: number) => (b: Record<string, any>) =>
      (b.beacon_block.block.body.voluntary_exits = Array.from({ length: n }, () => b.beacon_block.block.body.voluntary_exits[0]));
    assert.ok(plan(with_(blockV2, exits(16))));
    refuses(with_(blockV2, exits(17)), "beacon_block/block/body/voluntary_exits");
    refuses(with_(blockV2, (b) => (b.beacon_block.block.body.execution_payload.transactions = "0x00")), "beacon_block/block/body/execution_payload/transactions");
  });

  it("takes byte lists up to their limit and refuses one byte more", () => {
    const extraData = (n: number) => (b: Record<string, any>) => (b.beacon_block.block.body.execution_payload.extra_data = "0x" + "ab".repeat(n));
    assert.ok(plan(with_(blockV2, extraData(32))));
    const e = refuses(with_(blockV2, extraData(33)), "beacon_block/block/body/execution_payload/extra_data");
    assert.match(e.message, /ByteList invalid size 33 limit 32/);
  });

  it("refuses missing fields and payloads of the wrong fork", () => {
    refuses(with_(attestation, (b) => delete b.attestation.target), "attestation/target");
    refuses(with_(attestation, (b) => delete b.attestation), "attestation");
    refuses(with_(blockV2, (b) => delete b.beacon_block.block.body.execution_payload.withdrawals), "beacon_block/block/body/execution_payload/withdrawals");
    // An Electra aggregate has committee_bits; a Deneb payload has blob gas fields that Capella's lacks.
    refuses(with_(aggregateV2, (b) => delete b.aggregate_and_proof.data.aggregate.committee_bits), "aggregate_and_proof/data/aggregate/committee_bits");
    refuses(with_(blockV2, (b) => (b.beacon_block.version = "DENEB")), "beacon_block/block/body/execution_payload/blob_gas_used");
  });

  it("refuses unknown types and versions", () => {
    refuses({ ...clone(attestation), type: "ATTESTATION_V9" }, "type");
    refuses(with_(blockV2, (b) => (b.beacon_block.version = "HEZE")), "beacon_block/version");
    // Mainnet schedules no GLOAS yet: a GLOAS block would be signed for no fork of this chain.
    refuses(with_(blockV2, (b) => (b.beacon_block.version = "GLOAS")), "beacon_block/version");
    refuses(with_(aggregateV2, (b) => (b.aggregate_and_proof.version = "gloas")), "aggregate_and_proof/version");
    refuses(with_(aggregateV2, (b) => (b.aggregate_and_proof.version = undefined)), "aggregate_and_proof/version");
    refuses("ATTESTATION", "body");
  });

  it("refuses a BLOCK_V2 with both block and block_header, or neither", () => {
    const header = (caseNamed("BLOCK_V2 CAPELLA block_header").body.beacon_block as any).block_header;
    refuses(with_(blockV2, (b) => (b.beacon_block.block_header = header)), "beacon_block");
    refuses(with_(blockV2, (b) => delete b.beacon_block.block), "beacon_block");
  });

  it("refuses a missing fork_info, and one that is not a mainnet fork", () => {
    refuses(with_(attestation, (b) => delete b.fork_info), "fork_info");
    refuses(with_(attestation, (b) => (b.fork_info.fork.current_version = "0x90000073")), "fork_info/fork/current_version");
    refuses(with_(attestation, (b) => (b.fork_info.fork.previous_version = "0x02000000")), "fork_info/fork/previous_version");
    refuses(with_(attestation, (b) => (b.fork_info.fork.epoch = "269567")), "fork_info/fork/epoch");
    refuses(with_(attestation, (b) => (b.fork_info.genesis_validators_root = "0x00")), "fork_info/genesis_validators_root");
    // The plan's zero root means "no chain", which only DEPOSIT and VALIDATOR_REGISTRATION may sign for.
    const zero = "0x" + "00".repeat(32);
    refuses(with_(caseNamed("RANDAO_REVEAL altair"), (b) => (b.fork_info.genesis_validators_root = zero)), "fork_info/genesis_validators_root");
    const registration = cases.find((c) => c.type === "VALIDATOR_REGISTRATION")!;
    const withZero = { ...clone(registration), fork_info: { ...clone(attestation).fork_info, genesis_validators_root: zero } };
    assert.equal(toHex(plan(withZero).signingRoot), toHex(registration.expectedRoot));
  });
});

/**
 * Every string or number leaf of the message, with its path. Left out: the envelope (type,
 * fork_info, version) and a sync committee message's slot, which the spec does not sign (the
 * message signs the block root; the slot only picks the fork version, the same within a fork).
 */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => {
      const unsigned = (path.length === 0 && ["type", "fork_info"].includes(k)) || k === "version" ||
        (path[0] === "sync_committee_message" && k === "slot");
      return unsigned ? [] : leaves(v, [...path, k]);
    });
  }
  return [path];
}

/** The leaf changed to another valid value of its kind: a decimal moved, a hex bit flipped. */
function mutate(body: Record<string, any>, path: (string | number)[], choice: number): boolean {
  const parent = path.slice(0, -1).reduce((o, k) => o[k], body);
  const key = path[path.length - 1]!;
  const value = parent[key];
  if (typeof value === "number") {
    parent[key] = value + 1 + (choice % 1000);
    return true;
  }
  if (/^(0|[1-9][0-9]*)$/.test(value)) {
    parent[key] = String(BigInt(value) + 1n + BigInt(choice % 1000));
    return true;
  }
  const bytes = Buffer.from(value.slice(2), "hex");
  if (bytes.length === 0) return false;
  // Bits below the last byte's highest set bit, so that a bitlist keeps its length delimiter.
  const last = bytes[bytes.length - 1]!;
  const lastBits = last === 0 ? 8 : 31 - Math.clz32(last);
  const bits = 8 * (bytes.length - 1) + lastBits;
  if (bits === 0) return false;
  const bit = choice % bits;
  bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
  parent[key] = "0x" + bytes.toString("hex");
  return true;
}

describe("planSigning: property", () => {
  it("changing any field of the message changes the signing root", () => {
    const all = cases.map((c) => ({ c, paths: leaves(clone(c)) }));
    assert.ok(all.every(({ paths }) => paths.length > 0));
    let checked = 0;
    fc.assert(
      fc.property(fc.nat(all.length - 1), fc.nat(), fc.nat(), (which, leaf, choice) => {
        const { c, paths } = all[which]!;
        const path = paths[leaf % paths.length]!;
        const body = clone(c);
        if (!mutate(body, path, choice)) return true;
        checked++;
        const root = plan(body).signingRoot;
        assert.notEqual(toHex(root), toHex(c.expectedRoot), `${c.name}: ${path.join("/")}`);
        return true;
      }),
      { numRuns: 400, seed: 20261125 },
    );
    assert.ok(checked > 350, `only ${checked} mutations applied`);
  });
});

describe("planSigning: fork_info kept between requests", () => {
  const attestation = caseNamed("ATTESTATION deneb");

  it("takes a fork_info seen before by all four of its fields, whatever came before", () => {
    const body = clone(attestation);
    const first = plan(body);
    assert.equal(toHex(first.signingRoot), toHex(attestation.expectedRoot));
    // Another chain's root with the same fork: a different domain, so a different signing root.
    const otherChain = structuredClone(body);
    otherChain.fork_info.genesis_validators_root = "0x" + "11".repeat(32);
    const other = plan(otherChain);
    assert.equal(other.genesisValidatorsRoot, "0x" + "11".repeat(32));
    assert.notEqual(toHex(other.signingRoot), toHex(first.signingRoot));
    // The same fork_info with its epoch as a JSON number, and again as text: one signing root.
    const numeric = structuredClone(body);
    numeric.fork_info.fork.epoch = Number(body.fork_info.fork.epoch);
    assert.equal(toHex(plan(numeric).signingRoot), toHex(first.signingRoot));
    assert.equal(toHex(plan(body).signingRoot), toHex(first.signingRoot));
  });

  it("parses each network's fork_info against that network's schedule", () => {
    const body = clone(attestation);
    plan(body);
    const { config: sepolia } = createNetworkConfig("sepolia");
    assert.throws(() => planSigning(sepolia, body as SignRequest), (e: unknown) => e instanceof InputError && e.message.startsWith("fork_info/fork/current_version "));
  });

  it("still computes the right root after more distinct fork_infos than it keeps", () => {
    const body = clone(attestation);
    const epoch = Number(body.fork_info.fork.epoch);
    for (let i = 0; i < 40; i++) {
      const later = structuredClone(body);
      later.fork_info.fork.epoch = String(epoch + i);
      assert.equal(toHex(plan(later).signingRoot), toHex(attestation.expectedRoot));
    }
    const early = structuredClone(body);
    early.fork_info.fork.epoch = String(epoch - 1);
    refuses(early, "fork_info/fork/epoch");
  });
});
