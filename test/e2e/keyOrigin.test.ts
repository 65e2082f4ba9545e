import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { ssz } from "@lodestar/types";
import { checkStatements } from "../../src/tee/verify/statements.js";
import { cheapKeystore, randomKey } from "../helpers/keysFixtures.js";
import { startTestSigner } from "../helpers/signer.js";

// Evidence v2 end to end over HTTP against a real signer on the dev platform. The dev quote is
// empty, so the report data is taken from the document: what is shown is the statements' logic
// (the quote's own checks are covered with a test PKI in test/unit/teeStatement.test.ts).

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex.replace(/^0x/, ""), "hex"));
const WITHDRAWAL = "0x" + "5e".repeat(20);

/** The deposit checked as the deposit contract and the beacon chain do, with nothing of the signer's code. */
function depositVerifies(d: { pubkey: string; withdrawal_credentials: string; amount: number; signature: string; fork_version: string; deposit_data_root: string }): boolean {
  const message = { pubkey: bytes(d.pubkey), withdrawalCredentials: bytes(d.withdrawal_credentials), amount: d.amount };
  const forkDataRoot = ssz.phase0.ForkData.hashTreeRoot({ currentVersion: bytes(d.fork_version), genesisValidatorsRoot: new Uint8Array(32) });
  const domain = new Uint8Array([0x03, 0, 0, 0, ...forkDataRoot.subarray(0, 28)]);
  const signingRoot = ssz.phase0.SigningData.hashTreeRoot({ objectRoot: ssz.phase0.DepositMessage.hashTreeRoot(message), domain });
  const dataRoot = ssz.phase0.DepositData.hashTreeRoot({ ...message, signature: bytes(d.signature) });
  return Buffer.from(dataRoot).toString("hex") === d.deposit_data_root && verify(signingRoot, PublicKey.fromBytes(message.pubkey), Signature.fromBytes(bytes(d.signature)));
}

describe("key origin, evidence v2 over HTTP", () => {
  it("keygen's key is generated with its deposit, an imported key is imported, and statements do not move between keys", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1 });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(signer.url + path, {
        method,
        headers: { authorization: `Bearer ${signer.apiToken}`, ...(body !== undefined && { "content-type": "application/json" }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: (await res.json()) as any };
    };

    for (const body of [{ withdrawal_type: "0x02" }, { amount_gwei: 1 }, { withdrawal_address: "0x12" }, { withdrawal_address: WITHDRAWAL, amount_gwei: 33_000_000_000 }]) {
      assert.equal((await call("POST", "/eth/v1/keygen/bls", body)).status, 400, JSON.stringify(body));
    }
    const compounding = await call("POST", "/eth/v1/keygen/bls", { withdrawal_address: WITHDRAWAL, withdrawal_type: "0x02", amount_gwei: 64_000_000_000 });
    assert.equal(compounding.json.data[0].evidence.statements[0].deposit.amount, 64_000_000_000);
    assert.ok(depositVerifies(compounding.json.data[0].deposit_data));

    const gen = await call("POST", "/eth/v1/keygen/bls", { count: 1, withdrawal_address: WITHDRAWAL });
    assert.equal(gen.status, 200, JSON.stringify(gen.json));
    const [{ pubkey: generated, evidence: keygenEvidence, deposit_data: depositData }] = gen.json.data;
    assert.ok(depositVerifies(depositData), "the deposit keygen returned is valid on its own");
    assert.equal(depositData.withdrawal_credentials, "01" + "00".repeat(11) + "5e".repeat(20));

    const kg = checkStatements(bytes(keygenEvidence.reportData), keygenEvidence, { blsPubkeys: [generated], depositData: [depositData] });
    assert.deepEqual(kg.checks.filter((c) => !c.ok), []);
    assert.equal(kg.keys?.[0]?.origin, "generated");

    const imported = randomKey();
    const imp = await call("POST", "/eth/v1/keystores", { keystores: [JSON.stringify(await cheapKeystore(imported, "pw"))], passwords: ["pw"] });
    assert.deepEqual(imp.json.data, [{ status: "imported" }]);

    const nonce = new Uint8Array(randomBytes(32));
    const ev = await call("GET", `/eth/v1/evidence?nonce=0x${Buffer.from(nonce).toString("hex")}`);
    assert.equal(ev.status, 200);
    assert.equal(ev.json.version, 2);
    assert.equal(ev.json.identityPublicKey, keygenEvidence.identityPublicKey, "one identity for the instance");
    const all = checkStatements(bytes(ev.json.reportData), ev.json, { nonce, blsPubkeys: [generated, imported.pubkey, signer.keys[0]!.pubkey] });
    assert.deepEqual(all.checks.filter((c) => !c.ok), []);
    const origin = new Map(all.keys!.map((k) => [k.pubkey, k]));
    assert.equal(origin.get(generated)?.origin, "generated");
    assert.deepEqual(origin.get(generated)?.deposit?.depositDataRoot, bytes(depositData.deposit_data_root));
    assert.equal(origin.get(imported.pubkey)?.origin, "imported");
    assert.equal(origin.get(signer.keys[0]!.pubkey)?.origin, "imported", "a --keystores-dir key is imported");
    assert.ok(origin.get(imported.pubkey)!.counter > origin.get(generated)!.counter);

    // The imported key's deposit cannot be presented as one signed inside at keygen.
    const asGenerated = checkStatements(bytes(ev.json.reportData), ev.json, { nonce, depositData: [{ ...depositData, pubkey: imported.pubkey.slice(2) }] });
    assert.match(asGenerated.checks.filter((c) => !c.ok).map((c) => c.detail).join(), /is stated imported without a deposit/);

    // Statements swapped between the keys, or the imported one relabelled, do not verify.
    const genStatement = ev.json.statements.find((s: { pubkey: string }) => s.pubkey === generated);
    const impStatement = ev.json.statements.find((s: { pubkey: string }) => s.pubkey === imported.pubkey);
    for (const statements of [
      [{ ...genStatement, pubkey: imported.pubkey }, { ...impStatement, pubkey: generated }],
      [genStatement, { ...impStatement, origin: "generated" }],
      [genStatement, { ...impStatement, origin: "generated", deposit: genStatement.deposit, signature: genStatement.signature }],
    ]) {
      const r = checkStatements(bytes(ev.json.reportData), { ...ev.json, statements }, { nonce });
      assert.ok(r.checks.some((c) => c.id === "KEY_STATEMENTS" && !c.ok), JSON.stringify(statements));
    }
    // Stale: evidence for another nonce binds nothing for this one.
    const stale = checkStatements(bytes(ev.json.reportData), ev.json, { nonce: new Uint8Array(32).fill(1) });
    assert.equal(stale.keys, undefined);
  });
});
