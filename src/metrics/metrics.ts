import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { SIGN_TYPES } from "../signing/schema.js";
import { SIGN_OUTCOMES, type SignEvent } from "../signing/service.js";
import type { SlashingObserver } from "../slashing/store.js";

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
const KNOWN_TYPES: ReadonlySet<string> = new Set(SIGN_TYPES);
/** Error codes are constants in the source (DOUBLE_VOTE, …): upper case, digits, underscores. */
const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

export class SignerMetrics {
  readonly registry = new Registry();

  private readonly signatures = new Counter({
    name: "secure_signer_signatures_total",
    help: "Sign requests by message type and outcome (signed; refused by slashing protection or a guard; invalid request; unknown_key; unavailable: slashing database or continuity store unreachable; error)",
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
    for (const type of SIGN_TYPES) for (const outcome of SIGN_OUTCOMES) this.signatures.inc({ type, outcome }, 0);
    for (const kind of DB_KINDS) this.dbSeconds.zero({ kind });
    this.keysLoaded.set(0);
    if ((options.defaultMetrics ?? true) && processUsageReadable()) collectDefaultMetrics({ register: this.registry });
  }

  /** The signing service's event: one call per sign request. */
  onSignEvent(e: SignEvent): void {
    const type = KNOWN_TYPES.has(e.type) ? e.type : "unknown";
    const outcome = SIGN_OUTCOMES.includes(e.outcome) ? e.outcome : "error";
    this.signatures.inc({ type, outcome });
    if (outcome === "refused") {
      this.refusals.inc({ rule: e.code !== undefined && CODE_RE.test(e.code) ? e.code : "UNKNOWN" });
    }
    if (Number.isFinite(e.durationMs) && e.durationMs >= 0) this.signSeconds.observe({ type }, e.durationMs / 1000);
    // The database step: until decided, plus from the signature being ready until durable.
    if (e.db && DB_KINDS.includes(e.db.kind) && Number.isFinite(e.db.ms) && e.db.ms >= 0) this.dbSeconds.observe({ kind: e.db.kind }, e.db.ms / 1000);
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

/** prom-client's process metrics read getrusage(2), which Gramine does not implement: without it they are left out, not fatal. */
function processUsageReadable(): boolean {
  try {
    process.cpuUsage();
    return true;
  } catch {
    return false;
  }
}
