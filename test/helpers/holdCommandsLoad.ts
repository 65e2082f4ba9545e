/**
 * `--import` this (after tsx) into a CLI process to stop it while it loads the command modules:
 * when src/cli/commands.ts is about to load, it writes HOLD_MARK on standard output and waits until
 * the file named by the environment variable HOLD_RELEASE exists. What a test does meanwhile (send
 * a signal) reaches the process between the entry point's start and the commands' own set-up.
 */
import { existsSync, writeSync } from "node:fs";
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";
import { MAIN } from "./cli.js";

/** The node arguments that run the CLI from source with this hold. */
export const HELD_CLI = ["--import", "tsx", "--import", new URL(import.meta.url).pathname, MAIN];
export const HOLD_MARK = "holding the command modules\n";
export const HOLD_RELEASE = "SECURE_SIGNER_TEST_HOLD_RELEASE";

// Registered from the main thread; the hooks themselves run in Node's module-hooks thread.
if (isMainThread) register(import.meta.url);

export async function load(url: string, context: unknown, nextLoad: (url: string, context: unknown) => Promise<unknown>): Promise<unknown> {
  if (url.endsWith("/src/cli/commands.ts")) {
    writeSync(1, HOLD_MARK);
    while (!existsSync(process.env[HOLD_RELEASE]!)) await new Promise((r) => setTimeout(r, 10));
  }
  return nextLoad(url, context);
}
