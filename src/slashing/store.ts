/**
 * The slashing-protection storage contract. Every implementation (SQLite, PostgreSQL) makes the
 * EIP-3076 decision of rules.ts atomic per key and durable before any signature is released.
 *
 * Hex strings are canonical: lower-case and 0x-prefixed (util/hex.ts). Slots and epochs are
 * non-negative safe integers, validated at the API boundary.
 */

import type { Interchange } from "./interchange.js";

export interface BlockProposal {
  pubkey: string;
  genesisValidatorsRoot: string;
  slot: number;
  signingRoot: string;
}

export interface AttestationVote {
  pubkey: string;
  genesisValidatorsRoot: string;
  sourceEpoch: number;
  targetEpoch: number;
  signingRoot: string;
}

/**
 * What a successful check hands back. The decision is final once the check promise resolves (the
 * caller may start computing the signature), but the signature must not leave the process before
 * `durable()` resolves: it rejects if the record could not be committed, and then the signature is
 * dropped. Calling it says the signature is ready, so a backend may hold the commit until then and
 * let one commit cover every record decided meanwhile; backends that commit inside the check
 * resolve it at once.
 */
export interface Recorded {
  durable(): Promise<void>;
}

export interface SlashingProtectionStore {
  /** Rejects with SlashingError when the block is slashable or below the watermark. */
  checkAndRecordBlock(proposal: BlockProposal): Promise<Recorded>;
  /** Rejects with SlashingError when the vote is a double or surround vote or below the watermark. */
  checkAndRecordAttestation(vote: AttestationVote): Promise<Recorded>;
  close(): Promise<void>;
}

/** What an interchange import changed. */
export interface ImportSummary {
  /** Distinct pubkeys in the file. */
  keys: number;
  /** Records added; records already on record (same slot or target) are not counted. */
  blocks: number;
  attestations: number;
  /** Entries kept only as watermarks: already on record, duplicated in the file, or source after target. */
  skipped: number;
}

export interface PruneSummary {
  blocks: number;
  attestations: number;
}

/** Shaped like a `/healthcheck` entry so the API can use it as is. */
export interface StoreHealth {
  status: "UP" | "DOWN";
  data: { backend: "sqlite" | "postgres"; error?: string };
}

/** UP when `probe` answers, DOWN with its error when it fails: how every store reports its health. */
export async function healthOf(backend: StoreHealth["data"]["backend"], probe: () => Promise<unknown>): Promise<StoreHealth> {
  try {
    await probe();
    return { status: "UP", data: { backend } };
  } catch (e) {
    return { status: "DOWN", data: { backend, error: e instanceof Error ? e.message : String(e) } };
  }
}

/**
 * Which database this is: an id stored in it once, when it is first opened, so that a data
 * directory can tell its own database from a missing, emptied or different one (identity.ts).
 * `created`: this open made the schema, so the database had no past before it.
 */
export interface DatabaseIdentity {
  id: string;
  created: boolean;
}

/** The full slashing-protection service both backends implement. */
export interface SlashingProtection extends SlashingProtectionStore {
  readonly identity: DatabaseIdentity;
  /**
   * Validates the whole EIP-3076 v5 document, then merges it in one transaction: InterchangeError
   * for a malformed file, SlashingError("GENESIS_VALIDATORS_ROOT_MISMATCH") for another chain.
   */
  importInterchange(json: unknown): Promise<ImportSummary>;
  /**
   * Complete form of what is on record, for all keys or the given ones. Without a root, for the
   * chain the database is bound to (an empty file under the zero root when it is not bound yet).
   */
  exportInterchange(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): Promise<Interchange>;
  /** Deletes records the checks no longer need; watermarks are kept. */
  prune(): Promise<PruneSummary>;
  health(): Promise<StoreHealth>;
}

/**
 * How long a shared database (PostgreSQL) may keep a sign request waiting, for a connection, a
 * query or a key another session holds, unless configured otherwise (--slashing-db-timeout-ms).
 */
export const DEFAULT_DB_TIMEOUT_MS = 3000;

/**
 * What a store tells about its sign path, for an operator to see (app.ts connects it to the
 * metrics; the slashing domain knows nothing of them). Each callback is called at most once per
 * database transaction, never per request, and a callback that throws is ignored.
 */
export interface SlashingObserver {
  /**
   * One sign-path transaction sent to the database with `requests` sign requests (≥ 1): a
   * PostgreSQL batch, including the requests whose key turns out to be locked elsewhere, or an
   * SQLite group commit, including exact repeats, which wait for it without adding a record.
   */
  batch(requests: number): void;
  /** PostgreSQL: `requests` of a batch found their key locked by another session and were queued again. */
  lockRetries(requests: number): void;
  /** PostgreSQL: `requests` found their key still locked elsewhere at their deadline and were refused (DATABASE_UNAVAILABLE). */
  lockTimeouts(requests: number): void;
}

const NO_OBSERVER: SlashingObserver = { batch() {}, lockRetries() {}, lockTimeouts() {} };

/**
 * The observer a store calls: one that does nothing when none is given, else the given one with each
 * callback guarded, so that a failing observer cannot strand a request or fail a batch.
 */
export function guardObserver(observer: SlashingObserver | undefined): SlashingObserver {
  if (observer === undefined) return NO_OBSERVER;
  const guard =
    (fn: (n: number) => void) =>
    (n: number): void => {
      try {
        fn.call(observer, n);
      } catch {
        // Observing is best effort; the sign path must not depend on it.
      }
    };
  return { batch: guard(observer.batch), lockRetries: guard(observer.lockRetries), lockTimeouts: guard(observer.lockTimeouts) };
}
