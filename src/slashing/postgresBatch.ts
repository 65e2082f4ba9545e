/**
 * The PostgreSQL sign path, in batches. Requests that arrive while earlier batches are in the
 * database wait and go together: one transaction locks every key of the batch, reads all their
 * evidence in one statement, and, once rules.ts has decided each request, inserts every allowed
 * record in one statement and commits. The database's work per transaction (locks, planning,
 * the commit's WAL flush) and the client's protocol work on the HTTP thread are then paid once per
 * batch rather than once per request, and the commit runs while the signatures are computed.
 *
 * A batch holds at most one request per key, and no two batches of this process hold the same key,
 * so a key's requests are decided in the order they arrived.
 */
import type pg from "pg";
import { SlashingError, StorageError } from "./errors.js";
import { decideAttestation, decideBlock, type AttestationRecord, type Decision } from "./rules.js";
import type { AttestationVote, BlockProposal, Recorded } from "./store.js";

export type SignItem = { kind: "block"; proposal: BlockProposal } | { kind: "attestation"; vote: AttestationVote };

interface Pending {
  item: SignItem;
  pubkey: string;
  resolve: (r: Recorded) => void;
  reject: (e: unknown) => void;
}

/** Bounds the statement size; a longer queue waits for the next batch. */
const MAX_BATCH = 256;

/** Seeds the key-lock hash; the same on the sign path and in imports, so both exclude each other. */
export const LOCK_SEED = 3076;

type AttestationRow = { w: { maxSource: number | null; maxTarget: number | null } | null } & Record<
  "same" | "surrounded" | "surrounding",
  AttestationRecord | null
>;
type BlockRow = { max_slot: string | null; same_root: string | null; same: boolean };

export class PostgresSignBatcher {
  private readonly queue: Pending[] = [];
  private readonly keysInFlight = new Set<string>();
  private running = false;
  private closed = false;

  /** @param withClient runs `fn` on a pooled connection and maps its failures to StorageError */
  constructor(private readonly withClient: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>) {}

  submit(item: SignItem): Promise<Recorded> {
    if (this.closed) return Promise.reject(new StorageError("STORE_CLOSED", "the slashing protection store is closed"));
    try {
      assertLiterals(item);
    } catch (e) {
      return Promise.reject(e);
    }
    const pubkey = item.kind === "block" ? item.proposal.pubkey : item.vote.pubkey;
    return new Promise((resolve, reject) => {
      this.queue.push({ item, pubkey, resolve, reject });
      this.pump();
    });
  }

  /** Refuses what has not been sent to the database; batches already there finish. */
  close(): void {
    this.closed = true;
    const error = new StorageError("STORE_CLOSED", "the slashing protection store is closed");
    for (const p of this.queue.splice(0)) p.reject(error);
  }

  /**
   * One batch in the database at a time: measured here, a second one in flight made batches
   * smaller and both throughput and latency worse (bench/, PostgreSQL row).
   */
  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const batch = this.take();
    if (batch.length === 0) return;
    this.running = true;
    void this.run(batch, "try").finally(() => {
      this.running = false;
      this.pump();
    });
  }

  /** The oldest waiting request of each key not already in the database, in arrival order. */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const p of this.queue) {
      if (batch.length < MAX_BATCH && !this.keysInFlight.has(p.pubkey)) {
        this.keysInFlight.add(p.pubkey);
        batch.push(p);
      } else {
        rest.push(p);
      }
    }
    this.queue.splice(0, this.queue.length, ...rest);
    return batch;
  }

  /**
   * One transaction for the batch. A batch only tries its keys' locks: a key that another
   * transaction holds (another process signing or importing it, or a connection that died inside a
   * transaction and still holds it) must not stall every key batched with it. Its request goes on
   * alone, in a transaction that waits for the lock as long as the statement timeout allows.
   */
  private async run(batch: Pending[], lock: "try" | "wait"): Promise<void> {
    let decided: Pending[] = [];
    // Set once the locks and evidence are read: the requests whose key another transaction holds.
    let missed: Pending[] | undefined;
    let commit: ((error?: unknown) => void) | undefined;
    const committed = new Promise<void>((resolve, reject) => (commit = (e) => (e === undefined ? resolve() : reject(e))));
    // Callers that failed before asking for durable() must not leave a rejection unhandled.
    committed.catch(() => undefined);
    const recorded: Recorded = { durable: () => committed };
    try {
      await this.withClient(async (c) => {
        try {
          const attestations = batch.flatMap((p) => (p.item.kind === "attestation" ? [p.item.vote] : []));
          const blocks = batch.flatMap((p) => (p.item.kind === "block" ? [p.item.proposal] : []));
          const results = (await c.query(
            `BEGIN; ${lockSql(batch.map((p) => p.pubkey), lock)}` +
              (attestations.length > 0 ? attestationEvidenceSql(attestations) : "") +
              (blocks.length > 0 ? blockEvidenceSql(blocks) : ""),
          )) as unknown as pg.QueryResult[];
          const locked = results[1]!.rows.map((r: { locked: boolean | string }) => lock === "wait" || r.locked === true);
          const attestationRows = attestations.length > 0 ? (results[2]!.rows as AttestationRow[]) : [];
          const blockRows = blocks.length > 0 ? (results.at(-1)!.rows as BlockRow[]) : [];
          const decisions: Array<[Pending, Decision]> = [];
          const notLocked: Pending[] = [];
          const insertVotes: AttestationVote[] = [];
          const insertProposals: BlockProposal[] = [];
          let a = 0;
          let b = 0;
          batch.forEach((p, i) => {
            const row = p.item.kind === "attestation" ? attestationRows[a++]! : blockRows[b++]!;
            if (!locked[i]) return notLocked.push(p);
            const d =
              p.item.kind === "attestation"
                ? decideAttestationRow(row as AttestationRow, p.item.vote)
                : decideBlockRow(row as BlockRow, p.item.proposal);
            decisions.push([p, d]);
            if (d.allow && !d.repeat) {
              if (p.item.kind === "attestation") insertVotes.push(p.item.vote);
              else insertProposals.push(p.item.proposal);
            }
          });
          // Decided: signing may start now, the commit runs meanwhile and gates the release.
          decided = decisions.map(([p]) => p);
          missed = notLocked;
          for (const [p, d] of decisions) {
            if (d.allow) p.resolve(recorded);
            else p.reject(new SlashingError(d.code, d.message, d.conflicting ? { conflicting: d.conflicting } : {}));
          }
          await c.query(
            (insertVotes.length > 0 ? insertAttestationsSql(insertVotes) : "") +
              (insertProposals.length > 0 ? insertBlocksSql(insertProposals) : "") +
              "COMMIT",
          );
        } catch (e) {
          await c.query("ROLLBACK").catch(() => undefined);
          throw e;
        }
      });
      commit!();
    } catch (e) {
      commit!(e);
      if (missed === undefined) {
        for (const p of batch) p.reject(e);
        decided = batch;
      }
    }
    for (const p of decided) this.keysInFlight.delete(p.pubkey);
    // Still in keysInFlight, so the key's later requests keep waiting behind this one.
    for (const p of missed ?? []) void this.run([p], "wait").finally(() => this.pump());
  }
}

/**
 * Locks the batch's keys, one result row per key in the order given. Tried locks never wait, so
 * their order cannot deadlock; a waited-for lock is taken by a batch of one key.
 */
function lockSql(pubkeys: string[], lock: "try" | "wait"): string {
  const fn = lock === "try" ? "pg_try_advisory_xact_lock" : "pg_advisory_xact_lock";
  return `SELECT ${fn}(hashtextextended(k, ${LOCK_SEED})) AS locked FROM unnest(${textArray(pubkeys)}) WITH ORDINALITY AS u(k, n) ORDER BY n;`;
}

function decideAttestationRow(row: AttestationRow, v: AttestationVote): Decision {
  const ev = {
    maxSource: row.w?.maxSource ?? null,
    maxTarget: row.w?.maxTarget ?? null,
    ...(row.same && { sameTarget: row.same }),
    ...(row.surrounded && { surrounded: row.surrounded }),
    ...(row.surrounding && { surrounding: row.surrounding }),
  };
  return decideAttestation(ev, v.sourceEpoch, v.targetEpoch, v.signingRoot);
}

function decideBlockRow(row: BlockRow, p: BlockProposal): Decision {
  const maxSlot = row.max_slot === null ? null : Number(row.max_slot);
  const ev = row.same ? { maxSlot, sameSlot: { slot: p.slot, signingRoot: row.same_root } } : { maxSlot };
  return decideBlock(ev, p.slot, p.signingRoot);
}

/**
 * Evidence per vote, in the order given. Under READ COMMITTED each statement after the locks sees
 * everything the previous holder of a key's lock committed.
 */
function attestationEvidenceSql(votes: AttestationVote[]): string {
  const record = (where: string): string =>
    `(SELECT json_build_object('sourceEpoch', source_epoch, 'targetEpoch', target_epoch, 'signingRoot', signing_root)
      FROM signed_attestations a WHERE a.pubkey = i.pk AND a.gvr = i.g AND ${where} LIMIT 1)`;
  return `SELECT (SELECT json_build_object('maxSource', max_source, 'maxTarget', max_target)
                  FROM slashing_watermarks w WHERE w.pubkey = i.pk AND w.gvr = i.g) AS w,
                 ${record("a.target_epoch = i.t")} AS same,
                 ${record("a.source_epoch > i.s AND a.target_epoch < i.t")} AS surrounded,
                 ${record("a.source_epoch < i.s AND a.target_epoch > i.t")} AS surrounding
          FROM unnest(${textArray(votes.map((v) => v.pubkey))}, ${textArray(votes.map((v) => v.genesisValidatorsRoot))},
                      ${intArray(votes.map((v) => v.sourceEpoch))}, ${intArray(votes.map((v) => v.targetEpoch))})
               WITH ORDINALITY AS i(pk, g, s, t, n)
          ORDER BY i.n;`;
}

function blockEvidenceSql(proposals: BlockProposal[]): string {
  return `SELECT (SELECT max_slot FROM slashing_watermarks w WHERE w.pubkey = i.pk AND w.gvr = i.g) AS max_slot,
                 b.signing_root AS same_root, b.slot IS NOT NULL AS same
          FROM unnest(${textArray(proposals.map((p) => p.pubkey))}, ${textArray(proposals.map((p) => p.genesisValidatorsRoot))},
                      ${intArray(proposals.map((p) => p.slot))}) WITH ORDINALITY AS i(pk, g, slot, n)
          LEFT JOIN signed_blocks b ON b.pubkey = i.pk AND b.gvr = i.g AND b.slot = i.slot
          ORDER BY i.n;`;
}

function insertAttestationsSql(votes: AttestationVote[]): string {
  return `INSERT INTO signed_attestations (pubkey, gvr, source_epoch, target_epoch, signing_root, imported)
          SELECT pk, g, s, t, r, false
          FROM unnest(${textArray(votes.map((v) => v.pubkey))}, ${textArray(votes.map((v) => v.genesisValidatorsRoot))},
                      ${intArray(votes.map((v) => v.sourceEpoch))}, ${intArray(votes.map((v) => v.targetEpoch))},
                      ${textArray(votes.map((v) => v.signingRoot))}) AS i(pk, g, s, t, r);`;
}

function insertBlocksSql(proposals: BlockProposal[]): string {
  return `INSERT INTO signed_blocks (pubkey, gvr, slot, signing_root, imported)
          SELECT pk, g, slot, r, false
          FROM unnest(${textArray(proposals.map((p) => p.pubkey))}, ${textArray(proposals.map((p) => p.genesisValidatorsRoot))},
                      ${intArray(proposals.map((p) => p.slot))}, ${textArray(proposals.map((p) => p.signingRoot))}) AS i(pk, g, slot, r);`;
}

/**
 * The values go into the statements as literals, because several statements in one round trip need
 * the simple protocol, which takes no parameters. validate.ts already checked them; this refuses
 * anything else, per request, so that a bad one cannot fail the batch it would have joined.
 */
function assertLiterals(item: SignItem): void {
  const v = item.kind === "block" ? item.proposal : item.vote;
  for (const hex of [v.pubkey, v.genesisValidatorsRoot, v.signingRoot]) {
    if (!/^0x[0-9a-f]+$/.test(hex)) throw new Error(`not a lower-case hex literal: ${hex}`);
  }
  const ints = item.kind === "block" ? [item.proposal.slot] : [item.vote.sourceEpoch, item.vote.targetEpoch];
  for (const n of ints) if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a non-negative safe integer: ${n}`);
}

/** Values that passed assertLiterals. */
function textArray(values: string[]): string {
  return `ARRAY['${values.join("','")}']::text[]`;
}

function intArray(values: number[]): string {
  return `ARRAY[${values.join(",")}]::bigint[]`;
}
