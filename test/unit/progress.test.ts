import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { progressBar, progressSteps, terminalProgress } from "../../src/util/progress.js";

/** A real Writable that says it is a terminal `columns` wide (or not), keeping what is written. */
function fakeTerminal(isTTY: boolean, columns = 60): Writable & { isTTY: boolean; columns: number; chunks: string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  return Object.assign(stream, { isTTY, columns, chunks });
}

const visible = (chunk: string) => chunk.replace(/^\r/, "").replace(/\x1b\[K/, "").replace(/\n$/, "");

describe("progress on a terminal", () => {
  it("redraws one line in place, fitted to the width, and ends it when done", () => {
    const tty = fakeTerminal(true, 60);
    const report = terminalProgress(tty, "decrypting", () => assert.fail("a terminal gets the bar, not log lines"));
    for (let done = 1; done <= 4; done++) report(done, 4, `/very/long/path/to/the/keystores/keystore-m_12381_3600_${done}_0_0.json`);
    assert.equal(tty.chunks.length, 4);
    for (const chunk of tty.chunks) {
      assert.ok(chunk.startsWith("\r") && chunk.includes("\x1b[K"), JSON.stringify(chunk));
      assert.ok(visible(chunk).length < 60, `fits in 59 columns: ${JSON.stringify(visible(chunk))}`);
      assert.ok(!visible(chunk).includes("\n"));
    }
    assert.ok(tty.chunks.slice(0, 3).every((c) => !c.endsWith("\n")), "one line until the end");
    assert.ok(tty.chunks[3]!.endsWith("\n"));
    const bar = (chunk: string) => /\[(#*)( *)\] (\d+)\/4/.exec(visible(chunk))!;
    const [, half, rest, count] = bar(tty.chunks[1]!);
    assert.equal(count, "2");
    assert.equal(half!.length, Math.round((half!.length + rest!.length) / 2), "half way, half filled");
    assert.equal(bar(tty.chunks[3]!)[2], "", "full at the end");
    assert.match(visible(tty.chunks[3]!), /…[^/]*_4_0_0\.json$/, "the detail keeps its end");
  });

  it("a narrow terminal still gets a line that does not wrap", () => {
    const tty = fakeTerminal(true, 30);
    progressBar(tty, "keystores decrypting")(1, 1000, "k.json");
    assert.ok(visible(tty.chunks[0]!).length < 30, JSON.stringify(tty.chunks[0]));
  });

  it("off a terminal, the log lines as before: one per tenth, none drawn", () => {
    const pipe = fakeTerminal(false);
    const lines: Array<[number, number]> = [];
    const report = terminalProgress(pipe, "decrypting", progressSteps((done, total) => lines.push([done, total])));
    for (let done = 1; done <= 100; done++) report(done, 100);
    assert.deepEqual(pipe.chunks, []);
    assert.deepEqual(lines.map(([done]) => done), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });
});
