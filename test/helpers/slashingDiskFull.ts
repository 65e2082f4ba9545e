/**
 * Child process for the commit-failure test, started under a small file-size limit (`ulimit -f`):
 * once the WAL cannot grow, SQLite's writes fail and so do the commits of new records.
 *
 * Each round decides one block per key, asks for their commit, and once that batch is on its way
 * to the database repeats every request exactly: the repeats are decided against histories that
 * hold the batch in flight, and a repeat adds no record, so its own commit would succeed even on a
 * full disk. Prints one line per request, "<key> <slot> <root> released" once it may be released
 * (durable), "<key> <slot> <root> <code>" otherwise.
 * Usage: node --import tsx test/helpers/slashingDiskFull.ts <sqlite-path>
 */
import { openSqliteStore } from "../../src/slashing/sqlite.js";
import type { Recorded } from "../../src/slashing/store.js";
import { GVR, pubkey, root } from "./slashingBackends.js";

// Past the limit the kernel sends SIGXFSZ, which would end the process; ignored, the write fails instead.
process.on("SIGXFSZ", () => undefined);

const KEYS = 16;
const store = await openSqliteStore(process.argv[2]!, { genesisValidatorsRoot: GVR });
const decide = (key: number, slot: number): Promise<Recorded> =>
  store.checkAndRecordBlock({ pubkey: pubkey(key), genesisValidatorsRoot: GVR, slot, signingRoot: root(slot) });
const outcome = async (key: number, slot: number, recorded: Promise<Recorded>): Promise<string> => {
  try {
    await (await recorded).durable();
    return `${key} ${slot} ${root(slot)} released`;
  } catch (e) {
    return `${key} ${slot} ${root(slot)} ${(e as { code?: string }).code ?? "ERROR"}`;
  }
};
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

let failedRounds = 0;
for (let slot = 1; failedRounds < 5 && slot < 2000; slot++) {
  const keys = Array.from({ length: KEYS }, (_, i) => i + 1);
  const originals = keys.map((k) => decide(k, slot));
  await Promise.allSettled(originals);
  // Asking for one record's durability sends the batch at the end of this turn.
  void originals[0]!.then((r) => r.durable()).catch(() => undefined);
  await nextTurn();
  await nextTurn();
  const repeats = keys.map((k) => decide(k, slot));
  const lines = await Promise.all([...keys.map((k, i) => outcome(k, slot, originals[i]!)), ...keys.map((k, i) => outcome(k, slot, repeats[i]!))]);
  if (lines.some((l) => l.endsWith("COMMIT_FAILED"))) failedRounds++;
  process.stdout.write(lines.join("\n") + "\n");
}
await store.close().catch(() => undefined);
