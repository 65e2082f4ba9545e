import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  attestationCovered,
  belowAttestationGrant,
  belowBlockGrant,
  blockCovered,
  EMPTY_ROW,
  reserveAttestation,
  reserveBlock,
  type AttestationGrant,
  type BlockGrant,
  type ContinuityRow,
} from "../../src/slashing/continuityRules.js";
import { checkAndApplyAttestation, checkAndApplyBlock, emptyHistory, type KeyHistory } from "../../src/slashing/rules.js";

/** One running signer process: its holder id, its grants, and its local slashing history. */
interface Instance {
  holder: string;
  block?: BlockGrant;
  att?: AttestationGrant;
  history: KeyHistory;
  /** Copies of `history` taken along the way: what the host can put back. */
  snapshots: KeyHistory[];
}

const copy = (h: KeyHistory): KeyHistory => ({ ...h, blocks: new Map(h.blocks), attestations: new Map(h.attestations) });

type Op =
  | { op: "vote"; who: number; source: number; target: number }
  | { op: "block"; who: number; slot: number }
  | { op: "snapshot"; who: number }
  /** Restart: a new process (new holder, no grants) on a history the host may have rolled back. */
  | { op: "restart"; who: number; rollbackTo: number }
  /** Clone: a second process on a copy of this one's data directory. */
  | { op: "clone"; who: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("vote" as const), who: fc.nat(3), source: fc.nat(12), target: fc.nat(14) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("block" as const), who: fc.nat(3), slot: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("snapshot" as const), who: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("restart" as const), who: fc.nat(3), rollbackTo: fc.integer({ min: -1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("clone" as const), who: fc.nat(3) }) },
);

/**
 * Runs the ops as the guard and the store do: a covered request goes straight to the local
 * database, one below the grant is refused, any other reserves first. Returns everything signed.
 */
function run(ops: Op[], windowEpochs: number) {
  let row: ContinuityRow = EMPTY_ROW;
  let nextHolder = 0;
  const fresh = (history: KeyHistory): Instance => ({ holder: `h${nextHolder++}`, history, snapshots: [copy(history)] });
  const instances: Instance[] = [fresh(emptyHistory())];
  const votes: Array<[number, number]> = [];
  const blocks: number[] = [];
  let root = 0;
  for (const o of ops) {
    const inst = instances[o.who % instances.length]!;
    if (o.op === "snapshot") inst.snapshots.push(copy(inst.history));
    else if (o.op === "restart") {
      const back = o.rollbackTo < 0 ? emptyHistory() : inst.snapshots[Math.min(o.rollbackTo, inst.snapshots.length - 1)]!;
      instances[o.who % instances.length] = { ...fresh(copy(back)), snapshots: inst.snapshots };
    } else if (o.op === "clone") instances.push(fresh(copy(inst.history)));
    else if (o.op === "block") {
      if (!blockCovered(inst.block, o.slot)) {
        if (belowBlockGrant(inst.block, o.slot)) continue;
        const d = reserveBlock(row, inst.holder, inst.block, o.slot);
        if ("refused" in d) continue;
        row = d.row;
        inst.block = d.grant;
      }
      if (checkAndApplyBlock(inst.history, o.slot, `0x${(root++).toString(16)}`).allow) blocks.push(o.slot);
    } else {
      const { source, target } = o;
      if (!attestationCovered(inst.att, source, target)) {
        if (belowAttestationGrant(inst.att, source, target)) continue;
        const d = reserveAttestation(row, inst.holder, inst.att, source, target, windowEpochs);
        if ("refused" in d) continue;
        row = d.row;
        inst.att = d.grant;
      }
      if (checkAndApplyAttestation(inst.history, source, target, `0x${(root++).toString(16)}`).allow) votes.push([source, target]);
    }
  }
  return { votes, blocks, row };
}

describe("continuity reservations", () => {
  it("never let restarts, rolled-back histories or clones sign anything slashable together", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 1, max: 4 }), (ops, window) => {
        const { votes, blocks } = run(ops, window);
        assert.equal(new Set(blocks).size, blocks.length, `double proposal in ${JSON.stringify(blocks)}`);
        for (let i = 0; i < votes.length; i++) {
          for (let j = i + 1; j < votes.length; j++) {
            const [s1, t1] = votes[i]!;
            const [s2, t2] = votes[j]!;
            assert.notEqual(t1, t2, `double vote ${s1}->${t1} and ${s2}->${t2}`);
            assert.ok(!(s1 < s2 && t2 < t1) && !(s2 < s1 && t1 < t2), `surround ${s1}->${t1} and ${s2}->${t2}`);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("and without them the same ops do sign slashable pairs (the property can fail)", () => {
    // The model above with every reservation granted: a restart onto an empty history double-votes.
    let found = false;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const histories = [emptyHistory()];
        const targets = new Set<number>();
        for (const o of ops) {
          if (o.op === "restart") histories[o.who % histories.length] = emptyHistory();
          if (o.op === "clone") histories.push(emptyHistory());
          if (o.op !== "vote") continue;
          const h = histories[o.who % histories.length]!;
          if (checkAndApplyAttestation(h, o.source, o.target, `0x${Math.random()}`).allow) {
            if (targets.has(o.target)) found = true;
            targets.add(o.target);
          }
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(found);
  });

  it("let a restarted signer attest again within the window while the source is stuck", () => {
    // Non-finality: the source stays at 10 while targets climb; a restart (new holder) after target
    // 40 attests again at the latest from target 40 + window on, with the same old source.
    for (const window of [1, 2, 3]) {
      let row = EMPTY_ROW;
      let grant: AttestationGrant | undefined;
      for (let t = 11; t <= 40; t++) {
        if (attestationCovered(grant, 10, t)) continue;
        const d = reserveAttestation(row, "first", grant, 10, t, window);
        assert.ok(!("refused" in d));
        row = d.row;
        grant = d.grant;
      }
      const resumed = [40, 41, 42, 43, 44].find((t) => !("refused" in reserveAttestation(row, "second", undefined, 10, t, window)));
      assert.equal(resumed, row.maxTarget! + 1, `window ${window}`);
      assert.ok(resumed! <= 40 + window, `window ${window}: resumed at ${resumed}, more than ${window} epochs after 40`);
    }
  });

  it("write once per window of targets while the source does not move", () => {
    let row = EMPTY_ROW;
    let grant: AttestationGrant | undefined;
    let writes = 0;
    for (let t = 11; t <= 50; t++) {
      if (attestationCovered(grant, 10, t)) continue;
      const d = reserveAttestation(row, "me", grant, 10, t, 4);
      assert.ok(!("refused" in d));
      row = d.row;
      grant = d.grant;
      writes++;
    }
    assert.equal(writes, 10);
    assert.equal(grant!.fence, 1, "extensions keep the grant's fence: one holder, one grant");
  });
});
