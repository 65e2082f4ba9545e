import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import { Coalesced } from "../../src/util/coalesced.js";

/** A task whose runs each wait until the test releases them, recording what overlapped. */
function gatedTask() {
  const gates: Array<() => void> = [];
  let active = 0;
  let maxActive = 0;
  let runs = 0;
  const task = async () => {
    runs++;
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise<void>((resolve) => gates.push(resolve));
    active--;
  };
  return {
    task,
    get runs() {
      return runs;
    },
    get maxActive() {
      return maxActive;
    },
    /** Lets the oldest waiting run finish. */
    async release() {
      await tick();
      const gate = gates.shift();
      assert.ok(gate, "a run is waiting");
      gate();
      await tick();
    },
  };
}

describe("Coalesced", () => {
  it("runs at once when idle, and merges every request made during a run into exactly one more run", async () => {
    const t = gatedTask();
    const coalesced = new Coalesced(t.task);
    const settled: string[] = [];
    const first = coalesced.request().then(() => settled.push("first"));
    assert.equal(t.runs, 1, "an idle request starts a run at once");
    const during = [1, 2, 3].map((i) => coalesced.request().then(() => settled.push(`during-${i}`)));
    await tick();
    assert.equal(t.runs, 1, "requests during a run wait for it");
    await t.release();
    await first;
    assert.equal(t.runs, 2, "one more run after the first, for all three requests");
    assert.deepEqual(settled, ["first"], "the merged requests settle only after the run that started after them");
    const late = coalesced.request().then(() => settled.push("late"));
    await t.release();
    await Promise.all(during);
    assert.equal(t.runs, 3, "a request during the second run queued a third");
    await t.release();
    await late;
    await coalesced.idle();
    assert.equal(t.runs, 3);
    assert.equal(t.maxActive, 1, "never two runs at once");
    assert.deepEqual(settled, ["first", "during-1", "during-2", "during-3", "late"]);
  });

  it("runs the queued run after a failed one, and idle() waits for both", async () => {
    let runs = 0;
    const coalesced = new Coalesced(async () => {
      runs++;
      await tick();
      if (runs === 1) throw new Error("first run fails");
    });
    const first = coalesced.request();
    const second = coalesced.request();
    await coalesced.idle();
    assert.equal(runs, 2);
    await assert.rejects(first, /first run fails/);
    await second;
  });
});
