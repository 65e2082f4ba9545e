/**
 * The PostgreSQL sign path, in batches. Requests that arrive while a batch is in the database wait
 * and go together: one transaction tries every key's advisory lock, reads the evidence of the keys
 * it holds in one statement and, once rules.ts has decided each request, inserts every allowed
 * record in one statement and commits. The database's work per transaction (planning, the
 * commit's WAL flush) and the client's protocol work on the HTTP thread are then paid once per
 * batch rather than once per request, and the commit runs while the signatures are computed.
 *
 * A batch holds at most one request per key, and a key is in at most one batch at a time, so a
 * key's requests are decided in the order they arrived.
 */
import pg from "pg";
import { SignerError } from "../errors.js";
import { SlashingError, StorageError } from "./errors.js";
import { decideAttestation, decideBlock, type AttestationRecord, type Decision } from "./rules.js";
import type { AttestationVote, BlockProposal, Recorded, SlashingObserver } from "./store.js";

export type SignItem = { kind: "block"; proposal: BlockProposal } | { kind: "attestation"; vote: AttestationVote };

interface Pending {
  item: SignItem;
  pubkey: string;
  /**
   * When the request gives up (ms, Date.now()): waiting in the queue, in a batch the database does
   * not answer, for a key that other transactions hold, or for its commit.
   */
  deadline: number;
  /** Not batched before this moment: its key's lock was taken when last tried. */
  notBefore: number;
  /** Answered: by its batch, or at its deadline by its timer. */
  settled: boolean;
  /** Settle it once; later calls (a batch answering after the deadline) do nothing. */
  resolve: (r: Recorded) => void;
  reject: (e: unknown) => void;
}

/** Bounds the statement size; a longer queue waits for the next batch. */
const MAX_BATCH = 256;

/** How long a request whose key was locked elsewhere waits before its lock is tried again. */
const LOCK_RETRY_MS = 10;

/** Seeds the key-lock hash; the same on the sign path and in imports, so both exclude each other. */
export const LOCK_SEED = 3076;

/** A bigint column as node-postgres returns it (a string), as a number. */
export const num = (v: string | null): number | null => (v === null ? null : Number(v));

const storeClosed = () => new StorageError("STORE_CLOSED", "the slashing protection store is closed");

type AttestationRow = { w: { maxSource: number | null; maxTarget: number | null } | null } & Record<
  "same" | "surrounded" | "surrounding",
  AttestationRecord | null
>;
type BlockRow = { max_slot: string | null; same_root: string | null; same: boolean };

export class PostgresSignBatcher {
  private readonly queue: Pending[] = [];
  private readonly keysInFlight = new Set<string>();
  /** The batch in the database, until it has committed or failed. */
  private running: Promise<void> | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  /**
   * @param withClient runs `fn` on a pooled connection and maps its failures to StorageError
   * @param deadlineMs how long a request waits for its decision, and then for its commit: in the
   *   queue, in a batch, or for a key that other transactions hold
   * @param observer told of each batch, and of the requests that found their key locked elsewhere
   *   (once per batch, with counts); its callbacks must not throw (store.ts guardObserver)
   */
  constructor(
    private readonly withClient: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>,
    private readonly deadlineMs: number,
    private readonly observer: SlashingObserver,
  ) {}

  /** `item` must be the store's own copy: the statements are built from it later. */
  submit(item: SignItem): Promise<Recorded> {
    if (this.closed) return Promise.reject(storeClosed());
    try {
      assertLiterals(item);
    } catch (e) {
      return Promise.reject(e);
    }
    const pubkey = item.kind === "block" ? item.proposal.pubkey : item.vote.pubkey;
    return new Promise((resolve, reject) => {
      const settle = (fn: () => void) => {
        if (p.settled) return;
        p.settled = true;
        clearTimeout(timer);
        fn();
      };
      const deadline = Date.now() + this.deadlineMs;
      const p: Pending = {
        item,
        pubkey,
        deadline,
        notBefore: 0,
        settled: false,
        // The commit is waited for until the same deadline: a COMMIT the database never answers
        // would otherwise hold the request for another full query timeout.
        resolve: (r) => settle(() => resolve({ durable: () => beforeDeadline(r.durable(), deadline, this.deadlineMs) })),
        reject: (e) => settle(() => reject(e)),
      };
      // A request queued behind a batch the database does not answer, or in it, is refused at its
      // deadline whatever the batch does; if that batch records it later, it was never signed.
      const timer = setTimeout(() => {
        const queued = this.queue.indexOf(p);
        if (queued >= 0) this.queue.splice(queued, 1);
        // Found locked before (notBefore set): it waited for another transaction's key.
        if (p.notBefore > 0) this.observer.lockTimeouts(1);
        p.reject(p.notBefore > 0 ? this.lockedTooLong(p) : noAnswer(this.deadlineMs));
      }, this.deadlineMs);
      this.queue.push(p);
      this.pump();
    });
  }

  /** Refuses what has not been sent to the database; batches already there finish. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const error = storeClosed();
    for (const p of this.queue.splice(0)) p.reject(error);
  }

  /**
   * One batch in the database at a time: measured here, a second one in flight made batches
   * smaller and both throughput and latency worse (bench/, PostgreSQL row).
   */
  private pump(): void {
    if (this.running !== null || this.closed || this.queue.length === 0) return;
    const batch = this.take();
    if (batch.length === 0) {
      // Only requests whose key is held elsewhere: try again when the first of them may go.
      const next = this.queue.reduce((min, p) => Math.min(min, p.notBefore), Infinity);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.pump(), Math.max(1, next - Date.now()));
      return;
    }
    this.running = this.run(batch).finally(() => {
      this.running = null;
      this.pump();
    });
    this.observer.batch(batch.length);
  }

  /**
   * Settles once the batch in the database now has committed or failed. Its requests were decided,
   * and may be signing, before it commits: a reader that must see every record whose signature
   * can still be released (an export for a deleted key) waits for this first.
   */
  async settled(): Promise<void> {
    await this.running;
  }

  /**
   * The oldest waiting request of each key that may go now, in arrival order. A key waits while
   * one of its requests is in the database or its oldest request is backing off.
   */
  private take(): Pending[] {
    const now = Date.now();
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const waiting = new Set<string>();
    for (const p of this.queue) {
      if (batch.length < MAX_BATCH && !this.keysInFlight.has(p.pubkey) && !waiting.has(p.pubkey) && p.notBefore <= now) {
        this.keysInFlight.add(p.pubkey);
        batch.push(p);
      } else {
        waiting.add(p.pubkey);
        rest.push(p);
      }
    }
    this.queue.splice(0, this.queue.length, ...rest);
    return batch;
  }

  /**
   * One transaction for the batch. Its locks are only tried, never waited for: a key that another
   * transaction holds (another process signing or importing it) leaves the batch and goes back to
   * the head of the queue, to be tried again in a later batch until its deadline. No connection
   * ever waits for a lock, so held keys delay only their own requests.
   */
  private async run(batch: Pending[]): Promise<void> {
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
            `BEGIN; ${lockSql(batch.map((p) => p.pubkey))}` +
              (attestations.length > 0 ? attestationEvidenceSql(attestations) : "") +
              (blocks.length > 0 ? blockEvidenceSql(blocks) : ""),
          )) as unknown as pg.QueryResult[];
          const locked = results[1]!.rows.map((r: { locked: boolean }) => r.locked);
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
          await endFailedTransaction(c, e);
          throw e;
        }
      });
      commit!();
    } catch (e) {
      commit!(e);
      if (missed === undefined) for (const p of batch) p.reject(e);
    }
    for (const p of batch) this.keysInFlight.delete(p.pubkey);
    this.retry(missed ?? []);
  }

  private lockedTooLong(p: Pending): StorageError {
    return new StorageError(
      "DATABASE_UNAVAILABLE",
      `slashing database (PostgreSQL): key ${p.pubkey} stayed locked by another transaction (another signer instance or an import) for ${this.deadlineMs} ms`,
    );
  }

  /** Back to the head of the queue, ahead of their keys' later requests, or refused past their deadline. */
  private retry(missed: Pending[]): void {
    if (missed.length === 0) return;
    const now = Date.now();
    const again: Pending[] = [];
    let timedOut = 0;
    for (const p of missed) {
      if (p.settled) continue;
      if (now >= p.deadline || this.closed) {
        if (!this.closed) timedOut++;
        p.reject(this.closed ? storeClosed() : this.lockedTooLong(p));
      } else {
        p.notBefore = now + LOCK_RETRY_MS;
        again.push(p);
      }
    }
    this.queue.unshift(...again);
    if (again.length > 0) this.observer.lockRetries(again.length);
    if (timedOut > 0) this.observer.lockTimeouts(timedOut);
  }
}

const noAnswer = (ms: number) =>
  new StorageError("DATABASE_UNAVAILABLE", `slashing database (PostgreSQL) unavailable: no answer within ${ms} ms (--slashing-db-timeout-ms)`);

/** `promise`, or DATABASE_UNAVAILABLE once `deadline` (Date.now() ms) has passed. */
function beforeDeadline<T>(promise: Promise<T>, deadline: number, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(noAnswer(ms)), Math.max(0, deadline - Date.now()))));
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Ends a transaction that failed: ROLLBACK when the connection is still in step with the server
 * (the server refused a statement, or our own code threw), nothing when a query timed out or the
 * connection broke. Such a connection would make ROLLBACK wait out another full timeout; the
 * caller's withClient destroys it instead, which ends the transaction on the server as well.
 */
export async function endFailedTransaction(c: pg.ClientBase, e: unknown): Promise<void> {
  if (e instanceof pg.DatabaseError || e instanceof SignerError) await c.query("ROLLBACK").catch(() => undefined);
}

/** One result row per key, in the order given, saying whether this transaction now holds its lock. */
function lockSql(pubkeys: string[]): string {
  return `SELECT pg_try_advisory_xact_lock(hashtextextended(k, ${LOCK_SEED})) AS locked FROM unnest(${textArray(pubkeys)}) WITH ORDINALITY AS u(k, n) ORDER BY n;`;
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
  const maxSlot = num(row.max_slot);
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
    if (typeof hex !== "string" || !/^0x[0-9a-f]+$/.test(hex)) throw new Error(`not a lower-case hex literal: ${hex}`);
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
