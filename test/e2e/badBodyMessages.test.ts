import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attestationBody, FULU_FORK_INFO } from "../helpers/messages.js";
import { startTestSigner } from "../helpers/signer.js";

/** Words of the schemas' inner workings that a client's message must not carry. */
const INTERNAL = /anyOf|oneOf|allOf|#\/|schema|must have required property/;

describe("400 messages name the API's fields, not the schema", () => {
  it("on the sign route and the keymanager import, over HTTP", async (t) => {
    const signer = await startTestSigner(t);
    const good = attestationBody(10, 11) as Record<string, any>;
    const signCases: Array<[string, unknown, RegExp]> = [
      ["no type", {}, /^type: required field is missing$/],
      ["not an object", [], /^body: expected a JSON object, got \[\]$/],
      ["unknown type", { ...good, type: "FOO" }, /^type: unknown signing type "FOO" \(expected one of .*\bATTESTATION\b/],
      ["type not a string", { ...good, type: 5 }, /^type: expected a JSON string, got 5$/],
      ["no fork_info", { ...good, fork_info: undefined }, /^fork_info: required field is missing$/],
      ["slot not a uint64", { ...good, attestation: { ...good.attestation, slot: true } }, /^attestation\.slot: expected a decimal uint64, got true$/],
      ["short root", { ...good, fork_info: { ...good.fork_info, genesis_validators_root: "0x12" } }, /^fork_info\.genesis_validators_root: expected 0x and 64 hex digits, got "0x12"$/],
      ["neither block nor header", { type: "BLOCK_V2", fork_info: FULU_FORK_INFO, beacon_block: { version: "FULU" } }, /^beacon_block: needs block or block_header$/],
      // JSON.stringify overflows its stack on this (so it is sent as text); quoting it for the message was a 500.
      ["nested 10,000 arrays deep", `{"type":"ATTESTATION","fork_info":${JSON.stringify(FULU_FORK_INFO)},"attestation":${"[".repeat(10_000)}${"]".repeat(10_000)}}`, /^attestation: expected a JSON object, got an array of 1 items$/],
      ["aggregate without data", { type: "AGGREGATE_AND_PROOF", fork_info: FULU_FORK_INFO, aggregate_and_proof: { version: "FULU" } }, /^aggregate_and_proof\.data: required field is missing$/],
    ];
    for (const [name, body, expected] of signCases) {
      const text = typeof body === "string" ? body : JSON.stringify(body);
      const res = await fetch(`${signer.url}/api/v1/eth2/sign/${signer.keys[0]!.pubkey}`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
      const { message } = (await res.json()) as { message: string };
      assert.equal(res.status, 400, name);
      assert.match(message, expected, name);
      assert.doesNotMatch(message, INTERNAL, name);
    }

    const importCases: Array<[string, unknown, RegExp]> = [
      ["empty body", {}, /^keystores: required field is missing$/],
      ["not an object", null, /^body: expected a JSON object, got null$/],
      ["keystore not a string", { keystores: [{ crypto: {} }], passwords: ["pw"] }, /^keystores\[0\]: expected a JSON string, got \{"crypto":\{\}\}$/],
      ["keystores not an array", { keystores: "x", passwords: [] }, /^keystores: expected an array, got "x"$/],
      ["password not a string", { keystores: [], passwords: [2] }, /^passwords\[0\]: expected a JSON string, got 2$/],
      ["no passwords", { keystores: [] }, /^passwords: required field is missing$/],
      ["slashing_protection a number", { keystores: [], passwords: [], slashing_protection: 5 }, /^slashing_protection: expected a JSON string or null, got 5$/],
    ];
    for (const [name, body, expected] of importCases) {
      const res = await fetch(`${signer.url}/eth/v1/keystores`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${signer.apiToken}` },
        body: JSON.stringify(body),
      });
      const { message } = (await res.json()) as { message: string };
      assert.equal(res.status, 400, name);
      assert.match(message, expected, name);
      // The encrypted form is named only to a client that sent it.
      assert.doesNotMatch(message, /transport_encrypted/, name);
      assert.doesNotMatch(message, INTERNAL, name);
    }
    const encrypted = await fetch(`${signer.url}/eth/v1/keystores`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${signer.apiToken}` },
      body: JSON.stringify({ transport_encrypted: "not base64!" }),
    });
    assert.equal(encrypted.status, 400);
    assert.match(((await encrypted.json()) as { message: string }).message, /^transport_encrypted: expected base64, got "not base64!"$/);

    const keygen = await fetch(`${signer.url}/eth/v1/keygen/bls`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${signer.apiToken}` },
      body: JSON.stringify({ withdrawal_type: "0x03" }),
    });
    assert.equal(keygen.status, 400);
    assert.match(((await keygen.json()) as { message: string }).message, /^withdrawal_type: expected "0x01" or "0x02", got "0x03"$/);
  });
});
