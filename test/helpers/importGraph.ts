import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/**
 * The module graph of a source tree: every static import and re-export (type-only ones too, since
 * `import type` still ties the two modules' designs together), every `import("…")` in a value or a
 * type, and every `declare module "…"` augmentation. Only relative specifiers are followed; a `.js`
 * specifier names the `.ts` file beside it, as NodeNext resolution does.
 */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const targets = moduleSpecifiers(readFileSync(file, "utf8"))
      .filter((spec) => spec.startsWith("."))
      .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    graph.set(rel(root, file), [...new Set(targets.map((t) => rel(root, t)))].sort());
  }
  return graph;
}

/**
 * The module specifiers a TypeScript file names, read from its syntax tree. The compiler's
 * `preProcessFile` scanner is not enough: it skips `export * as ns from` and `export type * as ns
 * from`.
 */
export function moduleSpecifiers(text: string): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push(node.moduleReference.expression.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      out.push(node.arguments[0].text);
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      out.push(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile("module.ts", text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
    });
}

/**
 * The graph between domains: a module directly under the root is its own node, every other one
 * stands for its top folder (keys/sealedStore.ts for keys). An edge lists the module imports that
 * make it, so that a failure can say which import to move.
 */
export function domainGraph(graph: ReadonlyMap<string, readonly string[]>): { graph: Map<string, string[]>; why: Map<string, string[]> } {
  const domainOf = (module: string) => module.split("/")[0]!;
  const edges = new Map<string, Set<string>>();
  const why = new Map<string, string[]>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const [a, b] = [domainOf(from), domainOf(to)];
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Set());
      edges.get(a)!.add(b);
      const key = `${a} -> ${b}`;
      why.set(key, [...(why.get(key) ?? []), `${from} imports ${to}`]);
    }
  }
  return { graph: new Map([...edges].map(([a, bs]) => [a, [...bs].sort()])), why };
}

const rel = (root: string, file: string) => relative(root, file).split("\\").join("/");

/**
 * One cycle per strongly connected component that has one (Tarjan's algorithm), each as the list
 * of modules around it, first module repeated at the end. Empty when the graph is acyclic.
 */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((c) => cycleWithin(graph, new Set(c), [...c].sort()[0]!));
}

/** A shortest path from `start` back to itself inside one component (breadth-first). */
function cycleWithin(graph: ReadonlyMap<string, readonly string[]>, members: ReadonlySet<string>, start: string): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = parent.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  throw new Error(`no cycle through ${start}`);
}
