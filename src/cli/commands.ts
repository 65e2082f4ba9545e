import { readFileSync } from "node:fs";
import { SignerError } from "../errors.js";
import { TeeError } from "../tee/errors.js";
import type { CommandLine } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";
import { initCommand } from "./init.js";
import { keysCommand } from "./keys.js";
import { serveCommand } from "./serve.js";
import { slashingProtectionCommand } from "./slashingProtection.js";
import { teeCommand } from "./tee.js";
import { verifyEvidenceCommand } from "./verifyEvidence.js";

const COMMANDS: Command[] = [serveCommand, initCommand, keysCommand, slashingProtectionCommand, verifyEvidenceCommand, teeCommand];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    "secure-signer: a remote signer for Ethereum validators (Web3Signer eth2 API) with EIP-3076 slashing protection",
    "",
    "Usage: secure-signer <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Run `secure-signer <command> --help` for the options of a command.",
  ].join("\n");
}

/** Runs one CLI command; returns the process exit code (0 ok, 1 failed, 2 usage). */
export async function runCli(line: CommandLine): Promise<number> {
  const { command: name, args, help } = line;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "version") {
    console.log(version());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`error: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  try {
    if (help) {
      console.log(command.usage);
      return 0;
    }
    return await command.run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    // Scripts and operators act on which check refused a migration or a start (NOT_ALLOWLISTED,
    // UNSEAL_FAILED …): it leads the message.
    if (e instanceof TeeError) {
      console.error(`error: ${e.code}: ${e.message}`);
      return 1;
    }
    if (e instanceof SignerError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

