import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chainConfigToJson } from "@lodestar/config";
import { activePreset, presetToJson } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { ConfigError } from "../../src/config/errors.js";
import { InputError } from "../../src/errors.js";
import { requireGenesisTime, requireGenesisValidatorsRoot } from "../../src/config/genesis.js";
import { createNetworkConfig, requiredPreset } from "../../src/signing/network.js";
import type { SignRequest } from "../../src/signing/schema.js";
import { planSigning } from "../../src/signing/signingRoot.js";
import { toHex } from "../../src/util/hex.js";
import { computeDomain, computeSigningRoot, DOMAIN, uint64Root } from "../helpers/signingCases.js";

const dir = mkdtempSync(join(tmpdir(), "signing-network-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
const configFile = (text: string) => {
  const path = join(dir, `config-${fileCount++}.yaml`);
  writeFileSync(path, text);
  return path;
};
const hex = (bytes: Uint8Array) => toHex(bytes);
const sha256 = (...parts: Uint8Array[]) => new Uint8Array(createHash("sha256").update(Buffer.concat(parts)).digest());

function throwsInput(fn: () => unknown, code: InputError["code"], pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

/** A devnet in the style of consensus-specs' config.yaml: comments, quotes, a block value. */
const DEVNET = `# Extends the mainnet preset
PRESET_BASE: 'mainnet'
CONFIG_NAME: "devnet-7"   # quoted, with a comment
GENESIS_FORK_VERSION: 0x10000038
ALTAIR_FORK_VERSION: 0x20000038
ALTAIR_FORK_EPOCH: 0
BELLATRIX_FORK_VERSION: 0x30000038
BELLATRIX_FORK_EPOCH: 0
CAPELLA_FORK_VERSION: 0x40000038
CAPELLA_FORK_EPOCH: 10
DENEB_FORK_VERSION: 0x50000038
DENEB_FORK_EPOCH: 20
ELECTRA_FORK_VERSION: 0x60000038
ELECTRA_FORK_EPOCH: 30
FULU_FORK_VERSION: 0x70000038
FULU_FORK_EPOCH: 18446744073709551615
SECONDS_PER_SLOT: 12
DEPOSIT_CONTRACT_ADDRESS: 0x4242424242424242424242424242424242424242
BLOB_SCHEDULE:
  - EPOCH: 40
    MAX_BLOBS_PER_BLOCK: 12
`;

describe("createNetworkConfig: named networks", () => {
  const expected = {
    mainnet: { genesisVersion: "0x00000000", capella: "0x03000000", gvr: "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95" },
    sepolia: { genesisVersion: "0x90000069", capella: "0x90000072", gvr: "0xd8ea171f3c94aea21ebc42a1ed61052acf3f9209c00e4efbaaddac09ed9b8078" },
    hoodi: { genesisVersion: "0x10000910", capella: "0x40000910", gvr: "0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f" },
    holesky: { genesisVersion: "0x01017000", capella: "0x04017000", gvr: "0x9143aa7c615a7f7115e2b6aac319c03529df8242ae705fba9df39b79c59fa8b1" },
  } as const;

  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: fork versions and genesis_validators_root`, () => {
      const { config, genesisValidatorsRoot } = createNetworkConfig(name);
      assert.equal(config.CONFIG_NAME, name);
      assert.equal(hex(config.GENESIS_FORK_VERSION), want.genesisVersion);
      assert.equal(hex(config.CAPELLA_FORK_VERSION), want.capella);
      assert.equal(genesisValidatorsRoot, want.gvr);
      assert.equal(requiredPreset(name), "mainnet");
    });
  }

  it("holesky: the fork schedule of eth-clients/holesky", () => {
    const { config } = createNetworkConfig("holesky");
    const schedule = config.forksAscendingEpochOrder
      .filter((f) => f.epoch !== Infinity)
      .map((f) => `${f.name}@${f.epoch}=${hex(f.version)}`);
    assert.deepEqual(schedule, [
      "phase0@0=0x01017000",
      "altair@0=0x02017000",
      "bellatrix@0=0x03017000",
      "capella@256=0x04017000",
      "deneb@29696=0x05017000",
      "electra@115968=0x06017000",
      "fulu@165120=0x07017000",
    ]);
  });

  it("uses the network's own Capella and genesis versions for exits and registrations", () => {
    const { config, genesisValidatorsRoot } = createNetworkConfig("holesky");
    const fork_info = {
      fork: { previous_version: "0x05017000", current_version: "0x06017000", epoch: "115968" },
      genesis_validators_root: genesisValidatorsRoot!,
    };
    const exit = planSigning(config, {
      type: "VOLUNTARY_EXIT",
      fork_info,
      voluntary_exit: { epoch: "120000", validator_index: "3" },
    } as SignRequest);
    const exitRoot = computeSigningRoot(
      sha256(uint64Root(120000), uint64Root(3)),
      computeDomain(DOMAIN.VOLUNTARY_EXIT, "0x04017000", genesisValidatorsRoot!),
    );
    assert.equal(hex(exit.signingRoot), hex(exitRoot));

    const registration = { fee_recipient: "0x" + "11".repeat(20), gas_limit: "30000000", timestamp: "1700000000", pubkey: "0x" + "a0".repeat(48) };
    const onHolesky = planSigning(config, { type: "VALIDATOR_REGISTRATION", validator_registration: registration } as SignRequest);
    const onMainnet = planSigning(createNetworkConfig("mainnet").config, { type: "VALIDATOR_REGISTRATION", validator_registration: registration } as SignRequest);
    assert.notEqual(hex(onHolesky.signingRoot), hex(onMainnet.signingRoot));
  });

  it("refuses a minimal or gnosis network in a process that loaded the mainnet preset", () => {
    assert.equal(requiredPreset("minimal"), "minimal");
    throwsInput(() => createNetworkConfig("minimal"), "UNSUPPORTED", /LODESTAR_PRESET=minimal/);
    for (const name of ["gnosis", "chiado"]) {
      assert.equal(requiredPreset(name), "gnosis");
      throwsInput(() => createNetworkConfig(name), "UNSUPPORTED", /uses the gnosis preset .* LODESTAR_PRESET=gnosis/);
    }
  });

  // Each network's published genesis (its genesis.json / beacon API /eth/v1/beacon/genesis).
  const genesisTimes = { mainnet: 1606824023, sepolia: 1655733600, hoodi: 1742213400, holesky: 1695902400 } as const;
  for (const [name, genesisTime] of Object.entries(genesisTimes)) {
    it(`${name}: its genesis time, and a contradicting --genesis-time refused`, () => {
      const network = createNetworkConfig(name);
      assert.equal(network.genesisTime, genesisTime);
      assert.equal(requireGenesisTime(network, "a test"), genesisTime);
      assert.equal(createNetworkConfig(name, { genesisTime }).genesisTime, genesisTime);
      throwsInput(() => createNetworkConfig(name, { genesisTime: genesisTime + 1 }), "INVALID_INPUT", new RegExp(`--genesis-time ${genesisTime + 1} is not that of network ${name} \\(${genesisTime}\\)`));
    });
  }
});

describe("createNetworkConfig: a genesis that is not known", () => {
  it("takes --genesis-time for a config file, and says which flag is missing while it is not given", () => {
    const path = configFile(DEVNET);
    const unknown = createNetworkConfig(path);
    assert.equal(unknown.genesisTime, undefined);
    const refused = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.code === "INVALID_CONFIG" && pattern.test(e.message));
    refused(() => requireGenesisTime(unknown, "the rollback guard"), new RegExp(`network ${path} has no known genesis time, which the rollback guard needs: give it with --genesis-time SECONDS`));
    refused(() => requireGenesisValidatorsRoot(unknown), new RegExp(`network ${path} has no known genesis_validators_root: give it with --genesis-validators-root HEX`));
    const given = createNetworkConfig(path, { genesisTime: 1_750_000_000, genesisValidatorsRoot: "0x" + "07".repeat(32) });
    assert.equal(requireGenesisTime(given, "the rollback guard"), 1_750_000_000);
    assert.equal(requireGenesisValidatorsRoot(given), "0x" + "07".repeat(32));
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      throwsInput(() => createNetworkConfig(path, { genesisTime: bad }), "INVALID_INPUT", /--genesis-time must be whole seconds/);
    }
  });

  it("is not guessed from MIN_GENESIS_TIME + GENESIS_DELAY", () => {
    const path = configFile(DEVNET + "MIN_GENESIS_TIME: 1700000000\nGENESIS_DELAY: 300\n");
    assert.equal(createNetworkConfig(path).genesisTime, undefined);
  });
});

describe("createNetworkConfig: a beacon node's /eth/v1/config/spec as JSON", () => {
  const yaml = createNetworkConfig(configFile(DEVNET)).config;
  // What a beacon node serves: every config and preset value as a string, constants beside them,
  // BLOB_SCHEDULE as a list of objects, inside the API's {"data": …} envelope.
  const spec = {
    ...chainConfigToJson(yaml),
    ...presetToJson(activePreset),
    DOMAIN_BEACON_PROPOSER: "0x00000000",
    BLOB_SCHEDULE: [{ EPOCH: "40", MAX_BLOBS_PER_BLOCK: "12" }],
  };
  const schedule = (c: typeof yaml) => c.forksAscendingEpochOrder.map((f) => `${f.name}@${f.epoch}=${hex(f.version)}`);

  for (const [what, json] of [["the data object", spec], ["the whole answer", { data: spec }]] as const) {
    it(`reads ${what} as the YAML file it came from`, () => {
      const path = configFile(JSON.stringify(json, null, 2));
      assert.equal(requiredPreset(path), "mainnet");
      const { config } = createNetworkConfig(path);
      assert.equal(config.CONFIG_NAME, "devnet-7");
      assert.deepEqual(schedule(config), schedule(yaml));
      assert.equal(config.SECONDS_PER_SLOT, 12);
      assert.equal(hex(config.DEPOSIT_CONTRACT_ADDRESS), "0x4242424242424242424242424242424242424242");
    });
  }

  it("points at the line of a bad value in JSON too", () => {
    const text = JSON.stringify({ ...spec, DENEB_FORK_VERSION: "0x500000" }, null, 1);
    const line = text.split("\n").findIndex((l) => l.includes('"DENEB_FORK_VERSION"')) + 1;
    const path = configFile(text);
    throwsInput(() => createNetworkConfig(path), "INVALID_INPUT", new RegExp(`:${line}: DENEB_FORK_VERSION must be 4 bytes`));
  });
});

describe("createNetworkConfig: the chain's genesis_validators_root", () => {
  it("takes a named network's own, the given one for a config file, and refuses a contradiction", () => {
    const mainnet = createNetworkConfig("mainnet").genesisValidatorsRoot!;
    assert.equal(createNetworkConfig("mainnet", { genesisValidatorsRoot: mainnet.toUpperCase().replace("0X", "0x") }).genesisValidatorsRoot, mainnet);
    throwsInput(
      () => createNetworkConfig("mainnet", { genesisValidatorsRoot: "0x" + "07".repeat(32) }),
      "INVALID_INPUT",
      /--genesis-validators-root 0x0707.* is not that of network mainnet \(0x4b363d/,
    );
    throwsInput(() => createNetworkConfig("mainnet", { genesisValidatorsRoot: "0x07" }), "INVALID_INPUT", /--genesis-validators-root/);
    const path = configFile(DEVNET);
    assert.equal(createNetworkConfig(path).genesisValidatorsRoot, undefined);
    assert.equal(createNetworkConfig(path, { genesisValidatorsRoot: "0x" + "07".repeat(32) }).genesisValidatorsRoot, "0x" + "07".repeat(32));
  });
});

describe("createNetworkConfig: config files", () => {
  it("reads a consensus-specs style config.yaml", () => {
    const path = configFile(DEVNET);
    assert.equal(requiredPreset(path), "mainnet");
    const { config, genesisValidatorsRoot } = createNetworkConfig(path);
    assert.equal(genesisValidatorsRoot, undefined);
    assert.equal(config.CONFIG_NAME, "devnet-7");
    assert.equal(config.forks.electra.epoch, 30);
    assert.equal(hex(config.forks.electra.version), "0x60000038");
    assert.equal(config.forks.fulu.epoch, Infinity);
    // Forks the file leaves out are not scheduled, rather than at mainnet's epochs.
    assert.equal(config.forks.gloas.epoch, Infinity);

    const gvr = "0x" + "77".repeat(32);
    const plan = planSigning(config, {
      type: "RANDAO_REVEAL",
      fork_info: { fork: { previous_version: "0x50000038", current_version: "0x60000038", epoch: "30" }, genesis_validators_root: gvr },
      randao_reveal: { epoch: "29" },
    } as SignRequest);
    assert.equal(hex(plan.signingRoot), hex(computeSigningRoot(uint64Root(29), computeDomain(DOMAIN.RANDAO, "0x50000038", gvr))));
  });

  it("signs Gloas blocks and aggregates on a devnet that schedules Gloas, and refuses them where it is not scheduled", () => {
    const path = configFile(
      DEVNET.replace("FULU_FORK_EPOCH: 18446744073709551615", "FULU_FORK_EPOCH: 40\nGLOAS_FORK_VERSION: 0x80000038\nGLOAS_FORK_EPOCH: 50"),
    );
    const { config } = createNetworkConfig(path);
    const gvr = "0x" + "77".repeat(32);
    const fork_info = { fork: { previous_version: "0x70000038", current_version: "0x80000038", epoch: "50" }, genesis_validators_root: gvr };
    const block = ssz.gloas.BeaconBlock.defaultValue();
    block.slot = 50 * 32 + 3;
    block.proposerIndex = 7;
    const blockRoot = computeSigningRoot(ssz.gloas.BeaconBlock.hashTreeRoot(block), computeDomain(DOMAIN.BEACON_PROPOSER, "0x80000038", gvr));
    const header = { slot: String(block.slot), proposer_index: "7", parent_root: toHex(block.parentRoot), state_root: toHex(block.stateRoot), body_root: toHex(ssz.gloas.BeaconBlockBody.hashTreeRoot(block.body)) };
    for (const [version, form] of [["GLOAS", { block: ssz.gloas.BeaconBlock.toJson(block) }], ["gloas", { block_header: header }]] as const) {
      const plan = planSigning(config, { type: "BLOCK_V2", fork_info, beacon_block: { version, ...form } } as unknown as SignRequest);
      assert.equal(hex(plan.signingRoot), hex(blockRoot), `${version} ${Object.keys(form)[0]}`);
      assert.equal(plan.slashing?.kind === "block" && plan.slashing.slot, block.slot);
    }
    const aggregate = ssz.electra.AggregateAndProof.defaultValue();
    aggregate.aggregate.data.slot = 50 * 32 + 5;
    const aggregateRoot = computeSigningRoot(
      ssz.electra.AggregateAndProof.hashTreeRoot(aggregate),
      computeDomain(DOMAIN.AGGREGATE_AND_PROOF, "0x80000038", gvr),
    );
    const data = ssz.electra.AggregateAndProof.toJson(aggregate);
    const v2 = planSigning(config, { type: "AGGREGATE_AND_PROOF_V2", fork_info, aggregate_and_proof: { version: "GLOAS", data } } as unknown as SignRequest);
    assert.equal(hex(v2.signingRoot), hex(aggregateRoot));

    throwsInput(
      () => planSigning(createNetworkConfig(configFile(DEVNET)).config, { type: "BLOCK_V2", fork_info, beacon_block: { version: "GLOAS", block_header: header } } as unknown as SignRequest),
      "INVALID_INPUT",
      /fork_info\/fork\/current_version 0x80000038 is not a fork version of network devnet-7/,
    );
    const mainnetGloas = { ...fork_info, fork: { previous_version: "0x06000000", current_version: "0x07000000", epoch: "500000" } };
    throwsInput(
      () => planSigning(createNetworkConfig("mainnet").config, { type: "BLOCK_V2", fork_info: mainnetGloas, beacon_block: { version: "GLOAS", block_header: header } } as unknown as SignRequest),
      "INVALID_INPUT",
      /fork_info\/fork\/current_version 0x07000000 is gloas, which network mainnet does not schedule/,
    );
  });

  it("skips schedules written inline", () => {
    const path = configFile(DEVNET.replace(/^BLOB_SCHEDULE:\n(  .*\n)+/m, "BLOB_SCHEDULE: [{ EPOCH: 40, MAX_BLOBS_PER_BLOCK: 12 }]\n"));
    assert.equal(createNetworkConfig(path).config.forks.electra.epoch, 30);
  });

  it("leaves out a fork the file does not mention", () => {
    const path = configFile(DEVNET.replace(/^(FULU_FORK_VERSION|FULU_FORK_EPOCH):.*$/gm, ""));
    assert.equal(createNetworkConfig(path).config.forks.fulu.epoch, Infinity);
  });

  const bad: Array<[string, string, RegExp]> = [
    ["garbage line", DEVNET + "this is not yaml\n", /:22: /],
    ["key set twice", DEVNET + "CAPELLA_FORK_EPOCH: 11\n", /:22: Map keys must be unique/],
    ["a list at the top", "- PRESET_BASE: mainnet\n", /:1: expected KEY: value pairs/],
    ["3-byte version", DEVNET.replace("DENEB_FORK_VERSION: 0x50000038", "DENEB_FORK_VERSION: 0x500000"), /:11: DENEB_FORK_VERSION must be 4 bytes/],
    ["epoch not a number", DEVNET.replace("DENEB_FORK_EPOCH: 20", "DENEB_FORK_EPOCH: twenty"), /:12: DENEB_FORK_EPOCH must be a number/],
    ["epochs going backwards", DEVNET.replace("DENEB_FORK_EPOCH: 20", "DENEB_FORK_EPOCH: 5"), /DENEB_FORK_EPOCH 5 is before the previous fork's epoch 10/],
    ["two forks, one version", DEVNET.replace("ELECTRA_FORK_VERSION: 0x60000038", "ELECTRA_FORK_VERSION: 0x50000038"), /ELECTRA_FORK_VERSION 0x50000038 is also DENEB's version/],
    ["epoch without version", DEVNET.replace("ELECTRA_FORK_VERSION: 0x60000038\n", ""), /ELECTRA_FORK_EPOCH is set but ELECTRA_FORK_VERSION is not/],
    ["no PRESET_BASE", DEVNET.replace("PRESET_BASE: 'mainnet'\n", ""), /PRESET_BASE is missing/],
    ["unknown preset", DEVNET.replace("PRESET_BASE: 'mainnet'", "PRESET_BASE: 'custom'"), /:2: PRESET_BASE must be one of mainnet, minimal, gnosis, got custom/],
    ["another preset's SLOTS_PER_EPOCH", DEVNET + "SLOTS_PER_EPOCH: 16\n", /:22: SLOTS_PER_EPOCH is 16, but the mainnet preset has 32/],
    ["no genesis version", DEVNET.replace("GENESIS_FORK_VERSION: 0x10000038\n", ""), /GENESIS_FORK_VERSION is missing/],
  ];
  for (const [what, text, pattern] of bad) {
    it(`refuses a file with ${what}`, () => {
      const path = configFile(text);
      throwsInput(() => createNetworkConfig(path), "INVALID_INPUT", new RegExp(`config file ${path}.*` + pattern.source));
    });
  }

  it("refuses a path that is neither a network nor a file", () => {
    throwsInput(() => createNetworkConfig(join(dir, "missing.yaml")), "INVALID_INPUT", /is neither one of mainnet, hoodi, holesky, sepolia, gnosis, chiado, minimal nor an existing config file/);
    throwsInput(() => requiredPreset("goerli"), "INVALID_INPUT", /goerli is neither/);
  });

  it("says a minimal-preset file needs LODESTAR_PRESET=minimal", () => {
    const path = configFile(DEVNET.replace("PRESET_BASE: 'mainnet'", "PRESET_BASE: minimal"));
    assert.equal(requiredPreset(path), "minimal");
    throwsInput(() => createNetworkConfig(path), "UNSUPPORTED", /uses the minimal preset .* LODESTAR_PRESET=minimal/);
  });

  it("lets a process pick the preset with requiredPreset, then compute epochs with minimal's 8 slots", () => {
    const path = configFile(
      "PRESET_BASE: minimal\nCONFIG_NAME: mini\nGENESIS_FORK_VERSION: 0x00000009\nALTAIR_FORK_VERSION: 0x01000009\nALTAIR_FORK_EPOCH: 3\n",
    );
    const gvr = "0x" + "42".repeat(32);
    const body = {
      type: "AGGREGATION_SLOT",
      fork_info: { fork: { previous_version: "0x00000009", current_version: "0x01000009", epoch: "3" }, genesis_validators_root: gvr },
      aggregation_slot: { slot: "28" },
    };
    const module = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    // What the CLI entry point does: requiredPreset before anything has imported @lodestar/params.
    const script = `
      const { requiredPreset } = await import(${module("../../src/signing/preset.ts")});
      process.env.LODESTAR_PRESET = requiredPreset(${JSON.stringify(path)});
      const { createNetworkConfig } = await import(${module("../../src/signing/network.ts")});
      const { planSigning } = await import(${module("../../src/signing/signingRoot.ts")});
      const { toHex } = await import(${module("../../src/util/hex.ts")});
      let mainnet = "accepted";
      try { createNetworkConfig("mainnet"); } catch (e) { mainnet = e.code; }
      const plan = planSigning(createNetworkConfig(${JSON.stringify(path)}).config, ${JSON.stringify(body)});
      console.log(JSON.stringify({ root: toHex(plan.signingRoot), epoch: plan.epoch, mainnet }));`;
    const env = { ...process.env };
    delete env.LODESTAR_PRESET;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      env,
      encoding: "utf8",
    });
    const result = JSON.parse(out.trim().split("\n").pop()!);
    // Slot 28 is in epoch 3 with 8 slots per epoch (Altair's version), in epoch 0 with 32 (genesis version).
    assert.deepEqual(result, {
      root: hex(computeSigningRoot(uint64Root(28), computeDomain(DOMAIN.SELECTION_PROOF, "0x01000009", gvr))),
      epoch: 3,
      mainnet: "UNSUPPORTED",
    });
  });
});
