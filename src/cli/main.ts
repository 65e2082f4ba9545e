#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { requiredPreset } from "../signing/preset.js";
import { holdSighup } from "./sighup.js";

/**
 * The network a command runs for, read before anything imports @lodestar/params: flag, then
 * environment, then --config file, as loadConfig ranks them.
 */
function networkOf(argv: string[], env: NodeJS.ProcessEnv): string {
  let config = env.SECURE_SIGNER_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--network") return argv[i + 1] ?? "mainnet";
    if (arg.startsWith("--network=")) return arg.slice("--network=".length);
    if (arg === "--config") config = argv[i + 1];
    else if (arg.startsWith("--config=")) config = arg.slice("--config=".length);
  }
  if (env.SECURE_SIGNER_NETWORK) return env.SECURE_SIGNER_NETWORK;
  if (config) {
    try {
      const network = (JSON.parse(readFileSync(config, "utf8")) as { network?: unknown }).network;
      if (typeof network === "string") return network;
    } catch {
      // loadConfig reports an unreadable config file with its own message
    }
  }
  return "mainnet";
}

const argv = process.argv.slice(2);
// Before anything slow, so that a SIGHUP sent to a `serve` just launched does not end it
// (sighup.ts). Matched by name as runCli matches it: commands.js, which has the commands, loads later.
if (argv[0] === "serve") holdSighup();

/**
 * @lodestar/params fixes its preset (SLOTS_PER_EPOCH, list limits …) from LODESTAR_PRESET when it is
 * first imported, so the preset the chosen network needs is set here, before the commands load.
 */
let preset: string;
try {
  preset = requiredPreset(networkOf(argv, process.env));
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
process.exitCode = await runCli(argv);
