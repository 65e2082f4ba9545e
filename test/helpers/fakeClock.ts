import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/**
 * The host's power over the clock, for signer processes: libfaketime (Debian's libfaketime, which
 * .ci/run installs) reads the offset from a file on every call, so a test moves a running
 * signer's wall clock by rewriting it. The monotonic clock is left alone, so timers still work.
 */
export class FakeClock {
  private constructor(private readonly file: string) {}

  static async create(dir: string): Promise<FakeClock> {
    if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: apt-get install libfaketime (.ci/run does)`);
    const clock = new FakeClock(join(dir, "faketime.txt"));
    await clock.set(0);
    return clock;
  }

  /** Moves the wall clock of every process started with `env` to the real time plus `seconds`. */
  async set(seconds: number): Promise<void> {
    const whole = Math.round(seconds);
    // libfaketime reads a signed offset; without the sign it would take the number as a date.
    await writeFile(this.file, `${whole < 0 ? "-" : "+"}${Math.abs(whole)}\n`);
  }

  get env(): NodeJS.ProcessEnv {
    return {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: this.file,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    };
  }
}
