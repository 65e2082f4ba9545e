import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkAndApplyAttestation,
  checkAndApplyBlock,
  decideAttestation,
  decideBlock,
  emptyHistory,
  raiseWatermarks,
  type Decision,
  type KeyHistory,
} from "../../src/slashing/rules.js";

import { msgArb, pruneHistory, R1, R2, referenceAllows, slashablePair, ZERO, type Msg } from "../helpers/slashingModel.js";

function code(d: Decision): string {
  return d.allow ? (d.repeat ? "REPEAT" : "ALLOW") : d.code;
}

describe("block rule", () => {
  it("allows the first block and anything above the highest slot", () => {
    const h = emptyHistory();
    assert.equal(code(checkAndApplyBlock(h, 10, R1)), "ALLOW");
    assert.equal(code(checkAndApplyBlock(h, 11, R1)), "ALLOW");
    assert.equal(h.maxSlot, 11);
  });

  it("allows an exact repeat again without recording it twice", () => {
    const h = emptyHistory();
    checkAndApplyBlock(h, 10, R1);
    checkAndApplyBlock(h, 12, R1);
    assert.equal(code(checkAndApplyBlock(h, 10, R1)), "REPEAT");
    assert.equal(h.blocks.size, 2);
  });

  it("refuses another root at a recorded slot, and any root where the recorded one is unknown", () => {
    const h = emptyHistory();
    checkAndApplyBlock(h, 10, R1);
    assert.equal(code(checkAndApplyBlock(h, 10, R2)), "DOUBLE_BLOCK");
    raiseWatermarks(h, { maxSlot: 20, maxSource: null, maxTarget: null });
    h.blocks.set(20, null);
    assert.equal(code(checkAndApplyBlock(h, 20, R1)), "DOUBLE_BLOCK");
  });

  it("never treats a zero signing root as a repeat", () => {
    const h = emptyHistory();
    checkAndApplyBlock(h, 10, ZERO);
    assert.equal(code(checkAndApplyBlock(h, 10, ZERO)), "DOUBLE_BLOCK");
  });

  it("refuses an unrecorded slot at or below the watermark", () => {
    const h = emptyHistory();
    checkAndApplyBlock(h, 10, R1);
    const d = decideBlock({ maxSlot: 10 }, 9, R1);
    assert.equal(code(d), "BLOCK_SLOT_NOT_ABOVE_WATERMARK");
    assert.match((d as { message: string }).message, /slot 9 is not above the highest slot already signed \(10\)/);
    assert.equal(code(decideBlock({ maxSlot: 10 }, 10, R1)), "BLOCK_SLOT_NOT_ABOVE_WATERMARK");
  });
});

describe("attestation rule", () => {
  it("allows increasing votes and refuses source after target", () => {
    const h = emptyHistory();
    assert.equal(code(checkAndApplyAttestation(h, 0, 0, R1)), "ALLOW");
    assert.equal(code(checkAndApplyAttestation(h, 0, 1, R1)), "ALLOW");
    assert.equal(code(checkAndApplyAttestation(h, 3, 2, R1)), "SOURCE_AFTER_TARGET");
    assert.equal(code(checkAndApplyAttestation(h, 1, 2, R1)), "ALLOW");
  });

  it("allows an exact repeat and refuses a double vote", () => {
    const h = emptyHistory();
    checkAndApplyAttestation(h, 1, 2, R1);
    checkAndApplyAttestation(h, 2, 3, R1);
    assert.equal(code(checkAndApplyAttestation(h, 1, 2, R1)), "REPEAT");
    const d = checkAndApplyAttestation(h, 1, 2, R2);
    assert.equal(code(d), "DOUBLE_VOTE");
    assert.deepEqual((d as { conflicting: unknown }).conflicting, { sourceEpoch: 1, targetEpoch: 2, signingRoot: R1 });
    assert.equal(code(checkAndApplyAttestation(h, 0, 2, R1)), "DOUBLE_VOTE", "same target and root, other source");
    assert.equal(code(checkAndApplyAttestation(h, 2, 3, ZERO)), "DOUBLE_VOTE", "zero root is never a repeat");
  });

  it("names surrounding and surrounded votes against every record", () => {
    const h = emptyHistory();
    checkAndApplyAttestation(h, 2, 3, R1);
    checkAndApplyAttestation(h, 5, 8, R1);
    assert.equal(code(checkAndApplyAttestation(h, 1, 4, R2)), "SURROUNDING_VOTE");
    assert.equal(code(checkAndApplyAttestation(h, 6, 7, R2)), "SURROUNDED_VOTE");
    assert.equal(code(decideAttestation({ maxSource: 2, maxTarget: 3 }, 1, 4, R2)), "SOURCE_BELOW_WATERMARK");
    assert.equal(code(checkAndApplyAttestation(h, 5, 8, R2)), "DOUBLE_VOTE");
    assert.equal(code(checkAndApplyAttestation(h, 4, 9, R2)), "SURROUNDING_VOTE");
  });

  it("refuses by watermark where no record explains it", () => {
    assert.equal(code(decideAttestation({ maxSource: 5, maxTarget: 8 }, 4, 9, R1)), "SOURCE_BELOW_WATERMARK");
    assert.equal(code(decideAttestation({ maxSource: 5, maxTarget: 8 }, 5, 8, R1)), "TARGET_NOT_ABOVE_WATERMARK");
    assert.equal(code(decideAttestation({ maxSource: 5, maxTarget: 8 }, 6, 7, R1)), "TARGET_NOT_ABOVE_WATERMARK");
    assert.equal(code(decideAttestation({ maxSource: 5, maxTarget: 8 }, 5, 9, R1)), "ALLOW");
  });
});

function apply(h: KeyHistory, m: Msg): Decision {
  return m.kind === "block"
    ? checkAndApplyBlock(h, m.slot, m.root)
    : checkAndApplyAttestation(h, m.source, m.target, m.root);
}

describe("attestation and block rules, property-based", () => {
  it("agree with the reference model and never allow a slashable pair", () => {
    let checked = 0;
    fc.assert(
      fc.property(fc.array(msgArb, { maxLength: 60, size: "max" }), (msgs) => {
        const histories = [emptyHistory(), emptyHistory(), emptyHistory()];
        const allowed: Msg[] = [];
        for (const m of msgs) {
          const expected = referenceAllows(allowed, m);
          const d = apply(histories[m.key]!, m);
          assert.equal(d.allow, expected, `${JSON.stringify(m)} after ${JSON.stringify(allowed)}`);
          if (d.allow) {
            for (const a of allowed) assert.ok(!slashablePair(a, m), `${JSON.stringify(a)} and ${JSON.stringify(m)}`);
            allowed.push(m);
          }
          checked++;
        }
      }),
      { numRuns: 400 },
    );
    assert.ok(checked > 5000, `only ${checked} messages checked`);
  });

  it("pruning never turns a refusal into an allowance", () => {
    let refusals = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(msgArb, fc.boolean()), { maxLength: 60, size: "max" }), (steps) => {
        const full = [emptyHistory(), emptyHistory(), emptyHistory()];
        const pruned = [emptyHistory(), emptyHistory(), emptyHistory()];
        for (const [m, prune] of steps) {
          if (prune) pruneHistory(pruned[m.key]!);
          const before = { maxSlot: pruned[m.key]!.maxSlot, maxTarget: pruned[m.key]!.maxTarget };
          const dFull = apply(full[m.key]!, m);
          const dPruned = apply(pruned[m.key]!, m);
          if (!dFull.allow) {
            refusals++;
            assert.equal(dPruned.allow, false, `${JSON.stringify(m)} refused without pruning but allowed after`);
          }
          // Only repeats may differ, and they record nothing, so both histories keep the same watermarks.
          if (dPruned.allow) assert.equal(dFull.allow, true);
          assert.ok(before.maxSlot === null || pruned[m.key]!.maxSlot! >= before.maxSlot);
          assert.equal(pruned[m.key]!.maxSlot, full[m.key]!.maxSlot);
          assert.equal(pruned[m.key]!.maxSource, full[m.key]!.maxSource);
          assert.equal(pruned[m.key]!.maxTarget, full[m.key]!.maxTarget);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(refusals > 1000, `only ${refusals} refusals exercised`);
  });

  it("pruning keeps the watermarks and the latest records", () => {
    const h = emptyHistory();
    for (let s = 0; s < 5; s++) checkAndApplyBlock(h, s, R1);
    for (let e = 1; e < 5; e++) checkAndApplyAttestation(h, e - 1, e, R1);
    assert.deepEqual(pruneHistory(h), { blocks: 4, attestations: 3 });
    assert.deepEqual([h.maxSlot, h.maxSource, h.maxTarget], [4, 3, 4]);
    assert.deepEqual([...h.blocks.keys()], [4]);
    assert.deepEqual([...h.attestations.keys()], [4]);
    assert.equal(code(checkAndApplyBlock(h, 4, R1)), "REPEAT");
    assert.equal(code(checkAndApplyBlock(h, 3, R1)), "BLOCK_SLOT_NOT_ABOVE_WATERMARK");
  });
});
