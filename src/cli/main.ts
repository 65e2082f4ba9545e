#!/usr/bin/env node
import { networkSetting, SERVE_OPTIONS, type Flags } from "../config/config.js";
import { WEB3SIGNER_FLAGS } from "../config/web3signer.js";
import { requiredPreset } from "../signing/preset.js";
import { parseFlags, readCommandLine } from "./args.js";
import { holdSighup } from "./sighup.js";

const line = readCommandLine(process.argv.slice(2));
// Before anything slow, so that a SIGHUP sent to a `serve` just launched does not end it
// (sighup.ts). Matched by name as runCli matches it: commands.js, which has the commands, loads later.
if (line.command === "serve") holdSighup();

/**
 * @lodestar/params fixes its preset (SLOTS_PER_EPOCH, list limits …) from LODESTAR_PRESET when it is
 * first imported, so the preset the chosen network needs is set here, before the commands load:
 * the network from the serve settings' flags, environment and config file, read as loadConfig
 * reads them. The command parses the whole line, strictly, after.
 */
let preset: string;
try {
  const { values } = parseFlags(line.args, { ...SERVE_OPTIONS, ...WEB3SIGNER_FLAGS }, false);
  // A flag given without its value is left to the command's parse to report.
  const given: Flags = Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  preset = requiredPreset(networkSetting(given, process.env));
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exit(2);
}
if (process.env.LODESTAR_PRESET && process.env.LODESTAR_PRESET !== preset) {
  console.error(`error: LODESTAR_PRESET=${process.env.LODESTAR_PRESET} but the network needs the ${preset} preset`);
  process.exit(2);
}
process.env.LODESTAR_PRESET = preset;

const { runCli } = await import("./commands.js");
process.exitCode = await runCli(line);
