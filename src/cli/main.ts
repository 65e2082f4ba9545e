#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";

/**
 * @lodestar/params fixes its preset (SLOTS_PER_EPOCH, list limits …) from LODESTAR_PRESET when it is
 * first imported, so the preset the chosen network needs is set here, before anything imports it.
 */
function presetFor(argv: string[], env: NodeJS.ProcessEnv): "mainnet" | "minimal" {
  let network = env.SECURE_SIGNER_NETWORK;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--network") network = argv[i + 1];
    else if (arg.startsWith("--network=")) network = arg.slice("--network=".length);
  }
  if (network === "minimal") return "minimal";
  if (network && existsSync(network)) {
    const match = /^PRESET_BASE:\s*['"]?(\w+)['"]?\s*$/m.exec(readFileSync(network, "utf8"));
    if (match?.[1] === "minimal") return "minimal";
  }
  return "mainnet";
}

const argv = process.argv.slice(2);
const preset = presetFor(argv, process.env);
if (process.env.LODESTAR_PRESET && process.env.LODESTAR_PRESET !== preset) {
  console.error(`error: LODESTAR_PRESET=${process.env.LODESTAR_PRESET} but the network needs the ${preset} preset`);
  process.exit(2);
}
process.env.LODESTAR_PRESET = preset;

const { runCli } = await import("./commands.js");
process.exitCode = await runCli(argv);
