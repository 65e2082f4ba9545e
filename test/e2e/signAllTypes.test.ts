import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import { signingCases } from "../helpers/signingCases.js";
import { startTestSigner } from "../helpers/signer.js";

describe("sign endpoint: every message type and fork over HTTP", () => {
  it("returns signatures that blst verifies against independently computed signing roots", async (t) => {
    // DEPOSIT is signed over the API only when allowed, and for the API token (test/e2e/access.test.ts).
    const signer = await startTestSigner(t, { keyCount: 1, flags: { "allow-deposit-signing": true } });
    const key = signer.keys[0]!;
    const publicKey = PublicKey.fromBytes(key.pubkeyBytes);
    const cases = signingCases();
    const types = new Set<string>();
    const forks = new Set<string>();
    for (const c of cases) {
      // Alternate the two response formats Web3Signer offers.
      const json = types.size % 2 === 0;
      const res = await fetch(`${signer.url}/api/v1/eth2/sign/${key.pubkey}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: json ? "application/json" : "text/plain",
          ...(c.type === "DEPOSIT" && { authorization: `Bearer ${signer.apiToken}` }),
        },
        body: JSON.stringify(c.body),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `${c.name}: ${text}`);
      const hex = json ? (JSON.parse(text) as { signature: string }).signature : text;
      assert.match(hex, /^0x[0-9a-f]{192}$/, `${c.name}: signature format`);
      const sig = Signature.fromBytes(Buffer.from(hex.slice(2), "hex"));
      assert.ok(verify(c.expectedRoot, publicKey, sig), `${c.name}: signature verifies against the expected root`);
      types.add(c.type);
      forks.add(c.fork);
    }
    console.log(`signed and verified ${cases.length} cases: ${types.size} types, ${forks.size} forks`);
    assert.ok(cases.length >= 30, `expected at least 30 cases, got ${cases.length}`);
    for (const type of [
      "BLOCK", "BLOCK_V2", "ATTESTATION", "AGGREGATION_SLOT", "AGGREGATE_AND_PROOF", "AGGREGATE_AND_PROOF_V2",
      "RANDAO_REVEAL", "VOLUNTARY_EXIT", "DEPOSIT", "SYNC_COMMITTEE_MESSAGE", "SYNC_COMMITTEE_SELECTION_PROOF",
      "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF", "VALIDATOR_REGISTRATION",
    ]) {
      assert.ok(types.has(type), `covers ${type}`);
    }
    for (const fork of ["phase0", "altair", "bellatrix", "capella", "deneb", "electra", "fulu"]) {
      assert.ok(forks.has(fork), `covers ${fork}`);
    }
  });

  it("answers text/plain when the client asks for it, and lists the loaded keys", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 2 });
    const list = await fetch(`${signer.url}/api/v1/eth2/publicKeys`);
    assert.equal(list.status, 200);
    assert.deepEqual(new Set((await list.json()) as string[]), new Set(signer.keys.map((k) => k.pubkey)));
    const c = signingCases().find((x) => x.type === "RANDAO_REVEAL")!;
    const res = await fetch(`${signer.url}/api/v1/eth2/sign/${signer.keys[1]!.pubkey}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/plain" },
      body: JSON.stringify(c.body),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const sig = Signature.fromBytes(Buffer.from((await res.text()).slice(2), "hex"));
    assert.ok(verify(c.expectedRoot, PublicKey.fromBytes(signer.keys[1]!.pubkeyBytes), sig));
  });
});
