import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { GuardError } from "../../src/slashing/errors.js";
import { checkStartupFloor, startupFloor } from "../../src/slashing/startupFloor.js";

describe("startup floor (rollback guard)", () => {
  it("is the clock's slot and epoch plus the margin", () => {
    const genesisTime = 1_606_824_023;
    // 10 epochs and 5 slots after genesis, 7 seconds into the slot.
    const now = genesisTime + (10 * 32 + 5) * 12 + 7;
    assert.deepEqual(startupFloor({ nowSeconds: now, genesisTime, secondsPerSlot: 12, slotsPerEpoch: 32, marginEpochs: 0 }), { slot: 325, epoch: 10 });
    assert.deepEqual(startupFloor({ nowSeconds: now, genesisTime, secondsPerSlot: 12, slotsPerEpoch: 32, marginEpochs: 2 }), { slot: 389, epoch: 12 });
    assert.deepEqual(startupFloor({ nowSeconds: genesisTime - 100, genesisTime, secondsPerSlot: 12, slotsPerEpoch: 32, marginEpochs: 1 }), { slot: 32, epoch: 1 });
  });

  it("refuses exactly the messages at or below the floor", () => {
    // The case the source bound exists for: a forgotten vote (110, 115) below a floor of 117.
    assert.throws(() => checkStartupFloor({ slot: 117 * 32, epoch: 117 }, { kind: "attestation", sourceEpoch: 100, targetEpoch: 118 }), GuardError);
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000_000), (floorSlot, slot, target, source) => {
        const floor = { slot: floorSlot, epoch: Math.floor(floorSlot / 32) };
        const blockRefused = (() => {
          try {
            checkStartupFloor(floor, { kind: "block", slot });
            return false;
          } catch (e) {
            assert.ok(e instanceof GuardError);
            return true;
          }
        })();
        assert.equal(blockRefused, slot <= floor.slot);
        const voteRefused = (() => {
          try {
            checkStartupFloor(floor, { kind: "attestation", sourceEpoch: source, targetEpoch: target });
            return false;
          } catch (e) {
            assert.ok(e instanceof GuardError);
            return true;
          }
        })();
        assert.equal(voteRefused, target <= floor.epoch || source < floor.epoch);
      }),
    );
  });
});
