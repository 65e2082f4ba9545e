import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, it } from "node:test";
import { tempDir } from "../helpers/keysFixtures.js";
import { startTestSigner } from "../helpers/signer.js";
import { httpsGet, makePki } from "../helpers/tls.js";

describe("TLS, client certificates and host allowlist", () => {
  it("serves HTTPS with the configured certificate", async (t) => {
    const pki = makePki(await tempDir(t, "pki"));
    const signer = await startTestSigner(t, { flags: { "tls-cert": pki.serverCert, "tls-key": pki.serverKey } });
    assert.match(signer.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsGet(`${signer.url}/upcheck`, { ca: pki.caCert });
    assert.equal(res.status, 200);
    assert.equal(res.body, "OK");
    const keys = await httpsGet(`${signer.url}/api/v1/eth2/publicKeys`, { ca: pki.caCert });
    assert.deepEqual(JSON.parse(keys.body), [signer.keys[0]!.pubkey]);
  });

  it("with --tls-client-ca, accepts only clients whose certificate that CA issued", async (t) => {
    const pki = makePki(await tempDir(t, "pki"));
    const signer = await startTestSigner(t, {
      flags: { "tls-cert": pki.serverCert, "tls-key": pki.serverKey, "tls-client-ca": pki.caCert },
    });
    const known = await httpsGet(`${signer.url}/upcheck`, { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
    assert.equal(known.status, 200);
    await assert.rejects(httpsGet(`${signer.url}/upcheck`, { ca: pki.caCert }), "no client certificate is refused");
    await assert.rejects(
      httpsGet(`${signer.url}/upcheck`, { ca: pki.caCert, cert: pki.strangerCert, key: pki.strangerKey }),
      "a certificate from another CA is refused",
    );
  });

  it("refuses requests whose Host is not in --host-allowlist", async (t) => {
    const signer = await startTestSigner(t, { flags: { "host-allowlist": "localhost,127.0.0.1" } });
    assert.equal((await fetch(`${signer.url}/upcheck`)).status, 200);
    const port = new URL(signer.url).port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${signer.url}/upcheck`, { headers: { host: `evil.example:${port}` } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 403);
  });
});
