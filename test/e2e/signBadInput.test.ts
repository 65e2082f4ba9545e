import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attestationBody, blockBody, FULU_FORK_INFO } from "../helpers/messages.js";
import { startTestSigner } from "../helpers/signer.js";
import { signingCases } from "../helpers/signingCases.js";

const ROOT = "0x" + "11".repeat(32);
const forkInfo = FULU_FORK_INFO;

/** `[[[…1…]]]`, `depth` arrays deep, as JSON text (JSON.stringify itself overflows on it). */
const nested = (depth: number) => "[".repeat(depth) + "1" + "]".repeat(depth);

/** A full Fulu block (of the signing cases) whose `graffiti` is the JSON text `graffiti`. */
function blockWithGraffiti(graffiti: string): string {
  const body = structuredClone(signingCases().find((c) => c.name === "BLOCK_V2 FULU block")!.body) as Record<string, any>;
  body.beacon_block.block.body.graffiti = "@graffiti@";
  return JSON.stringify(body).replace('"@graffiti@"', graffiti);
}

interface Case {
  name: string;
  body: string;
  pubkey?: string;
  status: number;
  message: RegExp;
}

describe("sign endpoint: bad input", () => {
  it("answers each bad request with its status and a message naming the problem, records nothing, keeps serving", async (t) => {
    const signer = await startTestSigner(t, { keyCount: 1, flags: { "body-limit": String(2 * 1024 * 1024) } });
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
      { name: "a value nested 5,000 deep inside a block body", body: blockWithGraffiti(nested(5000)), status: 400, message: /graffiti must be 0x-prefixed hex, got an array of 1 items/ },
      { name: "a megabyte of text where a root goes", body: blockWithGraffiti(JSON.stringify("z".repeat(1 << 20))), status: 400, message: /graffiti.*\(1048576 characters\)$/ },
      {
        name: "a JSON number past 2^53 that JSON cannot carry exactly",
        body: JSON.stringify({ ...good, attestation: { ...good.attestation, index: "@" } }).replace('"@"', "9.007199254740993e15"),
        status: 400,
        message: /index .*decimal string/,
      },
      {
        name: "GLOAS, which mainnet does not schedule",
        body: JSON.stringify({ ...blockBody(411392 * 32 + 40), beacon_block: { ...blockBody(411392 * 32 + 40).beacon_block, version: "GLOAS" } }),
        status: 400,
        message: /beacon_block\/version is GLOAS, which network mainnet does not schedule/,
      },
      {
        name: "a zero genesis_validators_root on a type without slashing protection",
        body: JSON.stringify({ type: "RANDAO_REVEAL", fork_info: { ...forkInfo, genesis_validators_root: "0x" + "00".repeat(32) }, randao_reveal: { epoch: "411392" } }),
        status: 400,
        message: /fork_info\/genesis_validators_root is zero/,
      },
      { name: "mismatched signingRoot", body: JSON.stringify({ ...good, signingRoot: ROOT }), status: 400, message: /signingRoot/ },
      { name: "oversize body", body: JSON.stringify({ ...good, padding: "x".repeat(2 * 1024 * 1024) }), status: 413, message: /large|limit/i },
      { name: "unknown key", body: JSON.stringify(good), pubkey: "0x" + "a0".repeat(48), status: 404, message: /no key/ },
      { name: "malformed key", body: JSON.stringify(good), pubkey: "0x1234", status: 400, message: /pubkey/ },
    ];
    const failures: string[] = [];
    for (const c of cases) {
      const res = await fetch(`${signer.url}/api/v1/eth2/sign/${c.pubkey ?? pubkey}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: c.body,
      });
      const text = await res.text();
      const body = JSON.parse(text) as { code: number; message: string };
      // Every case is tried, so that a failure lists all that fail.
      if (res.status !== c.status || body.code !== c.status || !c.message.test(body.message)) failures.push(`${c.name}: ${res.status} ${text.slice(0, 300)}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(cases.length, 22);

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
