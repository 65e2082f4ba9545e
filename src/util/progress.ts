/**
 * Progress of a long batch (keystore decryption: a scrypt keystore takes about a second) as log
 * lines: one each tenth of the way and one at the end, so 1,000 keystores give 10 lines, not 1,000,
 * and an operator sees the signer working rather than a silent port. Batches under 10 items are
 * logged at the end only.
 */
export function progressSteps(report: (done: number, total: number) => void): (done: number, total: number) => void {
  let lastStep = 0;
  return (done, total) => {
    const step = Math.floor((done * 10) / total);
    if (done === total || (total >= 10 && step > lastStep)) {
      lastStep = step;
      report(done, total);
    }
  };
}

/** Where a progress bar is drawn: a terminal (stderr) or, in tests, any stream that says it is one. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

type Report = (done: number, total: number, detail?: string) => void;

/**
 * One line, redrawn in place (`\r`, then erase to the end of the line) at each step:
 * `label [#####     ] 3/10 detail`, fitted to the terminal's width so it never wraps, and ended
 * with a newline when the batch is done.
 */
export function progressBar(stream: ProgressStream, label: string): Report {
  return (done, total, detail = "") => {
    const columns = Math.max(20, stream.columns ?? 80) - 1;
    const count = ` ${done}/${total}`;
    // Half of what is left after the label and the count, so that the detail (a file name) has room too.
    const width = Math.max(10, Math.min(30, Math.floor((columns - label.length - count.length - 3) / 2)));
    const filled = Math.min(width, Math.round((done / Math.max(1, total)) * width));
    const line = `${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}]${count}`;
    const room = columns - line.length - 1;
    const tail = detail && room > 3 ? ` ${detail.length > room ? `…${detail.slice(-(room - 1))}` : detail}` : "";
    stream.write(`\r${line}${tail}`.slice(0, columns + 1) + "\x1b[K" + (done === total ? "\n" : ""));
  };
}

/** A bar on `stream` when it is a terminal; `otherwise` (log lines) when it is not, e.g. under systemd or in a pipe. */
export function terminalProgress(stream: ProgressStream, label: string, otherwise: Report): Report {
  return stream.isTTY ? progressBar(stream, label) : otherwise;
}
