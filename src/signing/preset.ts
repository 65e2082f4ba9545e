/**
 * Network names and the consensus-specs style config files, as far as they can be read without
 * importing @lodestar/* (see requiredPreset). network.ts builds the chain config from them.
 */
import { readFileSync } from "node:fs";
import { InputError } from "../errors.js";

export type NetworkName = "mainnet" | "hoodi" | "holesky" | "sepolia" | "minimal";
export const NETWORK_NAMES: readonly NetworkName[] = ["mainnet", "hoodi", "holesky", "sepolia", "minimal"];

export function isNetworkName(network: string): network is NetworkName {
  return (NETWORK_NAMES as readonly string[]).includes(network);
}

/**
 * The preset a network needs. @lodestar/params fixes the preset (SLOTS_PER_EPOCH, container sizes)
 * from LODESTAR_PRESET when it is first imported, so a process serving a minimal network must set
 * LODESTAR_PRESET=minimal before anything imports @lodestar/*. This module imports none of them,
 * so the CLI entry point can call this first.
 */
export function requiredPreset(network: string): "mainnet" | "minimal" {
  if (isNetworkName(network)) return network === "minimal" ? "minimal" : "mainnet";
  return presetOf(parseConfigFile(network), network);
}

export type ConfigValues = Map<string, { value: string; line: number }>;

/**
 * The subset of YAML that consensus-specs config files use for the values read here: one
 * `KEY: value` per line, `#` comments, optional quotes. Indented lines belong to block values
 * (BLOB_SCHEDULE) that signing does not need and are skipped with their key.
 */
export function parseConfigFile(path: string): ConfigValues {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(
      "INVALID_INPUT",
      `network ${path} is neither one of ${NETWORK_NAMES.join(", ")} nor a readable config file: ${(e as Error).message}`,
      { network: path },
    );
  }
  const values: ConfigValues = new Map();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (/^\s/.test(raw) || /^\s*(#.*)?$/.test(raw)) return;
    const match = /^([A-Z0-9_]+):\s*(?:'([^']*)'|"([^"]*)"|([^\s#'"][^\s#]*))?\s*(?:#.*)?$/.exec(raw);
    if (match === null) throw badFile(path, line, `expected "KEY: value", got ${JSON.stringify(raw)}`);
    const [, key, single, double, plain] = match as unknown as [string, string, string?, string?, string?];
    if (values.has(key)) throw badFile(path, line, `${key} is set twice`);
    const value = single ?? double ?? plain;
    if (value !== undefined) values.set(key, { value, line });
  });
  return values;
}

export function presetOf(values: ConfigValues, path: string): "mainnet" | "minimal" {
  const preset = values.get("PRESET_BASE");
  if (preset === undefined) throw badFile(path, 0, "PRESET_BASE is missing");
  if (preset.value !== "mainnet" && preset.value !== "minimal") {
    throw badFile(path, preset.line, `PRESET_BASE must be mainnet or minimal, got ${preset.value}`);
  }
  return preset.value;
}

export function badFile(path: string, line: number, what: string): InputError {
  return new InputError("INVALID_INPUT", `config file ${path}${line > 0 ? `:${line}` : ""}: ${what}`, {
    file: path,
    line,
  });
}
