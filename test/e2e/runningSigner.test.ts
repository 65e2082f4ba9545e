import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { checkReportData } from "../../src/tee/reportData.js";
import { fromHex } from "../../src/util/hex.js";
import { attestationBody, blockBody, MAINNET_GVR, sign } from "../helpers/messages.js";
import { startTestSigner } from "../helpers/signer.js";


describe("working with a running signer", () => {
  it("imports and exports slashing protection through it, behind the API token", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 2 });
    const [a, b] = signer.keys.map((k) => k.pubkey) as [string, string];
    assert.equal((await sign(signer.url, a, attestationBody(4, 5))).status, 200);
    assert.equal((await sign(signer.url, a, blockBody(77))).status, 200);

    const exported = await cli("slashing-protection", "export", "--url", signer.url, "--data-dir", signer.dataDir, "--pubkeys", a);
    assert.equal(exported.code, 0, exported.stderr);
    const interchange = JSON.parse(exported.stdout) as { metadata: { genesis_validators_root: string }; data: Array<{ pubkey: string; signed_blocks: unknown[]; signed_attestations: unknown[] }> };
    assert.equal(interchange.metadata.genesis_validators_root, MAINNET_GVR);
    assert.deepEqual(interchange.data.map((d) => [d.pubkey, d.signed_blocks.length, d.signed_attestations.length]), [[a, 1, 1]]);

    // Another client's history for key b arrives while the signer runs: from then on it binds b.
    const file = join(signer.dataDir, "..", "b.json");
    await writeFile(
      file,
      JSON.stringify({
        metadata: { interchange_format_version: "5", genesis_validators_root: MAINNET_GVR },
        data: [{ pubkey: b, signed_blocks: [{ slot: "500" }], signed_attestations: [{ source_epoch: "40", target_epoch: "41" }] }],
      }),
    );
    const imported = await cli("slashing-protection", "import", file, "--url", signer.url, "--data-dir", signer.dataDir);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /1 keys, 1 blocks and 1 attestations added/);
    assert.equal((await sign(signer.url, b, blockBody(500))).status, 412);
    assert.equal((await sign(signer.url, b, attestationBody(39, 41))).status, 412);
    assert.equal((await sign(signer.url, b, attestationBody(41, 42))).status, 200);

    const wrongToken = join(signer.dataDir, "..", "wrong-token.txt");
    await writeFile(wrongToken, "0".repeat(64));
    const refused = await cli("slashing-protection", "export", "--url", signer.url, "--token-file", wrongToken);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /403/);
    const noAuth = await fetch(`${signer.url}/eth/v1/slashing-protection`);
    assert.equal(noAuth.status, 401);
    const token = (await readFile(join(signer.dataDir, "api-token.txt"), "utf8")).trim();
    const malformed = await fetch(`${signer.url}/eth/v1/slashing-protection`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ metadata: { interchange_format_version: "4" }, data: [] }),
    });
    assert.equal(malformed.status, 400);
  });

  it("serves evidence v2: the transport and identity keys with the verifier's nonce, and a statement per BLS key", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 2 });
    const token = (await readFile(join(signer.dataDir, "api-token.txt"), "utf8")).trim();
    const transport = (await (await fetch(`${signer.url}/eth/v1/transport-key`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      data: { public_key: string };
    };
    const nonce = randomBytes(32);
    const res = await fetch(`${signer.url}/eth/v1/evidence?nonce=0x${nonce.toString("hex")}`);
    assert.equal(res.status, 200);
    const evidence = (await res.json()) as { platform: string; format: string; reportData: string; transportPublicKey: string; identityPublicKey: string; statements: { pubkey: string; origin: string }[]; nonce: string };
    assert.equal(evidence.platform, "dev");
    assert.equal(evidence.format, "none");
    assert.equal(evidence.transportPublicKey, transport.data.public_key);
    assert.deepEqual(evidence.statements.map((s) => s.pubkey), signer.keys.map((k) => k.pubkey).sort());
    // Keys from --keystores-dir came from outside: imported.
    assert.deepEqual(evidence.statements.map((s) => s.origin), ["imported", "imported"]);
    const claim = { transportPublicKey: fromHex(transport.data.public_key, "transport"), identityPublicKey: fromHex(evidence.identityPublicKey, "identity", 32), blsPubkeys: [], nonce };
    assert.deepEqual(checkReportData(fromHex(evidence.reportData, "reportData"), claim), { ok: true });
    const otherNonce = { ...claim, nonce: randomBytes(32) };
    assert.equal(checkReportData(fromHex(evidence.reportData, "reportData"), otherNonce).ok, false);
    assert.equal((await fetch(`${signer.url}/eth/v1/evidence?nonce=0x12`)).status, 400);
  });
});
