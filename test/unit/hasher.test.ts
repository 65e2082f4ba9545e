import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ssz } from "@lodestar/types";
import { useFastestHasher } from "../../src/signing/hasher.js";

describe("SSZ hasher", () => {
  it("switches the hasher SSZ uses to a faster one without changing any root", async () => {
    const block = ssz.electra.BeaconBlock.defaultValue();
    block.slot = 123456;
    block.body.graffiti = new Uint8Array(32).fill(7);
    const data = ssz.phase0.AttestationData.defaultValue();
    data.target.epoch = 42;
    const before = [ssz.electra.BeaconBlock.hashTreeRoot(block), ssz.phase0.AttestationData.hashTreeRoot(data)];
    const name = await useFastestHasher();
    assert.ok(name === "hashtree" || name === "as-sha256");
    // package.json pins persistent-merkle-tree to the version @chainsafe/ssz resolves, so npm
    // installs one copy and this is the instance @lodestar/types' containers hash through.
    const { hasher } = await import("@chainsafe/persistent-merkle-tree");
    assert.equal(hasher.name, name);
    const after = [ssz.electra.BeaconBlock.hashTreeRoot(block), ssz.phase0.AttestationData.hashTreeRoot(data)];
    assert.deepEqual(after, before);
  });
});
