import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, sign } from "../helpers/messages.js";
import { parseExposition, sample } from "../helpers/prometheus.js";
import { serveArgs, spawnSigner, startTestSigner, writeKeystores } from "../helpers/signer.js";

describe("operating the signer", () => {
  it("counts a scripted session in /metrics, logs one line per sign decision, and never logs a secret", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 2 });
    const [a, b] = signer.keys as [(typeof signer.keys)[0], (typeof signer.keys)[0]];
    const post = (pubkey: string, body: unknown) => sign(signer.url, pubkey, body);
    assert.equal((await post(a.pubkey, attestationBody(1, 2))).status, 200);
    assert.equal((await post(a.pubkey, attestationBody(2, 3))).status, 200);
    assert.equal((await post(b.pubkey, attestationBody(2, 3))).status, 200);
    assert.equal((await post(a.pubkey, attestationBody(2, 3, 9))).status, 412); // double vote
    assert.equal((await post(a.pubkey, attestationBody(0, 4))).status, 412); // surrounds (1, 2) and (2, 3)
    assert.equal((await post(a.pubkey, blockBody(64))).status, 200);
    assert.equal((await post(a.pubkey, blockBody(64, 5))).status, 412); // double proposal
    assert.equal((await post("0x" + "b0".repeat(48), blockBody(65))).status, 404);
    assert.equal((await post(a.pubkey, { type: "ATTESTATION" })).status, 400);
    assert.equal((await fetch(`${signer.url}/upcheck`)).status, 200);

    const res = await fetch(`${signer.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const m = parseExposition(await res.text());
    const sigs = (type: string, outcome: string) => sample(m, "secure_signer_signatures_total", { type, outcome });
    assert.equal(sigs("ATTESTATION", "signed"), 3);
    assert.equal(sigs("ATTESTATION", "refused"), 2);
    assert.equal(sigs("BLOCK_V2", "signed"), 1);
    assert.equal(sigs("BLOCK_V2", "refused"), 1);
    assert.equal(sigs("BLOCK_V2", "unknown_key"), 1, "the unknown key");
    assert.equal(sigs("BLOCK_V2", "error"), 0, "an unknown key is not the signer's error");
    assert.equal(sample(m, "secure_signer_slashing_refusals_total", { rule: "DOUBLE_VOTE" }), 1);
    assert.equal(sample(m, "secure_signer_slashing_refusals_total", { rule: "DOUBLE_BLOCK" }), 1);
    const surround = (sample(m, "secure_signer_slashing_refusals_total", { rule: "SURROUNDING_VOTE" }) ?? 0) +
      (sample(m, "secure_signer_slashing_refusals_total", { rule: "SOURCE_BELOW_WATERMARK" }) ?? 0);
    assert.equal(surround, 1);
    assert.equal(sample(m, "secure_signer_keys_loaded"), 2);
    assert.equal(sample(m, "secure_signer_platform_info", { platform: "dev", attested: "false" }), 1);
    assert.equal(sample(m, "secure_signer_sign_request_seconds_count", { type: "ATTESTATION" }), 5);
    assert.equal(sample(m, "secure_signer_slashing_db_seconds_count", { kind: "attestation" }), 5);
    assert.equal(sample(m, "secure_signer_slashing_db_seconds_count", { kind: "block" }), 2);
    const route = "/api/v1/eth2/sign/:identifier";
    assert.equal(sample(m, "secure_signer_http_requests_total", { route, status: "200" }), 4);
    assert.equal(sample(m, "secure_signer_http_requests_total", { route, status: "412" }), 3);
    assert.equal(sample(m, "secure_signer_http_requests_total", { route, status: "404" }), 1);
    assert.equal(sample(m, "secure_signer_http_requests_total", { route, status: "400" }), 1);
    assert.equal(sample(m, "secure_signer_http_requests_total", { route: "/upcheck", status: "200" }), 1);

    // One log line per decision that reached the signer (8: the schema refused the ninth first).
    const decisions = signer.logs.filter((l) => l.msg === "sign");
    assert.equal(decisions.length, 8);
    const double = decisions.find((l) => l.code === "DOUBLE_VOTE");
    assert.ok(double, "the double vote is logged with its rule");
    assert.equal(double.pubkey, a.pubkey);
    assert.equal(double.type, "ATTESTATION");
    assert.equal(double.outcome, "refused");
    assert.equal(double.sourceEpoch, 2);
    assert.equal(double.targetEpoch, 3);
    assert.match(String(double.message), /target epoch 3 is already on record \(source 2\)/, "the line names the conflicting record");
    // The schema's 400 never reached the signing service: its own line says which field was wrong.
    const refused = signer.logs.filter((l) => l.msg === "request refused");
    assert.deepEqual(refused.map((l) => l.status).sort(), [400, 404, 412, 412, 412], "every 4xx answer has its line");
    const bad = refused.find((l) => l.status === 400);
    assert.equal(bad?.route, "/api/v1/eth2/sign/:identifier");
    assert.match(String(bad?.message), /signingRoot|fork_info|attestation/);
    const block = decisions.find((l) => l.type === "BLOCK_V2" && l.outcome === "signed");
    assert.equal(block?.slot, 64);

    const text = signer.logs.map((l) => JSON.stringify(l)).join("\n");
    for (const key of signer.keys) {
      const secret = Buffer.from(key.secretKey);
      for (const form of [secret.toString("hex"), secret.toString("base64"), secret.toString("base64url")]) {
        assert.ok(!text.includes(form), "no log line holds a secret key");
      }
    }
    assert.ok(!text.includes("password-0"), "no log line holds a keystore password");
  });

  it("on SIGTERM during a burst finishes in-flight requests, exits 0, and keeps every signature it returned", async (t) => {
    const dir = await tempDir(t, "sigterm");
    const dirs = await writeKeystores(dir, 3);
    const args = serveArgs(join(dir, "data"), dirs);
    const signer = await spawnSigner(args);
    const received: Array<{ pubkey: string; target: number }> = [];
    let stopping = false;
    let next = 10;
    const senders = dirs.keys.map(async ({ pubkey }) => {
      // Several requests in flight per key at once, as a client with many duties would send.
      while (!stopping) {
        const batch = [next++, next++, next++];
        const results = await Promise.allSettled(batch.map((target) => sign(signer.url, pubkey, attestationBody(target - 1, target))));
        results.forEach((r, i) => {
          if (r.status === "fulfilled" && r.value.status === 200) received.push({ pubkey, target: batch[i]! });
        });
        if (results.some((r) => r.status === "rejected")) return;
      }
    });
    await new Promise((r) => setTimeout(r, randomInt(400, 1200)));
    signer.child.kill("SIGTERM");
    assert.equal(await signer.exited, 0, "a graceful exit");
    stopping = true;
    await Promise.all(senders);
    assert.ok(received.length > 10, `signed during the burst: ${received.length}`);
    console.log(`SIGTERM after ${received.length} signatures; checking each is on record`);

    const again = await spawnSigner(args);
    t.after(async () => {
      again.child.kill("SIGTERM");
      await again.exited;
    });
    for (const r of received) {
      const twin = await sign(again.url, r.pubkey, attestationBody(r.target - 1, r.target, 1));
      assert.equal(twin.status, 412, `target ${r.target} of ${r.pubkey} was returned but is not on record`);
    }
  });
});

describe("pruning in a running signer", () => {
  it("prunes records below the watermarks on its interval and still refuses what they covered", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1, flags: { "prune-interval-minutes": "0.005" } });
    const pubkey = signer.keys[0]!.pubkey;
    for (let target = 2; target <= 8; target++) assert.equal((await sign(signer.url, pubkey, attestationBody(target - 1, target))).status, 200);
    for (let slot = 100; slot <= 104; slot++) assert.equal((await sign(signer.url, pubkey, blockBody(slot))).status, 200);
    // Prunes run on their interval while the requests above are signed, so one may have taken part
    // of the records: count every run, once two more have been logged since the last request (the
    // second of them began after it).
    const prunes = () => signer.logs.filter((l) => l.msg === "slashing records pruned below the watermarks");
    const signedAt = prunes().length;
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (prunes().length >= signedAt + 2) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    const total = (field: string) => prunes().reduce((sum, l) => sum + Number(l[field]), 0);
    assert.equal(total("attestations"), 6, "every vote but the latest");
    assert.equal(total("blocks"), 4, "every block but the latest");
    assert.equal((await sign(signer.url, pubkey, attestationBody(3, 4, 1))).status, 412);
    assert.equal((await sign(signer.url, pubkey, blockBody(101, 1))).status, 412);
    assert.equal((await sign(signer.url, pubkey, attestationBody(8, 9))).status, 200);
  });
});

describe("keystores that fail to load", () => {
  it("are named in the log and /healthcheck, and do not stop the other keys or turn the signer DOWN", async (t) => {
    const signer = await startTestSigner(t, {
      keyCount: 3,
      prepare: async ({ keystoresDir, passwordsDir }) => {
        await writeFile(join(passwordsDir, "key-1.txt"), "not the password\n");
        await writeFile(join(keystoresDir, "broken.json"), "{ not json");
      },
    });
    const listed = (await (await fetch(`${signer.url}/api/v1/eth2/publicKeys`)).json()) as string[];
    assert.deepEqual(listed.sort(), [signer.keys[0]!.pubkey, signer.keys[2]!.pubkey].sort());
    assert.equal((await sign(signer.url, signer.keys[2]!.pubkey, attestationBody(1, 2))).status, 200);
    // Start-up says how far decryption got before the port opens (fewer than 10: one line, at the end).
    const progress = signer.logs.filter((l) => l.msg === "keystores decrypting");
    assert.deepEqual(progress.map((l) => [l.done, l.total]), [[3, 3]], "the three keystores decrypted; broken.json was refused unread");
    const failures = signer.logs.filter((l) => /keystore not loaded/.test(String(l.msg)));
    assert.equal(failures.length, 2);
    assert.ok(failures.some((l) => String(l.file).endsWith("key-1.json") && /password/i.test(String(l.msg))));
    assert.ok(failures.some((l) => String(l.file).endsWith("broken.json")));
    // The two keys that load keep the signer in a load balancer's rotation; the failures are named.
    const health = await fetch(`${signer.url}/healthcheck`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; checks: Array<{ id: string; status: string; data?: Record<string, unknown> }> };
    assert.equal(body.status, "UP");
    const keysCheck = body.checks.find((c) => c.id === "keys-check")!;
    assert.equal(keysCheck.status, "UP");
    assert.equal(keysCheck.data!["keys-loaded"], 2);
    assert.equal(keysCheck.data!["error-count"], 2);
    assert.deepEqual((keysCheck.data!["failed-files"] as string[]).sort(), ["broken.json", "key-1.json"]);
  });

  it("turn /healthcheck DOWN (503) when no key could load at all", async (t) => {
    const signer = await startTestSigner(t, {
      prepare: async ({ passwordsDir }) => writeFile(join(passwordsDir, "key-0.txt"), "not the password\n"),
    });
    const health = await fetch(`${signer.url}/healthcheck`);
    assert.equal(health.status, 503);
    const body = (await health.json()) as { checks: Array<{ id: string; status: string; data?: Record<string, unknown> }> };
    assert.deepEqual(body.checks.find((c) => c.id === "keys-check"), {
      id: "keys-check",
      status: "DOWN",
      data: { "keys-loaded": 0, "error-count": 1, "failed-files": ["key-0.json"] },
    });
  });
});
