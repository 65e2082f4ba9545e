import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
/** The CLI entry, run from source with `--import tsx`. */
export const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** Runs `secure-signer ARGS…` from source as its own process; never throws on a non-zero exit. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", MAIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
