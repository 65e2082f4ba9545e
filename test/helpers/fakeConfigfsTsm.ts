import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

export interface FakeTsmOptions {
  provider: "tdx_guest" | "sev_guest" | string;
  /** SEV-SNP: the lowest VMPL this guest may ask a report for. */
  privlevelFloor?: number;
  /** SEV-SNP: the host's certificate table. */
  auxblob?: Uint8Array;
  /** What the TSM returns for this inblob at this privilege level. */
  report: (inblob: Uint8Array, privlevel: number | undefined) => Uint8Array;
}

export interface FakeTsmEntry {
  /** Every report served: its inblob, the privlevel in effect and the generation it was made at. */
  readonly reports: { inblob: Uint8Array; privlevel: number | undefined; generation: number }[];
  /** Another process writes inblob during each of the next `n` reports (the generation moves twice). */
  raceNext(n: number): void;
  stop(): Promise<void>;
}

/**
 * Makes `entry` (a directory the code under test created with mkdir) behave like a configfs-tsm
 * report entry: attribute files as the kernel creates them, `inblob` and `outblob` as FIFOs so each
 * write of inblob is seen (and bumps `generation`, as the kernel does on every write) and outblob is
 * produced when read, from the last inblob. Real files and a real reader and writer on them; the
 * code under test is not touched.
 */
export function serveTsmEntry(entry: string, opts: FakeTsmOptions): FakeTsmEntry {
  let generation = 0;
  let races = 0;
  let stopped = false;
  const reports: FakeTsmEntry["reports"] = [];
  writeFileSync(join(entry, "provider"), opts.provider + "\n");
  writeFileSync(join(entry, "generation"), `${generation}\n`);
  if (opts.privlevelFloor !== undefined) writeFileSync(join(entry, "privlevel_floor"), `${opts.privlevelFloor}\n`);
  if (opts.auxblob) writeFileSync(join(entry, "auxblob"), opts.auxblob);
  execFileSync("mkfifo", [join(entry, "inblob"), join(entry, "outblob")]);

  const loop = (async () => {
    for (;;) {
      const reader = await open(join(entry, "inblob"), "r");
      const inblob = new Uint8Array(await reader.readFile());
      await reader.close();
      if (stopped) return;
      generation += races > 0 ? 2 : 1;
      if (races > 0) races--;
      writeFileSync(join(entry, "generation"), `${generation}\n`);
      const privFile = join(entry, "privlevel");
      const privlevel = existsSync(privFile) ? Number(readFileSync(privFile, "utf8").trim()) : undefined;
      reports.push({ inblob, privlevel, generation });
      const writer = await open(join(entry, "outblob"), "w");
      await writer.write(opts.report(inblob, privlevel));
      await writer.close();
    }
  })();

  return {
    reports,
    raceNext(n) {
      races = n;
    },
    async stop() {
      stopped = true;
      // Unblocks the reader waiting for the next inblob writer.
      await (await open(join(entry, "inblob"), "w")).close();
      await loop;
    },
  };
}

