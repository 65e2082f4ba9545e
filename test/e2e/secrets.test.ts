import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { createPlatform } from "../../src/tee/index.js";
import { cheapKeystore, randomKey } from "../helpers/keysFixtures.js";
import { attestationBody, blockBody } from "../helpers/messages.js";
import { startTestSigner } from "../helpers/signer.js";

describe("a whole session through the signer leaks no secret", () => {
  it("keygen, import, sign, scrape, delete: no response body and no log line (at trace level) holds a secret", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1, flags: { "log-level": "trace" } });
    const token = (await readFile(join(signer.dataDir, "api-token.txt"), "utf8")).trim();
    const bodies: string[] = [];
    const call = async (method: string, path: string, body?: unknown, auth = true) => {
      const res = await fetch(`${signer.url}${path}`, {
        method,
        headers: {
          accept: "application/json",
          ...(auth && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { "content-type": "application/json" }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      bodies.push(text);
      return { status: res.status, text };
    };

    const generated = JSON.parse((await call("POST", "/eth/v1/keygen/bls", { count: 2 })).text) as { data: Array<{ pubkey: string }> };
    const imported = randomKey();
    const password = randomBytes(12).toString("hex");
    const importRes = await call("POST", "/eth/v1/keystores", {
      keystores: [JSON.stringify(await cheapKeystore(imported, password))],
      passwords: [password],
    });
    assert.equal(importRes.status, 200, importRes.text);
    const pubkeys = [signer.keys[0]!.pubkey, imported.pubkey, ...generated.data.map((d) => d.pubkey)];
    let epoch = 10;
    for (const pubkey of pubkeys) {
      assert.equal((await call("POST", `/api/v1/eth2/sign/${pubkey}`, attestationBody(epoch, epoch + 1), false)).status, 200);
      assert.equal((await call("POST", `/api/v1/eth2/sign/${pubkey}`, blockBody(epoch * 32), false)).status, 200);
      assert.equal((await call("POST", `/api/v1/eth2/sign/${pubkey}`, attestationBody(epoch, epoch + 1, 3), false)).status, 412);
      epoch += 2;
    }
    for (const path of ["/api/v1/eth2/publicKeys", "/eth/v1/keystores", "/eth/v1/evidence", "/healthcheck", "/metrics", "/eth/v1/slashing-protection"]) {
      await call("GET", path);
    }
    // The generated secrets exist only sealed inside the signer: unseal them as a restart would.
    const store = await SealedKeyStore.open(await createPlatform("dev", { dataDir: signer.dataDir }), signer.dataDir);
    const sealed = (await store.loadAll()).keys.filter((k) => generated.data.some((d) => d.pubkey === k.pubkey));
    assert.equal(sealed.length, 2);
    const deleted = await call("DELETE", "/eth/v1/keystores", { pubkeys: [imported.pubkey, ...generated.data.map((d) => d.pubkey)] });
    assert.equal(deleted.status, 200, deleted.text);

    const secrets = [signer.keys[0]!.secretKey, imported.secretKey, ...sealed.map((k) => k.secretKey)];
    const haystack = [...bodies, ...signer.logs.map((l) => JSON.stringify(l))].join("\n").toLowerCase();
    assert.ok(bodies.length >= 20 && signer.logs.length >= 12, `${bodies.length} bodies, ${signer.logs.length} log lines`);
    for (const secret of secrets) {
      const b = Buffer.from(secret);
      for (const needle of [b.toString("hex"), b.toString("base64"), b.toString("base64url")]) {
        assert.equal(haystack.includes(needle.toLowerCase()), false, "a secret key appears in a response or log line");
      }
    }
    assert.equal(haystack.includes(password), false, "the keystore password appears in a response or log line");
    assert.equal(haystack.includes(token), false, "the API token appears in a response or log line");
  });
});
