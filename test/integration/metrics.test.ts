import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { registerErrorHandler } from "../../src/api/errors.js";
import { eth2Routes } from "../../src/api/eth2.js";
import { WorkerPoolSigningKeys } from "../../src/bls/pool.js";
import { BATCH_BUCKETS, LATENCY_BUCKETS, SignerMetrics, slashingObserver } from "../../src/metrics/metrics.js";
import { metricsRoute } from "../../src/api/metrics.js";
import { createNetworkConfig } from "../../src/signing/network.js";
import { SIGN_TYPES } from "../../src/signing/schema.js";
import { REQUEST_VALIDATION } from "../../src/api/validation.js";
import { SIGN_OUTCOMES, SigningService } from "../../src/signing/service.js";
import { openSlashingProtection } from "../../src/slashing/open.js";
import { randomKey, tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, FULU_FORK_INFO, sign } from "../helpers/messages.js";
import { parseExposition, sameLabels, sample, series, type Exposition } from "../helpers/prometheus.js";


/** Cumulative bucket counts of one histogram series, keyed by `le`. */
function buckets(exp: Exposition, name: string, labels: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of exp.samples.filter((x) => x.name === `${name}_bucket`)) {
    const { le, ...rest } = s.labels;
    if (le !== undefined && sameLabels(rest, labels)) out[le] = s.value;
  }
  return out;
}

async function listen(t: { after(fn: () => Promise<void>): void }, app: FastifyInstance): Promise<string> {
  t.after(() => app.close());
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function scrape(base: string): Promise<Exposition> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return parseExposition(await res.text());
}

async function get(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

describe("metrics", () => {
  it("counts scripted outcomes, database steps, keys, platform and HTTP requests exactly", async (t) => {
    const metrics = new SignerMetrics();
    const app = Fastify();
    // Encapsulated plugins (as the keymanager API is) registered before and after the hook are counted too.
    await app.register(async (scope) => scope.get("/before/:id", async () => "b"));
    await app.register(metricsRoute, { metrics, serve: true });
    await app.register(async (scope) => scope.get("/after", async () => "a"));
    app.get("/items/:id", async (request) => ({ id: (request.params as { id: string }).id }));
    app.get("/broken", async (_request, reply) => reply.status(418).send("teapot"));
    const base = await listen(t, app);

    // Before anything happened: zero series for every type and outcome, no refusals, no HTTP yet.
    const first = await scrape(base);
    assert.equal(first.types.get("secure_signer_signatures_total"), "counter");
    assert.equal(first.types.get("secure_signer_slashing_refusals_total"), "counter");
    assert.equal(first.types.get("secure_signer_sign_request_seconds"), "histogram");
    assert.equal(first.types.get("secure_signer_slashing_db_seconds"), "histogram");
    assert.equal(first.types.get("secure_signer_keys_loaded"), "gauge");
    assert.equal(first.types.get("secure_signer_platform_info"), "gauge");
    assert.equal(first.types.get("secure_signer_http_requests_total"), "counter");
    assert.equal(first.types.get("secure_signer_slashing_batch_requests"), "histogram");
    assert.equal(first.types.get("secure_signer_slashing_lock_retries_total"), "counter");
    assert.equal(first.types.get("secure_signer_slashing_lock_timeouts_total"), "counter");
    assert.equal(Object.keys(series(first, "secure_signer_signatures_total")).length, SIGN_TYPES.length * SIGN_OUTCOMES.length);
    assert.deepEqual(series(first, "secure_signer_signatures_total", true), {});
    assert.deepEqual(series(first, "secure_signer_slashing_refusals_total"), {});
    assert.deepEqual(series(first, "secure_signer_http_requests_total"), {});
    assert.equal(sample(first, "secure_signer_keys_loaded"), 0);
    assert.equal(sample(first, "secure_signer_slashing_db_seconds_count", { kind: "block" }), 0);
    // The slashing path's series exist at 0 before the first transaction (no labels: one series each).
    assert.equal(sample(first, "secure_signer_slashing_batch_requests_count"), 0);
    assert.equal(sample(first, "secure_signer_slashing_lock_retries_total"), 0);
    assert.equal(sample(first, "secure_signer_slashing_lock_timeouts_total"), 0);
    // Default process metrics are on the same registry.
    assert.equal(first.types.get("process_cpu_user_seconds_total"), "counter");
    assert.equal(first.types.get("nodejs_heap_size_used_bytes"), "gauge");

    const base_ = { pubkey: "0x" + "ab".repeat(48) };
    metrics.onSignEvent({ ...base_, type: "ATTESTATION", outcome: "signed", durationMs: 0.4, db: { kind: "attestation", ms: 0.4 } });
    metrics.onSignEvent({ ...base_, type: "ATTESTATION", outcome: "signed", durationMs: 3 });
    metrics.onSignEvent({ ...base_, type: "ATTESTATION", outcome: "refused", code: "DOUBLE_VOTE", durationMs: 2, db: { kind: "attestation", ms: 2 } });
    metrics.onSignEvent({ ...base_, type: "ATTESTATION", outcome: "refused", code: "SURROUNDING_VOTE", durationMs: 2 });
    metrics.onSignEvent({ ...base_, type: "ATTESTATION", outcome: "refused", code: "DOUBLE_VOTE", durationMs: 30, db: { kind: "attestation", ms: 4 } });
    metrics.onSignEvent({ ...base_, type: "BLOCK_V2", outcome: "signed", durationMs: 120, db: { kind: "block", ms: 100 } });
    metrics.onSignEvent({ ...base_, type: "BLOCK_V2", outcome: "refused", code: "DOUBLE_BLOCK", durationMs: 7000, db: { kind: "block", ms: 6000 } });
    metrics.onSignEvent({ ...base_, type: "BLOCK_V2", outcome: "unavailable", code: "DATABASE_UNAVAILABLE", durationMs: 5000 });
    metrics.onSignEvent({ ...base_, type: "RANDAO_REVEAL", outcome: "unknown_key", code: "KEY_NOT_LOADED", durationMs: 1 });
    // Label values stay bounded whatever a caller passes.
    metrics.onSignEvent({ ...base_, type: "NOT_A_TYPE", outcome: "refused", code: "lower case <script>", durationMs: 1 });

    // What a store reports, through the observer app.ts hands it.
    const observer = slashingObserver(metrics);
    for (const n of [1, 1, 3, 40, 256, 2000]) observer.batch(n);
    observer.lockRetries(2);
    observer.lockRetries(5);
    observer.lockTimeouts(1);
    // Nonsense counts are dropped rather than corrupting a counter.
    for (const n of [0, -1, 0.5, NaN]) {
      observer.batch(n);
      observer.lockRetries(n);
      observer.lockTimeouts(n);
    }
    metrics.setKeysLoaded(3);
    metrics.setPlatform("dev", false);
    metrics.setPlatform("tsm", true);

    assert.equal(await get(`${base}/items/1`), 200);
    assert.equal(await get(`${base}/items/2`), 200);
    assert.equal(await get(`${base}/items/3?x=1`), 200);
    assert.equal(await get(`${base}/broken`), 418);
    assert.equal(await get(`${base}/no/such/${"ab".repeat(48)}`), 404);
    assert.equal(await get(`${base}/other`), 404);
    assert.equal(await get(`${base}/before/7`), 200);
    assert.equal(await get(`${base}/after`), 200);

    const exp = await scrape(base);
    assert.deepEqual(series(exp, "secure_signer_signatures_total", true), {
      "outcome=signed,type=ATTESTATION": 2,
      "outcome=refused,type=ATTESTATION": 3,
      "outcome=signed,type=BLOCK_V2": 1,
      "outcome=refused,type=BLOCK_V2": 1,
      "outcome=unavailable,type=BLOCK_V2": 1,
      "outcome=unknown_key,type=RANDAO_REVEAL": 1,
      "outcome=refused,type=unknown": 1,
    });
    assert.deepEqual(series(exp, "secure_signer_slashing_refusals_total"), {
      "rule=DOUBLE_VOTE": 2,
      "rule=SURROUNDING_VOTE": 1,
      "rule=DOUBLE_BLOCK": 1,
      "rule=UNKNOWN": 1,
    });

    // Sign latency: cumulative buckets, count and sum per type.
    const le = (...counts: number[]) => Object.fromEntries([...LATENCY_BUCKETS.map(String), "+Inf"].map((b, i) => [b, counts[i]]));
    //                                                       1ms 2.5 5  10 25 50 .1 .25 .5 1  2.5 5  +Inf
    assert.deepEqual(buckets(exp, "secure_signer_sign_request_seconds", { type: "ATTESTATION" }), le(1, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5));
    assert.deepEqual(buckets(exp, "secure_signer_sign_request_seconds", { type: "BLOCK_V2" }), le(0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 3));
    assert.equal(sample(exp, "secure_signer_sign_request_seconds_count", { type: "ATTESTATION" }), 5);
    assert.equal(sample(exp, "secure_signer_sign_request_seconds_count", { type: "BLOCK_V2" }), 3);
    assert.equal(sample(exp, "secure_signer_sign_request_seconds_count", { type: "RANDAO_REVEAL" }), 1);
    assert.equal(sample(exp, "secure_signer_sign_request_seconds_count", { type: "unknown" }), 1);
    const sum = sample(exp, "secure_signer_sign_request_seconds_sum", { type: "BLOCK_V2" })!;
    assert.ok(Math.abs(sum - 12.12) < 1e-9, `BLOCK_V2 sum ${sum}`);

    // Database step per kind.
    assert.deepEqual(buckets(exp, "secure_signer_slashing_db_seconds", { kind: "attestation" }), le(1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3));
    assert.deepEqual(buckets(exp, "secure_signer_slashing_db_seconds", { kind: "block" }), le(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2));
    assert.equal(sample(exp, "secure_signer_slashing_db_seconds_count", { kind: "attestation" }), 3);
    assert.equal(sample(exp, "secure_signer_slashing_db_seconds_count", { kind: "block" }), 2);

    // Requests per slashing transaction, and the lock counters.
    const perBatch = (...counts: number[]) => Object.fromEntries([...BATCH_BUCKETS.map(String), "+Inf"].map((b, i) => [b, counts[i]]));
    //                                                                                   1  2  4  8  16 32 64 128 256 512 1024 +Inf
    assert.deepEqual(buckets(exp, "secure_signer_slashing_batch_requests", {}), perBatch(2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 5, 6));
    assert.equal(sample(exp, "secure_signer_slashing_batch_requests_count"), 6);
    assert.equal(sample(exp, "secure_signer_slashing_batch_requests_sum"), 2301);
    assert.equal(sample(exp, "secure_signer_slashing_lock_retries_total"), 7);
    assert.equal(sample(exp, "secure_signer_slashing_lock_timeouts_total"), 1);

    assert.equal(sample(exp, "secure_signer_keys_loaded"), 3);
    // setPlatform replaces the series: exactly one, the latest.
    assert.deepEqual(series(exp, "secure_signer_platform_info"), { "attested=true,platform=tsm": 1 });

    // HTTP by route pattern: the query string and the path parameters do not make new series;
    // unmatched URLs share one. The first scrape was answered before this one, so it counts once.
    assert.deepEqual(series(exp, "secure_signer_http_requests_total"), {
      "route=/metrics,status=200": 1,
      "route=/items/:id,status=200": 3,
      "route=/broken,status=418": 1,
      "route=unmatched,status=404": 2,
      "route=/before/:id,status=200": 1,
      "route=/after,status=200": 1,
    });
  });

  it("measures real sign requests through the eth2 routes and a real SQLite store", async (t) => {
    const dir = await tempDir(t, "metrics");
    const metrics = new SignerMetrics({ defaultMetrics: false });
    const store = await openSlashingProtection(join(dir, "slashing.sqlite"), { observer: slashingObserver(metrics) });
    t.after(() => store.close());
    const keys = new WorkerPoolSigningKeys(1);
    t.after(() => keys.close());
    const key = randomKey();
    const pubkey = await keys.add(key);
    metrics.setKeysLoaded(() => keys.pubkeys().length);
    metrics.setPlatform("dev", false);

    const network = createNetworkConfig("mainnet");
    const app = Fastify(REQUEST_VALIDATION);
    registerErrorHandler(app);
    await app.register(metricsRoute, { metrics, serve: true });
    const service = new SigningService({
      chain: network.config,
      genesisValidatorsRoot: network.genesisValidatorsRoot!,
      keys,
      slashing: store,
      observe: (e) => metrics.onSignEvent(e),
    });
    await app.register(eth2Routes, { keys, service });
    const base = await listen(t, app);

    const randao = { type: "RANDAO_REVEAL", fork_info: FULU_FORK_INFO, randao_reveal: { epoch: "12" } };
    const results = [
      await sign(base, pubkey, attestationBody(10, 11)),
      await sign(base, pubkey, attestationBody(11, 12)),
      await sign(base, pubkey, attestationBody(11, 12, 1)), // double vote
      await sign(base, pubkey, attestationBody(9, 13)), // surrounds 10→11 and 11→12
      await sign(base, pubkey, blockBody(100)),
      await sign(base, pubkey, blockBody(100, 1)), // double proposal
      await sign(base, pubkey, randao),
      await sign(base, "0x" + "cd".repeat(48), randao), // no such key: refused before any database step
      await sign(base, pubkey, { type: "ATTESTATION" }), // schema: the handler never runs
    ];
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 412, 412, 200, 412, 200, 404, 400],
    );
    assert.match(results[2]!.message!, /already/);

    // A key added later shows at the next scrape: the gauge reads the key set when scraped.
    await keys.add(randomKey());

    const exp = await scrape(base);
    assert.deepEqual(series(exp, "secure_signer_signatures_total", true), {
      "outcome=signed,type=ATTESTATION": 2,
      "outcome=refused,type=ATTESTATION": 2,
      "outcome=signed,type=BLOCK_V2": 1,
      "outcome=refused,type=BLOCK_V2": 1,
      "outcome=signed,type=RANDAO_REVEAL": 1,
      "outcome=unknown_key,type=RANDAO_REVEAL": 1,
    });
    assert.deepEqual(series(exp, "secure_signer_slashing_refusals_total"), {
      "rule=DOUBLE_VOTE": 1,
      "rule=SURROUNDING_VOTE": 1,
      "rule=DOUBLE_BLOCK": 1,
    });
    assert.equal(sample(exp, "secure_signer_sign_request_seconds_count", { type: "ATTESTATION" }), 4);
    assert.equal(sample(exp, "secure_signer_sign_request_seconds_count", { type: "BLOCK_V2" }), 2);
    assert.equal(sample(exp, "secure_signer_sign_request_seconds_count", { type: "RANDAO_REVEAL" }), 2);
    // Every slashable request reached the database (refusals included); RANDAO_REVEAL never does.
    assert.equal(sample(exp, "secure_signer_slashing_db_seconds_count", { kind: "attestation" }), 4);
    assert.equal(sample(exp, "secure_signer_slashing_db_seconds_count", { kind: "block" }), 2);
    // One SQLite group commit per allowed request, since each waited for its own before the next was
    // sent; refusals record nothing and wait for no commit. No locks to wait for on SQLite.
    assert.equal(sample(exp, "secure_signer_slashing_batch_requests_count"), 3);
    assert.equal(sample(exp, "secure_signer_slashing_batch_requests_sum"), 3);
    assert.equal(sample(exp, "secure_signer_slashing_lock_retries_total"), 0);
    assert.equal(sample(exp, "secure_signer_slashing_lock_timeouts_total"), 0);
    assert.equal(sample(exp, "secure_signer_keys_loaded"), 2);
    assert.deepEqual(series(exp, "secure_signer_platform_info"), { "attested=false,platform=dev": 1 });
    assert.deepEqual(series(exp, "secure_signer_http_requests_total"), {
      "route=/api/v1/eth2/sign/:identifier,status=200": 4,
      "route=/api/v1/eth2/sign/:identifier,status=412": 3,
      "route=/api/v1/eth2/sign/:identifier,status=404": 1,
      "route=/api/v1/eth2/sign/:identifier,status=400": 1,
    });
  });
});
