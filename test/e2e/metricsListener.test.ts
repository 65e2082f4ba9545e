import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, it } from "node:test";
import { attestationBody, sign } from "../helpers/messages.js";
import { parseExposition, sample } from "../helpers/prometheus.js";
import { startTestSigner } from "../helpers/signer.js";

/** A GET with a Host header of the test's choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("--metrics-port", () => {
  it("serves /metrics on a listener of its own, behind its own Host allowlist, and no longer on --port", async (t) => {
    const signer = await startTestSigner(t, { flags: { "metrics-port": "0", "metrics-host-allowlist": "prometheus.internal" } });
    assert.ok(signer.metricsUrl, "the metrics listener's address is reported");
    assert.notEqual(new URL(signer.metricsUrl).port, new URL(signer.url).port);
    const key = signer.keys[0]!;
    assert.equal((await sign(signer.url, key.pubkey, attestationBody(1, 2))).status, 200);

    assert.equal((await fetch(`${signer.url}/metrics`)).status, 404, "not on the signing API's port");
    assert.equal((await getWithHost(`${signer.metricsUrl}/metrics`, "127.0.0.1")).status, 403, "127.0.0.1 is not in the metrics allowlist given");
    const scraped = await getWithHost(`${signer.metricsUrl}/metrics`, "prometheus.internal:9001");
    assert.equal(scraped.status, 200);
    const text = scraped.body;
    const m = parseExposition(text);
    assert.equal(sample(m, "secure_signer_signatures_total", { type: "ATTESTATION", outcome: "signed" }), 1);
    assert.equal(sample(m, "secure_signer_http_requests_total", { route: "/api/v1/eth2/sign/:identifier", status: "200" }), 1, "the main listener's requests are still counted");
  });

  it("--metrics-enabled=true (Web3Signer's switch) serves /metrics on its own listener; =false serves it nowhere", async (t) => {
    const enabled = await startTestSigner(t, { flags: { "metrics-enabled": "true", "metrics-port": "0", "metrics-category": "HTTP,SIGNING" } });
    assert.ok(enabled.metricsUrl);
    assert.equal((await fetch(`${enabled.url}/metrics`)).status, 404);
    const scraped = await fetch(`${enabled.metricsUrl}/metrics`);
    assert.equal(scraped.status, 200);
    // Categories name nothing to leave out: the slashing metrics are there beside HTTP and SIGNING.
    assert.match(await scraped.text(), /^# TYPE secure_signer_slashing_db_seconds histogram$/m);

    const disabled = await startTestSigner(t, { flags: { "metrics-enabled": "false" } });
    assert.equal(disabled.metricsUrl, undefined);
    assert.equal((await fetch(`${disabled.url}/metrics`)).status, 404);
    assert.equal((await fetch(`${disabled.url}/upcheck`)).status, 200);

    const byDefault = await startTestSigner(t);
    assert.equal((await fetch(`${byDefault.url}/metrics`)).status, 200, "unset, /metrics stays on the main port");
  });
});
