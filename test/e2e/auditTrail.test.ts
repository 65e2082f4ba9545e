import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cheapKeystore, randomKey } from "../helpers/keysFixtures.js";
import { startTestSigner } from "../helpers/signer.js";

describe("the audit trail of key changes", () => {
  it("logs each keymanager import, delete and refusal with the keys and the caller, and the import's progress", async (t) => {
    const signer = await startTestSigner(t, { flags: { "log-level": "info" } });
    const api = (method: string, path: string, body?: unknown, token: string | undefined = signer.apiToken) =>
      fetch(`${signer.url}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(token !== undefined && { authorization: `Bearer ${token}` }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });

    const keys = Array.from({ length: 10 }, () => randomKey());
    const keystores = await Promise.all(keys.map(async (k) => JSON.stringify(await cheapKeystore(k, "pw"))));
    const res = await api("POST", "/eth/v1/keystores", { keystores: [...keystores, "{ not a keystore"], passwords: [...keys.map(() => "pw"), "pw"] });
    assert.equal(res.status, 200);

    const imported = signer.logs.find((l) => l.msg === "keystores import");
    assert.ok(imported, "one line for the import");
    assert.deepEqual((imported.pubkeys as string[]).sort(), keys.map((k) => k.pubkey).sort(), "every key that now signs is named");
    assert.equal(imported.requested, 11);
    const failed = imported.failed as Array<{ index: number; message: string }>;
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.index, 10);
    assert.deepEqual(imported.caller, { remote: "127.0.0.1", auth: "api-token" });
    // 10 keystores decrypted, one refused before: a line each tenth of the way, the last at 10 of 10.
    const progress = signer.logs.filter((l) => l.msg === "keystores import: decrypting");
    assert.equal(progress.length, 10);
    assert.deepEqual([progress.at(-1)!.done, progress.at(-1)!.total], [10, 10]);

    const gone = keys[3]!.pubkey;
    const unknown = "0x" + "b0".repeat(48);
    assert.equal((await api("DELETE", "/eth/v1/keystores", { pubkeys: [gone, unknown] })).status, 200);
    const deleted = signer.logs.find((l) => l.msg === "keystores delete");
    assert.ok(deleted);
    assert.deepEqual(deleted.pubkeys, [gone], "the deleted key, not the one that was never there");
    assert.equal(deleted.requested, 2);
    assert.deepEqual(deleted.caller, { remote: "127.0.0.1", auth: "api-token" });

    // A refused caller is logged too: who tried, on which route, and why.
    assert.equal((await api("DELETE", "/eth/v1/keystores", { pubkeys: [keys[0]!.pubkey] }, "wrong-token")).status, 403);
    assert.equal((await api("POST", "/eth/v1/keystores", { keystores: "nope" })).status, 400);
    const refused = signer.logs.filter((l) => l.msg === "request refused");
    assert.deepEqual(refused.map((l) => [l.status, l.route, l.remote]), [
      [403, "/eth/v1/keystores", "127.0.0.1"],
      [400, "/eth/v1/keystores", "127.0.0.1"],
    ]);
    assert.match(String(refused[0]!.message), /invalid API token/);
    assert.ok(!JSON.stringify(signer.logs).includes(signer.apiToken), "the token itself is never logged");
  });
});
