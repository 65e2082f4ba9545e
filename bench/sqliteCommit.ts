/**
 * `npm run bench:sqlite`: CPU per record of the SQLite slashing database's group commit alone
 * (SqliteEngine on this thread, no HTTP, no BLS), the way the signer writes under load: batches
 * of distinct keys, each with a rising target epoch, WAL and synchronous=FULL as in production.
 * A schema or pragma change shows here within ±5%, where the whole-signer benchmark drifts
 * with the VM by more than that. Prints figures; asserts nothing.
 *
 * Environment: BENCH_KEYS (default 200), BENCH_BATCH (records per commit, default 30),
 * BENCH_COMMITS (measured commits, default 1500, after 500 to build up history).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteEngine, type SignRecord } from "../src/slashing/sqliteEngine.js";

const keyCount = Number(process.env.BENCH_KEYS ?? 200);
const batchSize = Math.min(keyCount, Number(process.env.BENCH_BATCH ?? 30));
const commits = Number(process.env.BENCH_COMMITS ?? 1500);
const GVR = "0x" + "11".repeat(32);

const dir = await mkdtemp(join(tmpdir(), "secure-signer-bench-sqlite-"));
try {
  const engine = new SqliteEngine(join(dir, "slashing-protection.sqlite"), GVR);
  const keys = Array.from({ length: keyCount }, (_, i) => "0x" + i.toString(16).padStart(96, "0"));
  let epoch = 1;
  const batch = (): SignRecord[] => {
    const picked = new Set<string>();
    while (picked.size < batchSize) picked.add(keys[Math.floor(Math.random() * keyCount)]!);
    return [...picked].map((pubkey) => {
      const targetEpoch = epoch++;
      return { kind: "attestation", pubkey, sourceEpoch: targetEpoch - 1, targetEpoch, signingRoot: "0x" + targetEpoch.toString(16).padStart(64, "0") };
    });
  };
  for (let i = 0; i < 500; i++) engine.commitRecords(GVR, batch());
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < commits; i++) engine.commitRecords(GVR, batch());
  const used = process.cpuUsage(cpu);
  const records = commits * batchSize;
  engine.close();
  console.log(
    `SQLite group commit, ${keyCount} keys, ${batchSize} records per commit, ${commits} commits: ` +
      `${((used.user + used.system) / records).toFixed(1)} us CPU per record (user ${(used.user / records).toFixed(1)}, ` +
      `system ${(used.system / records).toFixed(1)}), ${(((performance.now() - started) * 1000) / records).toFixed(1)} us wall per record`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
