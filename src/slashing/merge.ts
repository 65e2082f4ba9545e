/**
 * What both backends do with interchange data beyond storing rows, written once: the merge of an
 * imported file (which writes, in which order, and how the summary counts them) and the grouping of
 * exported rows into one state per key. Each backend only carries out the writes and reads the rows.
 */
import type { ImportedKey, KeyState, ParsedInterchange } from "./interchange.js";
import type { AttestationRecord, BlockRecord } from "./rules.js";
import type { ImportSummary } from "./store.js";

/** One write of a merge. The backend answers with the rows it added: 0 when it already holds a record at that slot or target. */
export type MergeWrite =
  | { kind: "watermarks"; key: ImportedKey }
  | { kind: "block"; pubkey: string; block: BlockRecord }
  | { kind: "attestation"; pubkey: string; attestation: AttestationRecord };

/**
 * Each key's watermarks are raised to the file's first, then its records are added; a record the
 * database already holds at its slot or target is kept as it is and counted skipped, as are the
 * entries parseInterchange already dropped.
 */
function* mergeWrites(parsed: ParsedInterchange): Generator<MergeWrite, ImportSummary, number> {
  const summary: ImportSummary = { keys: parsed.keys.length, blocks: 0, attestations: 0, skipped: 0 };
  for (const key of parsed.keys) {
    yield { kind: "watermarks", key };
    summary.skipped += key.skipped;
    for (const block of key.blocks) {
      const added = yield { kind: "block", pubkey: key.pubkey, block };
      summary.blocks += added;
      summary.skipped += 1 - added;
    }
    for (const attestation of key.attestations) {
      const added = yield { kind: "attestation", pubkey: key.pubkey, attestation };
      summary.attestations += added;
      summary.skipped += 1 - added;
    }
  }
  return summary;
}

/** The merge on a synchronous connection (SQLite), inside the caller's transaction. */
export function merge(parsed: ParsedInterchange, write: (w: MergeWrite) => number): ImportSummary {
  const writes = mergeWrites(parsed);
  let step = writes.next();
  while (!step.done) step = writes.next(write(step.value));
  return step.value;
}

/** The merge on an asynchronous connection (PostgreSQL), inside the caller's transaction. */
export async function mergeAsync(parsed: ParsedInterchange, write: (w: MergeWrite) => Promise<number>): Promise<ImportSummary> {
  const writes = mergeWrites(parsed);
  let step = writes.next();
  while (!step.done) step = writes.next(await write(step.value));
  return step.value;
}

export type WatermarkRow = Omit<KeyState, "blocks" | "attestations">;

/**
 * One state per key that has a watermarks row, in the order of `watermarks`, each with its records
 * in the order given; a record of a key without watermarks (none is written without) is left out.
 */
export function groupStates(
  watermarks: WatermarkRow[],
  blocks: Array<BlockRecord & { pubkey: string }>,
  attestations: Array<AttestationRecord & { pubkey: string }>,
): KeyState[] {
  const byKey = new Map<string, KeyState>();
  for (const w of watermarks) byKey.set(w.pubkey, { ...w, blocks: [], attestations: [] });
  for (const { pubkey, slot, signingRoot } of blocks) byKey.get(pubkey)?.blocks.push({ slot, signingRoot });
  for (const { pubkey, sourceEpoch, targetEpoch, signingRoot } of attestations) {
    byKey.get(pubkey)?.attestations.push({ sourceEpoch, targetEpoch, signingRoot });
  }
  return [...byKey.values()];
}
