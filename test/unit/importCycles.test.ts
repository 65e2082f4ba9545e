import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { domainGraph, importCycles, importGraph, moduleSpecifiers } from "../helpers/importGraph.js";
import { tempDir } from "../helpers/keysFixtures.js";

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

  it("reads every form that names a module, type-only ones included", () => {
    const text = [
      'import a from "./a.js";',
      'import type { B } from "./b.js";',
      'import { type C } from "./c.js";',
      'import "./d.js";',
      'export { e } from "./e.js";',
      'export type { F } from "./f.js";',
      'export * from "./g.js";',
      'export * as h from "./h.js";',
      'export type * as i from "./i.js";',
      'let j: import("./j.js").J;',
      'const k = await import("./k.js");',
      'import l = require("./l.js");',
      'declare module "./m.js" {}',
      'const notAnImport = "./n.js";',
    ].join("\n");
    assert.deepEqual(moduleSpecifiers(text), "abcdefghijklm".split("").map((x) => `./${x}.js`));
  });

  it("reports a cycle made of type-only imports alone", async (t) => {
    const root = await tempDir(t, "import-cycle");
    await mkdir(join(root, "x"));
    await writeFile(join(root, "x", "a.ts"), 'import type { B } from "../b.js";\nexport type A = { b: B };\n');
    await writeFile(join(root, "b.ts"), 'export type * as a from "./x/a.js";\nexport type B = number;\n');
    assert.deepEqual(importCycles(importGraph(root)), [["b.ts", "x/a.ts", "b.ts"]]);
    assert.deepEqual(importCycles(domainGraph(importGraph(root)).graph), [["b.ts", "x", "b.ts"]]);
  });

  it("finds type-only imports, re-exports and dynamic import() in src/", () => {
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
