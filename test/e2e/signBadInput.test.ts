import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attestationBody, FULU_FORK_INFO } from "../helpers/messages.js";
import { startTestSigner } from "../helpers/signer.js";

const ROOT = "0x" + "11".repeat(32);
const forkInfo = FULU_FORK_INFO;

interface Case {
  name: string;
  body: string;
  pubkey?: string;
  status: number;
  message: RegExp;
}

describe("sign endpoint: bad input", () => {
  it("answers each bad request with its status and a message naming the problem, records nothing, keeps serving", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1, flags: { "body-limit": String(64 * 1024) } });
    const pubkey = signer.keys[0]!.pubkey;
    const good = attestationBody(10, 11);
    const cases: Case[] = [
      { name: "malformed JSON", body: '{"type": "ATTESTATION",', status: 400, message: /JSON/i },
      { name: "not an object", body: "[]", status: 400, message: /object/ },
      { name: "missing type", body: JSON.stringify({ fork_info: forkInfo }), status: 400, message: /type/ },
      { name: "unknown type", body: JSON.stringify({ ...good, type: "NOT_A_TYPE" }), status: 400, message: /type/ },
      { name: "missing fork_info", body: JSON.stringify({ type: "ATTESTATION", attestation: good.attestation }), status: 400, message: /fork_info/ },
      { name: "missing attestation", body: JSON.stringify({ type: "ATTESTATION", fork_info: forkInfo }), status: 400, message: /attestation/ },
      {
        name: "wrong type of a field",
        body: JSON.stringify({ ...good, attestation: { ...good.attestation, slot: true } }),
        status: 400,
        message: /slot/,
      },
      {
        name: "negative number",
        body: JSON.stringify({ ...good, attestation: { ...good.attestation, index: "-1" } }),
        status: 400,
        message: /index/,
      },
      {
        name: "number beyond uint64",
        body: JSON.stringify({ ...good, attestation: { ...good.attestation, slot: "184467440737095516160" } }),
        status: 400,
        message: /slot/,
      },
      {
        name: "epoch beyond what the signer can represent exactly",
        body: JSON.stringify({ ...good, attestation: { ...good.attestation, target: { epoch: "18446744073709551615", root: ROOT } } }),
        status: 400,
        message: /epoch/,
      },
      {
        name: "bad hex",
        body: JSON.stringify({ ...good, attestation: { ...good.attestation, beacon_block_root: "0xzz" } }),
        status: 400,
        message: /beacon_block_root/,
      },
      {
        name: "hex of the wrong length",
        body: JSON.stringify({ ...good, fork_info: { ...forkInfo, genesis_validators_root: "0x1234" } }),
        status: 400,
        message: /genesis_validators_root/,
      },
      {
        name: "another network's genesis_validators_root",
        body: JSON.stringify({ ...good, fork_info: { ...forkInfo, genesis_validators_root: ROOT } }),
        status: 400,
        message: /genesis_validators_root/,
      },
      { name: "mismatched signingRoot", body: JSON.stringify({ ...good, signingRoot: ROOT }), status: 400, message: /signingRoot/ },
      { name: "oversize body", body: JSON.stringify({ ...good, padding: "x".repeat(70 * 1024) }), status: 413, message: /large|limit/i },
      { name: "unknown key", body: JSON.stringify(good), pubkey: "0x" + "a0".repeat(48), status: 404, message: /no key/ },
      { name: "malformed key", body: JSON.stringify(good), pubkey: "0x1234", status: 400, message: /pubkey/ },
    ];
    for (const c of cases) {
      const res = await fetch(`${signer.url}/api/v1/eth2/sign/${c.pubkey ?? pubkey}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: c.body,
      });
      const text = await res.text();
      assert.equal(res.status, c.status, `${c.name}: status (${text})`);
      const body = JSON.parse(text) as { code: number; message: string };
      assert.equal(body.code, c.status, `${c.name}: code`);
      assert.match(body.message, c.message, `${c.name}: message`);
    }
    assert.equal(cases.length, 17);

    // The server still serves, and none of the refused attestations left a record: the same
    // source/target with the computed root signs now.
    const up = await fetch(`${signer.url}/upcheck`);
    assert.equal(up.status, 200);
    const ok = await fetch(`${signer.url}/api/v1/eth2/sign/${pubkey}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(good),
    });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.match(((await ok.json()) as { signature: string }).signature, /^0x[0-9a-f]{192}$/);
  });
});
