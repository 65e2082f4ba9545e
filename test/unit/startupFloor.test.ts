import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { chainClock } from "../../src/slashing/clock.js";
import { clockBoundGuard } from "../../src/slashing/clockBound.js";
import { GuardError } from "../../src/slashing/errors.js";
import { checkStartupFloor, startupFloor } from "../../src/slashing/startupFloor.js";

const genesisTime = 1_606_824_023;
const clockAt = (seconds: number) => chainClock({ genesisTime, secondsPerSlot: 12, slotsPerEpoch: 32, now: () => seconds * 1000 });
const refuses = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch (e) {
    assert.ok(e instanceof GuardError, String(e));
    return true;
  }
};

describe("startup floor (rollback guard, local mode)", () => {
  it("is the clock's slot plus the skew, plus the margin", () => {
    // 10 epochs and 5 slots after genesis, 7 seconds into the slot.
    const clock = clockAt(genesisTime + (10 * 32 + 5) * 12 + 7);
    assert.deepEqual(startupFloor(clock, 0, 0), { slot: 325, epoch: 10 });
    assert.deepEqual(startupFloor(clock, 2, 0), { slot: 327, epoch: 10 });
    assert.deepEqual(startupFloor(clock, 27, 0), { slot: 352, epoch: 11 }, "a skew past the epoch's end floors the next epoch too");
    assert.deepEqual(startupFloor(clock, 2, 2), { slot: 391, epoch: 12 });
    // Before genesis the clock is at slot 0.
    assert.deepEqual(startupFloor(clockAt(genesisTime - 100), 2, 0), { slot: 2, epoch: 0 });
  });

  it("refuses exactly the blocks and targets at or below the floor, whatever the source", () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000_000), (floorSlot, slot, target, source) => {
        const floor = { slot: floorSlot, epoch: Math.floor(floorSlot / 32) };
        assert.equal(refuses(() => checkStartupFloor(floor, { kind: "block", slot })), slot <= floor.slot);
        assert.equal(refuses(() => checkStartupFloor(floor, { kind: "attestation", sourceEpoch: source, targetEpoch: target })), target <= floor.epoch);
      }),
    );
  });

  it("and the clock bound leaves above it nothing a restart could have forgotten", () => {
    // Whatever a run signed under the clock bound, a later start (the clock having moved forward,
    // the same skew) floors it: the two guards together are what local mode's safety rests on.
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.nat(100_000), fc.integer({ min: 0, max: 32 }), fc.nat(3_000_000), fc.nat(100_000), (t0, later, skew, slot, target) => {
        const before = clockAt(genesisTime + t0);
        const bound = clockBoundGuard(before, skew);
        const signedBlock = !refuses(() => bound.check("k", { kind: "block", slot }));
        const signedVote = !refuses(() => bound.check("k", { kind: "attestation", sourceEpoch: 0, targetEpoch: target }));
        const floor = startupFloor(clockAt(genesisTime + t0 + later), skew, 0);
        if (signedBlock) assert.ok(slot <= floor.slot);
        if (signedVote) assert.ok(target <= floor.epoch);
      }),
    );
  });
});

describe("clock bound", () => {
  it("refuses blocks and targets more than the skew ahead of the clock, and nothing else", () => {
    const clock = clockAt(genesisTime + (100 * 32 + 30) * 12 + 1); // slot 3230, epoch 100
    const bound = clockBoundGuard(clock, 2);
    assert.equal(refuses(() => bound.check("k", { kind: "block", slot: 3232 })), false);
    assert.equal(refuses(() => bound.check("k", { kind: "block", slot: 3233 })), true);
    // Slot 3232 starts epoch 101: two slots of skew reach it.
    assert.equal(refuses(() => bound.check("k", { kind: "attestation", sourceEpoch: 99, targetEpoch: 101 })), false);
    assert.equal(refuses(() => bound.check("k", { kind: "attestation", sourceEpoch: 99, targetEpoch: 102 })), true);
  });
});
