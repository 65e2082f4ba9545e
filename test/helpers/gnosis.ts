import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { sign } from "./messages.js";
import { computeDomain, computeSigningRoot, DOMAIN, uint64Root } from "./signingCases.js";

/** Gnosis chain and its Chiado testnet (gnosischain/configs): Electra's version and epoch, the chain's root. */
export const GNOSIS_NETWORKS = {
  gnosis: {
    gvr: "0xf5dcb5564e829aab27264b9becd5dfaa017085611224cb3036f573368dbb9d47",
    genesisTime: 1638993340,
    deneb: "0x04000064",
    electra: { version: "0x05000064", epoch: 1337856 },
  },
  chiado: {
    gvr: "0x9d642dac73058fbf39c0ae41ab1e34e4d889043cb199851ded7095bc99eb4c1e",
    genesisTime: 1665396300,
    deneb: "0x0400006f",
    electra: { version: "0x0500006f", epoch: 948224 },
  },
} as const;

// The gnosis preset's SLOTS_PER_EPOCH. The slots below are in Electra's first epoch with 16 slots
// an epoch, but half-way back in Deneb with mainnet's 32: a signer on the wrong preset signs them
// under Deneb's domain, and the signatures below do not verify.
const SLOTS_PER_EPOCH = 16;

const sha256 = (...parts: Uint8Array[]) => new Uint8Array(createHash("sha256").update(Buffer.concat(parts)).digest());
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex.slice(2), "hex"));
const root = (byte: number) => "0x" + byte.toString(16).padStart(2, "0").repeat(32);

/** hash_tree_root(BeaconBlockHeader): five chunks, padded to eight leaves. */
function headerRoot(h: { slot: number; proposer: number; parent: string; state: string; body: string }): Uint8Array {
  const leaves = [uint64Root(h.slot), uint64Root(h.proposer), bytes(h.parent), bytes(h.state), bytes(h.body), new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)];
  const pairs = (level: Uint8Array[]) => level.flatMap((_, i) => (i % 2 === 0 ? [sha256(level[i]!, level[i + 1]!)] : []));
  return pairs(pairs(pairs(leaves)))[0]!;
}

/**
 * Signs an AGGREGATION_SLOT and a BLOCK_V2 header through the signer at `url` and checks each
 * signature with blst against a root computed here by hand.
 */
export async function signsWithTheGnosisPreset(url: string, pubkey: string, network: (typeof GNOSIS_NETWORKS)[keyof typeof GNOSIS_NETWORKS]): Promise<void> {
  const { gvr, deneb, electra } = network;
  const fork_info = { fork: { previous_version: deneb, current_version: electra.version, epoch: String(electra.epoch) }, genesis_validators_root: gvr };
  const slot = electra.epoch * SLOTS_PER_EPOCH + 3;
  const verifies = (signature: string | undefined, signingRoot: Uint8Array) =>
    verify(signingRoot, PublicKey.fromHex(pubkey), Signature.fromHex(signature!, true));

  const selection = await sign(url, pubkey, { type: "AGGREGATION_SLOT", fork_info, aggregation_slot: { slot: String(slot) } });
  assert.equal(selection.status, 200, selection.message);
  assert.ok(verifies(selection.signature, computeSigningRoot(uint64Root(slot), computeDomain(DOMAIN.SELECTION_PROOF, electra.version, gvr))));

  const header = { slot, proposer: 7, parent: root(1), state: root(2), body: root(3) };
  const block = await sign(url, pubkey, {
    type: "BLOCK_V2",
    fork_info,
    beacon_block: {
      version: "ELECTRA",
      block_header: { slot: String(slot), proposer_index: "7", parent_root: header.parent, state_root: header.state, body_root: header.body },
    },
  });
  assert.equal(block.status, 200, block.message);
  assert.ok(verifies(block.signature, computeSigningRoot(headerRoot(header), computeDomain(DOMAIN.BEACON_PROPOSER, electra.version, gvr))));
}
