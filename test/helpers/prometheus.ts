import assert from "node:assert/strict";

// ---------------------------------------------------------------------------------------------
// A small parser of the Prometheus text exposition format (version 0.0.4), strict enough that a
// malformed line fails the test rather than being skipped.
// ---------------------------------------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    assert.ok(name, `label name expected at ${i} in: ${line}`);
    i += name[0].length;
    assert.equal(text.slice(i, i + 2), '="', `="…" expected after label ${name[0]} in: ${line}`);
    i += 2;
    let value = "";
    for (;;) {
      assert.ok(i < text.length, `unterminated label value in: ${line}`);
      const c = text[i++]!;
      if (c === '"') break;
      if (c === "\\") {
        const e = text[i++];
        if (e === "n") value += "\n";
        else if (e === "\\" || e === '"') value += e;
        else assert.fail(`bad escape \\${e} in: ${line}`);
      } else value += c;
    }
    assert.ok(!(name[0] in labels), `label ${name[0]} repeated in: ${line}`);
    labels[name[0]] = value;
    if (text[i] === ",") i++;
    else assert.equal(i, text.length, `"," or end of labels expected at ${i} in: ${line}`);
  }
  return labels;
}

/** Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any letter case (prom-client writes "Nan"). */
function parseValue(text: string, line: string): number {
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  const n = Number(text);
  assert.ok(text !== "" && !Number.isNaN(n), `bad sample value "${text}" in: ${line}`);
  return n;
}

export function parseExposition(text: string): Exposition {
  const out: Exposition = { types: new Map(), help: new Map(), samples: [] };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
      if (!meta) continue; // a plain comment
      if (meta[1] === "TYPE") {
        assert.match(meta[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        assert.ok(!out.types.has(meta[2]!), `TYPE of ${meta[2]} given twice`);
        out.types.set(meta[2]!, meta[3]!);
      } else out.help.set(meta[2]!, meta[3]!);
      continue;
    }
    const m = SAMPLE_RE.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    out.samples.push({ name: m[1]!, labels: m[2] ? parseLabels(m[2], line) : {}, value: parseValue(m[3]!, line) });
  }
  // Every sample belongs to a declared family (a histogram's samples carry a suffix).
  for (const s of out.samples) {
    const family = out.types.has(s.name) ? s.name : s.name.replace(/_(bucket|sum|count|total|created)$/, "");
    assert.ok(out.types.has(family) || out.types.has(s.name), `sample ${s.name} has no TYPE line`);
  }
  return out;
}

export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The one sample with exactly these labels, or undefined when the series does not exist. */
export function sample(exp: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = exp.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
  assert.ok(found.length <= 1, `${name}${JSON.stringify(labels)} appears ${found.length} times`);
  return found[0]?.value;
}

/** Every series of a metric, as "label=value,…" → value, for whole-family comparisons. */
export function series(exp: Exposition, name: string, omitZero = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of exp.samples.filter((x) => x.name === name)) {
    if (omitZero && s.value === 0) continue;
    const key = Object.entries(s.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    assert.ok(!(key in out), `${name}{${key}} appears twice`);
    out[key] = s.value;
  }
  return out;
}
