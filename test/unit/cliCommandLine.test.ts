/**
 * readCommandLine: what main.ts and runCli learn from the line before a command parses it: the
 * first argument, the rest for the command, and whether the command's usage is asked for.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readCommandLine } from "../../src/cli/args.js";

describe("readCommandLine", () => {
  it("names the command by the first argument and hands the rest, flags and values alike, to it", () => {
    assert.deepEqual(readCommandLine(["serve", "--network", "hoodi", "--data-dir=/d", "x"]), {
      command: "serve",
      args: ["--network", "hoodi", "--data-dir=/d", "x"],
      help: false,
    });
    assert.deepEqual(readCommandLine(["keys", "import", "--passwords-dir", "p"]), { command: "keys", args: ["import", "--passwords-dir", "p"], help: false });
  });

  it("reads a flag first as what it asks for, and no argument as no command", () => {
    assert.equal(readCommandLine(["--help"]).command, "--help");
    assert.equal(readCommandLine(["-h"]).command, "-h");
    assert.equal(readCommandLine(["--version"]).command, "--version");
    // Not a command: runCli names it in its refusal, whatever follows.
    assert.deepEqual(readCommandLine(["--network", "hoodi", "serve"]), { command: "--network", args: ["hoodi", "serve"], help: false });
    assert.deepEqual(readCommandLine([]), { command: undefined, args: [], help: false });
  });

  it("asks for the command's usage with --help or -h anywhere after it, but not past -- nor as a flag's inline value", () => {
    for (const args of [["--help"], ["-h"], ["import", "--help"], ["--network", "hoodi", "-h"], ["--data-dir", "--help"]]) {
      assert.equal(readCommandLine(["keys", ...args]).help, true, args.join(" "));
    }
    for (const args of [["--", "--help"], ["--data-dir=--help"], ["help"], ["--helpful"]]) {
      assert.equal(readCommandLine(["keys", ...args]).help, false, args.join(" "));
    }
  });
});
