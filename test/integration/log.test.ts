import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const child = fileURLToPath(new URL("../helpers/bufferedLogChild.ts", import.meta.url));

/** Resolves with the stdout gathered so far once `pattern` is in it, or rejects after `ms`. */
function waitFor(out: () => string, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const poll = setInterval(() => {
      if (pattern.test(out())) {
        clearInterval(poll);
        resolve(out());
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error(`no ${pattern} in stdout after ${ms} ms: ${out()}`));
      }
    }, 20);
  });
}

describe("serve's buffered stdout", () => {
  it("writes a lone line without waiting for more, and the last one when the process exits", async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", child], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));
    try {
      // Far less than the 4 KB that fills the buffer: only the periodic flush can write it.
      const first = await waitFor(() => out, /"msg":"first"/, 10_000);
      assert.match(first, /"secret":"\[redacted\]"/);
      assert.doesNotMatch(first, /hunter2/);
      proc.kill("SIGTERM");
      assert.equal(await exited, 0);
      // Logged just before exit, inside a flush period: written by the flush on exit.
      assert.match(out, /"msg":"last"/);
    } finally {
      proc.kill("SIGKILL");
    }
  });
});
