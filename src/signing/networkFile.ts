/**
 * Consensus network config files, read without importing @lodestar/* (see preset.ts):
 * the CLI entry point reads PRESET_BASE from them before the preset is fixed.
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, LineCounter, parseDocument, type Node } from "yaml";
import { InputError } from "../errors.js";

/** Each top-level scalar of the file as written, with the line it is on (for error messages). */
export type NetworkValues = Map<string, { value: string; line: number }>;

/** The presets @lodestar/params carries; a network file names one as PRESET_BASE. */
export const PRESETS = ["mainnet", "minimal", "gnosis"] as const;
export type Preset = (typeof PRESETS)[number];

/**
 * A consensus-specs style `config.yaml`, or the JSON a beacon node serves at
 * `/eth/v1/config/spec` (with or without its `{"data": …}` envelope): JSON is YAML. Read with
 * YAML's failsafe schema so that every scalar stays the text it was written as; the core schema
 * would read the fork version 0x00000064 as the number 100 and FAR_FUTURE_EPOCH as a rounded float.
 * The caller types the values. Values that are not scalars (BLOB_SCHEDULE) do not bear on signing
 * roots and are left out.
 */
export function readNetworkFile(path: string): NetworkValues {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError("INVALID_INPUT", `cannot read network config file ${path}: ${(e as Error).message}`, { file: path });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: "failsafe", lineCounter, prettyErrors: false });
  const lineOf = (node: Node | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : 0);
  const error = doc.errors[0];
  if (error) throw badNetworkFile(path, lineCounter.linePos(error.pos[0]).line, error.message);

  let map = doc.contents;
  if (isMap(map) && map.items.length === 1 && isScalar(map.items[0]!.key) && map.items[0]!.key.value === "data") {
    map = map.items[0]!.value as typeof map;
  }
  if (!isMap(map)) throw badNetworkFile(path, lineOf(map), "expected KEY: value pairs (a YAML mapping or a JSON object)");
  const values: NetworkValues = new Map();
  for (const { key, value } of map.items) {
    if (!isScalar(key) || !isScalar(value)) continue;
    values.set(String(key.value), { value: String(value.value), line: lineOf(value) });
  }
  return values;
}

export function presetOf(values: NetworkValues, path: string): Preset {
  const preset = values.get("PRESET_BASE");
  if (preset === undefined) throw badNetworkFile(path, 0, "PRESET_BASE is missing");
  if (!(PRESETS as readonly string[]).includes(preset.value)) {
    throw badNetworkFile(path, preset.line, `PRESET_BASE must be one of ${PRESETS.join(", ")}, got ${preset.value}`);
  }
  return preset.value as Preset;
}

export function badNetworkFile(path: string, line: number, what: string): InputError {
  return new InputError("INVALID_INPUT", `network config file ${path}${line > 0 ? `:${line}` : ""}: ${what}`, { file: path, line });
}
