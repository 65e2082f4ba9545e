import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { domainGraph, importCycles, importGraph } from "../helpers/importGraph.js";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

describe("module layering", () => {
  it("src/ has no import cycle, type-only or not", () => {
    const graph = importGraph(SRC);
    assert.ok(graph.size > 50, `read only ${graph.size} modules from ${SRC}`);
    const cycles = importCycles(graph);
    assert.deepEqual(cycles.map((c) => c.join(" -> ")), []);
  });

  it("no two domains (top folders of src/) import each other, directly or around a loop", () => {
    const { graph, why } = domainGraph(importGraph(SRC));
    const cycles = importCycles(graph).map((cycle) =>
      cycle.slice(1).map((to, i) => `${cycle[i]} -> ${to} (${why.get(`${cycle[i]} -> ${to}`)!.join(", ")})`).join("; "),
    );
    assert.deepEqual(cycles, []);
  });

  it("finds what the pre-processor reads: type-only imports, re-exports and dynamic import()", () => {
    const graph = importGraph(SRC);
    // main.ts loads the commands through import() only, after fixing the preset.
    assert.ok(graph.get("cli/main.ts")?.includes("cli/commands.ts"));
    // api/keymanager.ts names the Platform interface in types only.
    assert.ok(graph.get("api/keymanager.ts")?.includes("tee/platform.ts"));
  });

  it("the cycle finder reports each cycle once, as a path, and nothing for a DAG", () => {
    const dag = new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]]);
    assert.deepEqual(importCycles(dag), []);
    const cyclic = new Map([["a", ["b"]], ["b", ["c", "d"]], ["c", ["a"]], ["d", ["d"]], ["e", ["a"]]]);
    assert.deepEqual(importCycles(cyclic).map((c) => c.join(">")).sort(), ["a>b>c>a", "d>d"]);
  });
});
