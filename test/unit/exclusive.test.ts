import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import { Exclusive } from "../../src/util/exclusive.js";

describe("Exclusive", () => {
  it("runs overlapping sections one after another, in call order, past failures", async () => {
    const lock = new Exclusive();
    const log: string[] = [];
    const section = (name: string, fail = false) => async () => {
      log.push(`${name}:start`);
      await tick();
      await tick();
      log.push(`${name}:end`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([lock.run(section("a")), lock.run(section("b", true)), lock.run(section("c"))]);
    assert.deepEqual(log, ["a:start", "a:end", "b:start", "b:end", "c:start", "c:end"]);
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  });
});
