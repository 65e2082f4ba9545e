import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SignOutcome } from "../api/eth2.js";
import { SIGN_TYPES } from "../signing/schema.js";
import type { AttestationVote, BlockProposal, Recorded, SlashingObserver, SlashingProtectionStore } from "../slashing/store.js";

/**
 * Prometheus metrics of one signer process, on a registry of its own (never prom-client's global
 * one, so two signers in one process, as in tests, do not share counters).
 *
 * Every label value is bounded: the message type is one of the API's types, the outcome one of
 * three, the refusal rule an error code from the source, the route a route pattern. Nothing
 * request-controlled (a pubkey, a raw URL) becomes a label.
 */

/**
 * Seconds. A sign request is a few hundred microseconds of BLS work plus one fsync'd commit, so the
 * interesting range is 1 ms (local SQLite on NVMe) to seconds (a distant or struggling PostgreSQL);
 * a validator client gives up on a request after a few seconds, so 5 s is the last useful bound.
 */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Sign requests per slashing-database transaction. A PostgreSQL batch holds at most 256; an SQLite
 * group commit has no bound but holds tens under load. Mostly 1 under load means nothing is shared.
 */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** What the slashing store reports is a number of requests; anything else is dropped, not recorded. */
const isCount = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

export type DbStepKind = "block" | "attestation";
const DB_KINDS: readonly DbStepKind[] = ["block", "attestation"];
const OUTCOMES: readonly SignOutcome["outcome"][] = ["signed", "refused", "error"];
const KNOWN_TYPES: ReadonlySet<string> = new Set(SIGN_TYPES);
/** Error codes are constants in the source (DOUBLE_VOTE, …): upper case, digits, underscores. */
const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

export class SignerMetrics {
  readonly registry = new Registry();

  private readonly signatures = new Counter({
    name: "secure_signer_signatures_total",
    help: "Sign requests by message type and outcome (signed, refused by slashing protection, error)",
    labelNames: ["type", "outcome"] as const,
    registers: [this.registry],
  });

  private readonly refusals = new Counter({
    name: "secure_signer_slashing_refusals_total",
    help: "Sign requests refused by slashing protection, by rule (the refusal's code, e.g. DOUBLE_VOTE)",
    labelNames: ["rule"] as const,
    registers: [this.registry],
  });

  private readonly signSeconds = new Histogram({
    name: "secure_signer_sign_request_seconds",
    help: "Time to answer a sign request, from the start of its handler to the answer, by message type",
    labelNames: ["type"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly dbSeconds = new Histogram({
    name: "secure_signer_slashing_db_seconds",
    help: "Time of the slashing-protection database step (check, record and durable commit) by kind",
    labelNames: ["kind"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly batchRequests = new Histogram({
    name: "secure_signer_slashing_batch_requests",
    help: "Sign requests per slashing-database transaction (PostgreSQL batch, including requests whose key was locked elsewhere; SQLite group commit)",
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });

  private readonly lockRetries = new Counter({
    name: "secure_signer_slashing_lock_retries_total",
    help: "PostgreSQL: sign requests that found their key locked by another session (another instance, an import) and were queued again",
    registers: [this.registry],
  });

  private readonly lockTimeouts = new Counter({
    name: "secure_signer_slashing_lock_timeouts_total",
    help: "PostgreSQL: sign requests refused (503) because their key stayed locked by another session until their deadline",
    registers: [this.registry],
  });

  private readonly keysLoaded: Gauge;

  private readonly platformInfo = new Gauge({
    name: "secure_signer_platform_info",
    help: "The trusted execution platform the signer runs on (value 1) and whether it can be attested",
    labelNames: ["platform", "attested"] as const,
    registers: [this.registry],
  });

  private readonly httpRequests = new Counter({
    name: "secure_signer_http_requests_total",
    help: "HTTP requests answered, by route pattern (unmatched for no route) and status code",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });

  private keysSource: (() => number) | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const metrics = this;
    this.keysLoaded = new Gauge({
      name: "secure_signer_keys_loaded",
      help: "Validator keys the signer can sign with",
      registers: [this.registry],
      collect() {
        // When a source is set, the gauge is read at scrape time, so keymanager imports and deletes show.
        if (metrics.keysSource) this.set(metrics.keysSource());
      },
    });
    // Zero series exist from the start, so rate() and absent-series alerts work before the first request.
    for (const type of SIGN_TYPES) for (const outcome of OUTCOMES) this.signatures.inc({ type, outcome }, 0);
    for (const kind of DB_KINDS) this.dbSeconds.zero({ kind });
    this.keysLoaded.set(0);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The eth2 routes' outcome hook: one call per sign request. */
  onSignOutcome(o: SignOutcome): void {
    const type = KNOWN_TYPES.has(o.type) ? o.type : "unknown";
    const outcome = OUTCOMES.includes(o.outcome) ? o.outcome : "error";
    this.signatures.inc({ type, outcome });
    if (outcome === "refused") {
      this.refusals.inc({ rule: o.code !== undefined && CODE_RE.test(o.code) ? o.code : "UNKNOWN" });
    }
    if (Number.isFinite(o.durationMs) && o.durationMs >= 0) this.signSeconds.observe({ type }, o.durationMs / 1000);
  }

  /** One slashing-database step (see timeSlashingStore, which calls this). */
  observeDbStep(kind: DbStepKind, seconds: number): void {
    if (!DB_KINDS.includes(kind) || !Number.isFinite(seconds) || seconds < 0) return;
    this.dbSeconds.observe({ kind }, seconds);
  }

  /** One sign-path transaction of the slashing database holding `requests` sign requests. */
  observeSlashingBatch(requests: number): void {
    if (isCount(requests)) this.batchRequests.observe(requests);
  }

  /** `requests` found their key locked by another PostgreSQL session and were queued again. */
  countLockRetries(requests: number): void {
    if (isCount(requests)) this.lockRetries.inc(requests);
  }

  /** `requests` gave up on a key another PostgreSQL session held until their deadline. */
  countLockTimeouts(requests: number): void {
    if (isCount(requests)) this.lockTimeouts.inc(requests);
  }

  /** A fixed count, or a function read at every scrape (e.g. `() => keys.pubkeys().length`). */
  setKeysLoaded(n: number | (() => number)): void {
    if (typeof n === "function") {
      this.keysSource = n;
      this.keysLoaded.set(n());
    } else {
      this.keysSource = undefined;
      this.keysLoaded.set(n);
    }
  }

  /** Exactly one platform series is 1; a later call replaces it. */
  setPlatform(name: string, attested: boolean): void {
    this.platformInfo.reset();
    this.platformInfo.set({ platform: name, attested: String(attested) }, 1);
  }

  /** Counts one answered HTTP request; `route` must be a route pattern, never a raw URL. */
  countHttpRequest(route: string, status: number): void {
    this.httpRequests.inc({ route, status: String(status) });
  }

  /** The Prometheus text exposition of every metric, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * Wraps a slashing store so that each check-and-record is timed into
 * `secure_signer_slashing_db_seconds`: the time the request waited on the database, i.e. from the
 * call until decided plus from asking for `durable()` until it settled (the signature is computed
 * in between and is not counted). Everything else passes through; the wrapper decides nothing.
 */
export function timeSlashingStore(store: SlashingProtectionStore, metrics: SignerMetrics): SlashingProtectionStore {
  const timed = async (kind: DbStepKind, step: () => Promise<Recorded>): Promise<Recorded> => {
    const started = performance.now();
    let recorded: Recorded;
    try {
      recorded = await step();
    } catch (e) {
      metrics.observeDbStep(kind, (performance.now() - started) / 1000);
      throw e;
    }
    const decidedMs = performance.now() - started;
    return {
      durable: () => {
        const asked = performance.now();
        return recorded.durable().finally(() => metrics.observeDbStep(kind, (decidedMs + performance.now() - asked) / 1000));
      },
    };
  };
  return {
    checkAndRecordBlock: (proposal: BlockProposal) => timed("block", () => store.checkAndRecordBlock(proposal)),
    checkAndRecordAttestation: (vote: AttestationVote) => timed("attestation", () => store.checkAndRecordAttestation(vote)),
    close: () => store.close(),
  };
}

/**
 * The slashing store's observer (store.ts), feeding `secure_signer_slashing_batch_requests`,
 * `secure_signer_slashing_lock_retries_total` and `secure_signer_slashing_lock_timeouts_total`.
 * The store calls it once per transaction, not per request.
 */
export function slashingObserver(metrics: SignerMetrics): SlashingObserver {
  return {
    batch: (requests) => metrics.observeSlashingBatch(requests),
    lockRetries: (requests) => metrics.countLockRetries(requests),
    lockTimeouts: (requests) => metrics.countLockTimeouts(requests),
  };
}
