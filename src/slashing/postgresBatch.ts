/**
 * The PostgreSQL sign path, in batches. Requests that arrive while a batch is in the database wait
 * and go together: one transaction tries every key's advisory lock and reads the evidence of the
 * keys it holds in one round trip and, once rules.ts has decided each request, inserts every
 * allowed record and commits in another. Values go as bind parameters, arrays of one element per
 * request. The database's work per transaction (planning, the
 * commit's WAL flush) and the client's protocol work on the HTTP thread are then paid once per
 * batch rather than once per request, and the commit runs while the signatures are computed.
 *
 * A batch holds at most one request per key, and a key is in at most one batch at a time, so a
 * key's requests are decided in the order they arrived.
 */
import { createRequire } from "node:module";
import pg from "pg";
import { SignerError } from "../errors.js";
import { SlashingError, StorageError } from "./errors.js";
import { decideAttestation, decideBlock, type AttestationEvidence, type AttestationRecord, type Decision } from "./rules.js";
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

/** Bounds the parameter arrays; a longer queue waits for the next batch. */
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
   * @param ids the store's validator ids, shared with its imports
   */
  constructor(
    private readonly withClient: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>,
    private readonly ids: ValidatorIds,
    private readonly deadlineMs: number,
    private readonly observer: SlashingObserver,
  ) {}

  /** `item` must be the store's own copy, validated (validate.ts): the statements are built from it later. */
  submit(item: SignItem): Promise<Recorded> {
    if (this.closed) return Promise.reject(storeClosed());
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
        // Keys never seen before are registered first, committed at once, in a round trip of their own.
        const ids = await this.ids.resolve(c, batch.map((p) => p.pubkey));
        try {
          const votes: Array<{ id: number; vote: AttestationVote }> = [];
          const proposals: Array<{ id: number; proposal: BlockProposal }> = [];
          batch.forEach((p, i) =>
            p.item.kind === "attestation" ? votes.push({ id: ids[i]!, vote: p.item.vote }) : proposals.push({ id: ids[i]!, proposal: p.item.proposal }),
          );
          const results = await pipeline(c, [
            { text: "BEGIN", values: [] },
            lockStatement(batch.map((p) => p.pubkey)),
            ...(votes.length > 0 ? [attestationEvidence(votes)] : []),
            ...(proposals.length > 0 ? [blockEvidence(proposals)] : []),
          ]);
          const locked = results[1]!.rows.map((r: { locked: boolean }) => r.locked);
          const attestationRows = votes.length > 0 ? (results[2]!.rows as AttestationRow[]) : [];
          const blockRows = proposals.length > 0 ? (results.at(-1)!.rows as BlockRow[]) : [];
          const decisions: Array<[Pending, Decision]> = [];
          const notLocked: Pending[] = [];
          const insertVotes: typeof votes = [];
          const insertProposals: typeof proposals = [];
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
              if (p.item.kind === "attestation") insertVotes.push({ id: ids[i]!, vote: p.item.vote });
              else insertProposals.push({ id: ids[i]!, proposal: p.item.proposal });
            }
          });
          // Decided: signing may start now, the commit runs meanwhile and gates the release.
          missed = notLocked;
          for (const [p, d] of decisions) {
            if (d.allow) p.resolve(recorded);
            else p.reject(new SlashingError(d.code, d.message, d.conflicting ? { conflicting: d.conflicting } : {}));
          }
          await pipeline(c, [
            ...(insertVotes.length > 0 ? [insertAttestations(insertVotes)] : []),
            ...(insertProposals.length > 0 ? [insertBlocks(insertProposals)] : []),
            { text: "COMMIT", values: [] },
          ]);
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

function decideAttestationRow(row: AttestationRow, v: AttestationVote): Decision {
  // Assigned, not spread: conditional spreads take V8's slow generic copy on every vote.
  const ev: AttestationEvidence = { maxSource: row.w?.maxSource ?? null, maxTarget: row.w?.maxTarget ?? null };
  if (row.same) ev.sameTarget = row.same;
  if (row.surrounded) ev.surrounded = row.surrounded;
  if (row.surrounding) ev.surrounding = row.surrounding;
  return decideAttestation(ev, v.sourceEpoch, v.targetEpoch, v.signingRoot);
}

function decideBlockRow(row: BlockRow, p: BlockProposal): Decision {
  const maxSlot = num(row.max_slot);
  const ev = row.same ? { maxSlot, sameSlot: { slot: p.slot, signingRoot: row.same_root } } : { maxSlot };
  return decideBlock(ev, p.slot, p.signingRoot);
}


/** A statement and its bind parameters. */
export interface Statement {
  text: string;
  values: unknown[];
}

/** The part of node-postgres's connection a submitted query writes to (as pg-cursor does). */
interface WireConnection {
  parse(m: { text: string }): void;
  bind(m: { values: unknown[]; valueMapper: (v: unknown) => unknown }): void;
  describe(m: { type: "P"; name: string }): void;
  execute(m: Record<string, never>): void;
  sync(): void;
}

// node-postgres's own conversion of JS values (arrays included) to bind parameters.
const { prepareValue } = createRequire(import.meta.url)("pg/lib/utils.js") as { prepareValue: (v: unknown) => unknown };

/**
 * node-postgres sends a query with parameters as Parse, Bind, Describe, Execute, Sync and waits for
 * its answer before the next. This sends the first four of every statement and one Sync, so that
 * they travel and are answered together, one round trip for all (the protocol's pipelining, as in
 * libpq's pipeline mode). Each statement still takes its own snapshot; after an error the server
 * skips the rest. A BEGIN among them leaves the transaction open after the Sync, a COMMIT ends it.
 */
class Pipeline extends pg.Query {
  constructor(
    private readonly statements: Statement[],
    callback: (error: Error | undefined, results: unknown) => void,
  ) {
    super(statements[0]!.text, callback);
  }

  requiresPreparation(): boolean {
    return true;
  }

  prepare(connection: WireConnection): void {
    for (const s of this.statements) {
      connection.parse({ text: s.text });
      connection.bind({ values: s.values, valueMapper: prepareValue });
      connection.describe({ type: "P", name: "" });
      connection.execute({});
    }
    connection.sync();
  }
}

/** Runs `statements` in one round trip; one result per statement, in order. */
export function pipeline(c: pg.ClientBase, statements: Statement[]): Promise<pg.QueryResult[]> {
  return new Promise((resolve, reject) => {
    const query = new Pipeline(statements, (error, results) => {
      if (error !== undefined && error !== null) return reject(error);
      resolve((Array.isArray(results) ? results : [results]) as pg.QueryResult[]);
    });
    void c.query(query);
  });
}

/**
 * Each key's id in slashing_validators, registered the first time it is used. Ids never change
 * (the table's trigger refuses it), so each process caches them.
 */
export class ValidatorIds {
  private readonly known = new Map<string, number>();

  has(pubkey: string): boolean {
    return this.known.has(pubkey);
  }

  /**
   * Run outside any transaction: the registration commits at once, so no other instance
   * registering the same key waits longer than this statement for its row. Sorted, so that two
   * registering overlapping keys cannot deadlock.
   */
  async resolve(c: pg.ClientBase, pubkeys: string[]): Promise<number[]> {
    const missing = [...new Set(pubkeys.filter((k) => !this.known.has(k)))].sort();
    if (missing.length > 0) {
      const [, found] = await pipeline(c, [
        { text: "INSERT INTO slashing_validators (pubkey) SELECT k FROM unnest($1::text[]) AS u(k) ORDER BY k ON CONFLICT (pubkey) DO NOTHING", values: [missing] },
        { text: "SELECT id, pubkey FROM slashing_validators WHERE pubkey = ANY($1::text[])", values: [missing] },
      ]);
      for (const r of found!.rows as Array<{ id: number; pubkey: string }>) this.known.set(r.pubkey, r.id);
    }
    return pubkeys.map((k) => this.known.get(k)!);
  }
}

/** One result row per key, in the order given, saying whether this transaction now holds its lock. */
function lockStatement(pubkeys: string[]): Statement {
  return {
    text: "SELECT pg_try_advisory_xact_lock(hashtextextended(k, $2)) AS locked FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n",
    values: [pubkeys, LOCK_SEED],
  };
}

/** A bytea root column as the rules see it: 0x-prefixed lower-case hex, or null. */
const hexRoot = (column: string) => `'0x' || encode(${column}, 'hex')`;

/**
 * Evidence per vote, in the order given. Under READ COMMITTED each statement after the locks sees
 * everything the previous holder of a key's lock committed.
 */
const ATTESTATION_EVIDENCE = (() => {
  const record = (where: string): string =>
    `(SELECT json_build_object('sourceEpoch', source_epoch, 'targetEpoch', target_epoch, 'signingRoot', ${hexRoot("signing_root")})
      FROM signed_attestations a WHERE a.validator_id = i.v AND ${where} LIMIT 1)`;
  return `SELECT (SELECT json_build_object('maxSource', max_source, 'maxTarget', max_target)
                  FROM slashing_watermarks w WHERE w.validator_id = i.v) AS w,
                 ${record("a.target_epoch = i.t")} AS same,
                 ${record("a.source_epoch > i.s AND a.target_epoch < i.t")} AS surrounded,
                 ${record("a.source_epoch < i.s AND a.target_epoch > i.t")} AS surrounding
          FROM unnest($1::int[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS i(v, s, t, n)
          ORDER BY i.n`;
})();

function attestationEvidence(votes: Array<{ id: number; vote: AttestationVote }>): Statement {
  return {
    text: ATTESTATION_EVIDENCE,
    values: [votes.map((v) => v.id), votes.map((v) => v.vote.sourceEpoch), votes.map((v) => v.vote.targetEpoch)],
  };
}

const BLOCK_EVIDENCE = `SELECT (SELECT max_slot FROM slashing_watermarks w WHERE w.validator_id = i.v) AS max_slot,
                ${hexRoot("b.signing_root")} AS same_root, b.slot IS NOT NULL AS same
         FROM unnest($1::int[], $2::bigint[]) WITH ORDINALITY AS i(v, slot, n)
         LEFT JOIN signed_blocks b ON b.validator_id = i.v AND b.slot = i.slot
         ORDER BY i.n`;

function blockEvidence(proposals: Array<{ id: number; proposal: BlockProposal }>): Statement {
  return { text: BLOCK_EVIDENCE, values: [proposals.map((p) => p.id), proposals.map((p) => p.proposal.slot)] };
}

function insertAttestations(votes: Array<{ id: number; vote: AttestationVote }>): Statement {
  return {
    text: `INSERT INTO signed_attestations (validator_id, target_epoch, source_epoch, signing_root, imported)
           SELECT v, t, s, decode(substr(r, 3), 'hex'), false FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::text[]) AS i(v, s, t, r)`,
    values: [votes.map((v) => v.id), votes.map((v) => v.vote.sourceEpoch), votes.map((v) => v.vote.targetEpoch), votes.map((v) => v.vote.signingRoot)],
  };
}

function insertBlocks(proposals: Array<{ id: number; proposal: BlockProposal }>): Statement {
  return {
    text: `INSERT INTO signed_blocks (validator_id, slot, signing_root, imported)
           SELECT v, slot, decode(substr(r, 3), 'hex'), false FROM unnest($1::int[], $2::bigint[], $3::text[]) AS i(v, slot, r)`,
    values: [proposals.map((p) => p.id), proposals.map((p) => p.proposal.slot), proposals.map((p) => p.proposal.signingRoot)],
  };
}
