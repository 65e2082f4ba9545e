import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { deriveKeyPair } from "../../src/bls/keyPair.js";
import { LocalSigningKeys } from "../../src/bls/localKeys.js";
import { createDepositData } from "../../src/keys/depositData.js";
import { createVoluntaryExit } from "../../src/keys/exit.js";
import { keyNetwork } from "../../src/keys/network.js";
import type { SignRequest } from "../../src/signing/schema.js";
import { planSigning } from "../../src/signing/signingRoot.js";
import { toHex } from "../../src/util/hex.js";
import { randomKey, tempDir, vectorsUrl } from "../helpers/keysFixtures.js";
import { networkFile } from "../helpers/networks.js";

// SSZ hash_tree_root and the signing-domain formulas of consensus-specs, written out independently
// of @chainsafe/ssz: every container here has at most four 32-byte leaves.
const H = (...parts: Uint8Array[]) => new Uint8Array(createHash("sha256").update(Buffer.concat(parts)).digest());
const Z = new Uint8Array(32);
const chunk = (b: Uint8Array) => {
  const out = new Uint8Array(32);
  out.set(b);
  return out;
};
const uint64 = (n: number) => {
  const out = new Uint8Array(32);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
};
const bytes48Root = (b: Uint8Array) => H(b.subarray(0, 32), chunk(b.subarray(32)));
const bytes96Root = (b: Uint8Array) => H(H(b.subarray(0, 32), b.subarray(32, 64)), H(b.subarray(64), Z));
const computeDomain = (domainType: number[], forkVersion: Uint8Array, gvr: Uint8Array) => {
  const forkDataRoot = H(chunk(forkVersion), gvr); // ForkData{current_version, genesis_validators_root}
  return Uint8Array.from([...domainType, ...forkDataRoot.subarray(0, 28)]);
};
const signingRoot = (objectRoot: Uint8Array, domain: Uint8Array) => H(objectRoot, domain); // SigningData
const DOMAIN_DEPOSIT = [0x03, 0, 0, 0];
const DOMAIN_VOLUNTARY_EXIT = [0x04, 0, 0, 0];
const unhex = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ""), "hex"));

describe("deposit data", () => {
  const address = "0x" + "ab".repeat(20);
  const networks = [
    keyNetwork("mainnet"),
    keyNetwork("hoodi"),
    keyNetwork("holesky"),
    { name: "devnet-7", genesisForkVersion: unhex("0x10000038") },
  ];
  for (const network of networks) {
    for (const [type, amount] of [["0x01", 32e9], ["0x02", 2048e9]] as const) {
      it(`${network.name}, ${type} credentials, ${amount} gwei: roots and signature recomputed independently`, async () => {
        const keys = new LocalSigningKeys();
        const key = randomKey();
        await keys.add(key);
        const d = await createDepositData({ keys, pubkey: key.pubkey, withdrawalType: type, withdrawalAddress: address, amountGwei: amount, network });

        const pubkey = unhex(d.pubkey);
        const wc = unhex(d.withdrawal_credentials);
        assert.equal(d.pubkey, key.pubkey.slice(2));
        assert.equal(d.withdrawal_credentials, type.slice(2) + "00".repeat(11) + "ab".repeat(20));
        assert.equal(d.amount, amount);
        assert.equal(d.fork_version, Buffer.from(network.genesisForkVersion).toString("hex"));
        assert.equal(d.network_name, network.name);
        assert.match(d.deposit_cli_version, /^\d+\.\d+\.\d+$/);

        // DepositMessage{pubkey, withdrawal_credentials, amount}: three leaves padded to four.
        const messageRoot = H(H(bytes48Root(pubkey), wc), H(uint64(amount), Z));
        assert.equal(d.deposit_message_root, Buffer.from(messageRoot).toString("hex"));
        // DepositData{pubkey, withdrawal_credentials, amount, signature}.
        const signature = unhex(d.signature);
        const dataRoot = H(H(bytes48Root(pubkey), wc), H(uint64(amount), bytes96Root(signature)));
        assert.equal(d.deposit_data_root, Buffer.from(dataRoot).toString("hex"));
        // Deposits use the genesis fork version and a zero genesis_validators_root.
        const root = signingRoot(messageRoot, computeDomain(DOMAIN_DEPOSIT, network.genesisForkVersion, Z));
        assert.ok(verify(root, PublicKey.fromBytes(pubkey), Signature.fromBytes(signature, true)));
      });
    }
  }

  it("reproduces staking-deposit-cli's output for the abandon…about mnemonic, validator 0", async () => {
    // Output of staking-deposit-cli (deposit_cli_version 2.8.0) for m/12381/3600/0/0/0 of the
    // well-known test mnemonic, as quoted in a public repository; BLS signatures are deterministic.
    const paths = JSON.parse(await readFile(vectorsUrl("eip2333/eip2334-paths.json"), "utf8")) as {
      mnemonic?: string;
      path: string;
      secret_hex: string;
    }[];
    const v0 = paths.find((p) => p.mnemonic && p.path === "m/12381/3600/0/0/0")!;
    const keys = new LocalSigningKeys();
    const pubkey = await keys.add(deriveKeyPair(unhex(v0.secret_hex)));
    const d = await createDepositData({
      keys,
      pubkey,
      withdrawalType: "0x01",
      withdrawalAddress: "0xf93ee4cf8c6c40b329b0c0626f28333c132cf241",
      network: { name: "devnet", genesisForkVersion: unhex("10000038") },
    });
    assert.deepEqual(d, {
      pubkey: "b3e445d43871965d890a398f719348a1405ac72e35b92727cc570026f54471af7ea7b2040622a8fd0b5bfb2a209b5911",
      withdrawal_credentials: "010000000000000000000000f93ee4cf8c6c40b329b0c0626f28333c132cf241",
      amount: 32000000000,
      signature:
        "999997d98b08c3513bf2722a6e62fce6824854caf22bfff43fe942f29ea2061a611d10c6bdb9e4cec73d7dfbfed9ed6a0cda76bd05b6c0dc9951238d7d7ae2e201014502fc95e12a7e0eb20539309a3c06e03d76305cf7f9c6a8b39e2f278e04",
      deposit_message_root: "524546181f83c9e0adf68da0da61ae6a079c8fab95d29514c4911672cb18d51d",
      deposit_data_root: "425f817e7ed0aad4e9e729c9a064ab5666d22d04681f89ffc33e85ea7a8a32ae",
      fork_version: "10000038",
      network_name: "devnet",
      deposit_cli_version: "2.8.0",
    });
  });

  it("refuses amounts outside the credential type's range, bad addresses, unknown keys", async () => {
    const keys = new LocalSigningKeys();
    const key = randomKey();
    await keys.add(key);
    const base = { keys, pubkey: key.pubkey, withdrawalAddress: address, network: keyNetwork("mainnet") };
    await assert.rejects(createDepositData({ ...base, withdrawalType: "0x01", amountGwei: 33e9 }), /from 1000000000 to 32000000000/);
    await assert.rejects(createDepositData({ ...base, withdrawalType: "0x02", amountGwei: 2049e9 }), /to 2048000000000/);
    await assert.rejects(createDepositData({ ...base, withdrawalType: "0x01", amountGwei: 0.5e9 }), { code: "INVALID_INPUT" });
    await assert.rejects(createDepositData({ ...base, withdrawalType: "0x01", withdrawalAddress: "0x1234" }), /must be 20 bytes/);
    await assert.rejects(createDepositData({ ...base, withdrawalType: "0x01", pubkey: randomKey().pubkey }), /no key loaded/);
  });
});

describe("voluntary exit", () => {
  for (const name of ["mainnet", "hoodi", "holesky"]) {
    it(`${name}: signed under the Capella fork version (EIP-7044), verified independently`, async () => {
      const network = keyNetwork(name);
      const keys = new LocalSigningKeys();
      const key = randomKey();
      await keys.add(key);
      const exit = await createVoluntaryExit({ keys, pubkey: key.pubkey, validatorIndex: 123456, epoch: 300000, network });
      assert.deepEqual(exit.message, { epoch: "300000", validator_index: "123456" });
      // VoluntaryExit{epoch, validator_index}: two leaves.
      const objectRoot = H(uint64(300000), uint64(123456));
      const domain = computeDomain(DOMAIN_VOLUNTARY_EXIT, network.config.CAPELLA_FORK_VERSION, network.genesisValidatorsRoot);
      const sig = Signature.fromBytes(unhex(exit.signature), true);
      assert.ok(verify(signingRoot(objectRoot, domain), PublicKey.fromHex(key.pubkey), sig));
      // Not under the genesis fork version: that would be a pre-Deneb exit, invalid today.
      const genesisDomain = computeDomain(DOMAIN_VOLUNTARY_EXIT, network.genesisForkVersion, network.genesisValidatorsRoot);
      assert.ok(!verify(signingRoot(objectRoot, genesisDomain), PublicKey.fromHex(key.pubkey), sig));
    });
  }

  // The exit command and a VOLUNTARY_EXIT sign request share one domain rule: an exit made by the
  // command verifies under the signing root the signer computes for the fork_info a beacon node
  // would send when the exit can first be included. Mainnet's clock is set to each era in turn.
  const mainnet = keyNetwork("mainnet");
  const epochSeconds = mainnet.config.SECONDS_PER_SLOT * 32;
  const cases: Array<[string, number, number, string]> = [
    ["clock in Altair, exit epoch now", 100000, 100000, toHex(mainnet.config.ALTAIR_FORK_VERSION)],
    ["clock in Capella, exit epoch in Bellatrix", 200000, 150000, toHex(mainnet.config.BELLATRIX_FORK_VERSION)],
    ["clock in Fulu, exit epoch 0", 420000, 0, toHex(mainnet.config.CAPELLA_FORK_VERSION)],
    ["clock in Altair, exit epoch after Deneb", 100000, 300000, toHex(mainnet.config.CAPELLA_FORK_VERSION)],
  ];
  for (const [label, clockEpoch, exitEpoch, expectedVersion] of cases) {
    it(`same domain as a VOLUNTARY_EXIT request: ${label}`, async () => {
      const keys = new LocalSigningKeys();
      const key = randomKey();
      await keys.add(key);
      const nowSeconds = mainnet.genesisTime! + clockEpoch * epochSeconds + 1;
      const exit = await createVoluntaryExit({ keys, pubkey: key.pubkey, validatorIndex: 9, epoch: exitEpoch, network: mainnet, nowSeconds });
      const chain = mainnet.config.getForkInfoAtEpoch(Math.max(clockEpoch, exitEpoch));
      const plan = planSigning(mainnet.config, {
        type: "VOLUNTARY_EXIT",
        fork_info: {
          fork: { previous_version: toHex(chain.prevVersion), current_version: toHex(chain.version), epoch: String(chain.epoch) },
          genesis_validators_root: toHex(mainnet.genesisValidatorsRoot),
        },
        voluntary_exit: { epoch: String(exitEpoch), validator_index: "9" },
      } as SignRequest);
      const sig = Signature.fromBytes(unhex(exit.signature), true);
      assert.ok(verify(plan.signingRoot, PublicKey.fromHex(key.pubkey), sig));
      const expected = signingRoot(H(uint64(exitEpoch), uint64(9)), computeDomain(DOMAIN_VOLUNTARY_EXIT, unhex(expectedVersion), mainnet.genesisValidatorsRoot));
      assert.ok(verify(expected, PublicKey.fromHex(key.pubkey), sig), `signed under fork version ${expectedVersion}`);
    });
  }

  it("uses the given genesis validators root for a config-file network and refuses bad input", async (t) => {
    const keys = new LocalSigningKeys();
    const key = randomKey();
    await keys.add(key);
    const gvr = "0x" + "07".repeat(32);
    const configFile = await networkFile(await tempDir(t, "exit-network"));
    assert.throws(() => keyNetwork(configFile), /has no known genesis_validators_root: give it with --genesis-validators-root/);
    const withoutTime = keyNetwork(configFile, { genesisValidatorsRoot: gvr });
    assert.deepEqual(withoutTime.genesisValidatorsRoot, unhex(gvr));
    await assert.rejects(
      createVoluntaryExit({ keys, pubkey: key.pubkey, validatorIndex: 1, epoch: 1, network: withoutTime }),
      /has no known genesis time, which an exit's fork .* needs: give it with --genesis-time/,
    );
    const network = keyNetwork(configFile, { genesisValidatorsRoot: gvr, genesisTime: 1_700_000_000 });
    assert.throws(() => keyNetwork("mainnet", { genesisValidatorsRoot: gvr }), /--genesis-validators-root 0x0707.* is not that of network mainnet/);
    await assert.rejects(createVoluntaryExit({ keys, pubkey: key.pubkey, validatorIndex: -1, epoch: 1, network }), /validator index/);
    await assert.rejects(createVoluntaryExit({ keys, pubkey: key.pubkey, validatorIndex: 1, epoch: 1.5, network }), /epoch/);
    await assert.rejects(createVoluntaryExit({ keys, pubkey: randomKey().pubkey, validatorIndex: 1, epoch: 1, network }), /no key loaded/);
  });
});
