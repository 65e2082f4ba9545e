/**
 * The continuity store as an operator meets it: the real PostgreSQL behind TLS with a throwaway CA
 * (the host must not be able to point the signer at another server), an outage that stops only
 * what needs a new reservation, and recovery when the store returns.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startSigner } from "../../src/app.js";
import { loadConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/log.js";
import { tempDir } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody, sign, verifyReturned } from "../helpers/messages.js";
import { PostgresTlsFront, tlsTestDatabase } from "../helpers/pgTls.js";
import { ADMIN_URL } from "../helpers/slashingPostgres.js";
import { startTestSigner } from "../helpers/signer.js";
import { Writable } from "node:stream";

async function store(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t, "continuity");
  return { dir, ...(await tlsTestDatabase(t, dir)) };
}

const quiet = () => createLogger("fatal", new Writable({ write: (_c, _e, cb) => cb() }));

describe("continuity store", () => {
  it("while it is down signs only what the held reservation covers (503 for the rest), and recovers when it returns", async (t) => {
    const s = await store(t);
    const signer = await startTestSigner(t, { flags: { "continuity-store": s.url, "continuity-ca": s.pki.caCert } });
    const pubkey = signer.keys[0]!.pubkey;
    const signed = async (body: ReturnType<typeof attestationBody> | ReturnType<typeof blockBody>) => {
      const r = await sign(signer.url, pubkey, body);
      if (r.status === 200) assert.ok(verifyReturned(pubkey, body, r.signature!));
      return r;
    };
    assert.equal((await signed(attestationBody(10, 11))).status, 200); // reserves targets up to 12, source 10
    const health = async () => (await (await fetch(`${signer.url}/healthcheck`)).json()) as { status: string; checks: Array<{ id: string; status: string }> };
    assert.equal((await health()).checks.find((c) => c.id === "continuity-store")?.status, "UP");

    await s.front.stop();
    assert.equal((await signed(attestationBody(10, 12))).status, 200, "covered by the reservation held");
    const above = await signed(attestationBody(12, 13));
    assert.equal(above.status, 503);
    assert.match(above.message!, /continuity store/);
    assert.equal((await signed(blockBody(500))).status, 503, "a block needs its own reservation");
    assert.equal((await health()).checks.find((c) => c.id === "continuity-store")?.status, "DOWN");

    const newSource = await signed(attestationBody(11, 13));
    assert.equal(newSource.status, 503, "a higher source than the one reserved needs the store too");
    await s.front.start();
    assert.equal((await signed(attestationBody(12, 13))).status, 200);
    assert.equal((await signed(blockBody(500))).status, 200);
    assert.equal((await signed(blockBody(500, 1))).status, 412);
  });

  it("refuses a server whose certificate another CA issued, and a URL that tries to change TLS", async (t) => {
    const s = await store(t);
    const stranger = new PostgresTlsFront(new URL(ADMIN_URL), s.pki.strangerCert, s.pki.strangerKey);
    await stranger.start();
    t.after(() => stranger.stop());
    const dataDir = join(s.dir, "data");
    const open = (url: string) =>
      startSigner(
        loadConfig({ "data-dir": dataDir, port: "0", "startup-floor-epochs": "off", "continuity-store": url, "continuity-ca": s.pki.caCert }, {}),
        quiet(),
      );
    await assert.rejects(open(stranger.url("postgres")), /continuity store: opening failed: .*(self-signed|self signed|unable to verify)/i);
    await assert.rejects(open(`${s.url}?sslmode=disable`), /takes no parameters \(got sslmode\)/);
    assert.throws(
      () => loadConfig({ "data-dir": dataDir, "continuity-store": s.url }, {}),
      /--continuity-store and --continuity-ca go together/,
    );
    // The right server and CA start.
    const ok = await open(s.url);
    await ok.close();
  });
});
