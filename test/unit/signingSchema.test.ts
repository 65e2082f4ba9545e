import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import Fastify, { type FastifyInstance } from "fastify";
import { REQUEST_VALIDATION } from "../../src/api/validation.js";
import { SIGN_REQUEST } from "../../src/signing/schema.js";
import { signingCases } from "../helpers/signingCases.js";

/** The schema as fastify compiles it, with the validation options src/api/server.ts uses. */
describe("SIGN_REQUEST through fastify", () => {
  let app: FastifyInstance;
  const cases = signingCases();
  const byName = (name: string) => structuredClone(cases.find((c) => c.name === name)!.body) as Record<string, any>;

  before(async () => {
    app = Fastify(REQUEST_VALIDATION);
    app.post("/sign", { schema: { body: SIGN_REQUEST } }, async () => ({ ok: true }));
    await app.ready();
  });
  after(() => app.close());

  const post = async (body: unknown) => {
    const response = await app.inject({ method: "POST", url: "/sign", payload: body as object });
    return { status: response.statusCode, message: response.json().message as string | undefined };
  };

  it("accepts every case", async () => {
    let ran = 0;
    for (const c of cases) {
      assert.equal((await post(c.body)).status, 200, c.name);
      ran++;
    }
    assert.equal(ran, 83);
  });

  it("accepts uint64 as a JSON number too", async () => {
    const body = byName("ATTESTATION capella");
    body.attestation.slot = 6209541;
    assert.equal((await post(body)).status, 200);
  });

  it("accepts what Teku, Lighthouse and Nimbus send for Electra aggregates", async () => {
    const v2 = byName("AGGREGATE_AND_PROOF_V2 ELECTRA");
    const v1 = { type: "AGGREGATE_AND_PROOF", fork_info: v2.fork_info, aggregate_and_proof: v2.aggregate_and_proof.data };
    assert.equal((await post(v1)).status, 200);
    v2.aggregate_and_proof.version = "electra";
    assert.equal((await post(v2)).status, 200);
  });

  const refusals: Array<[string, string, (b: Record<string, any>) => void, RegExp]> = [
    ["ATTESTATION capella", "decimal with letters", (b) => (b.attestation.slot = "12a"), /^attestation\.slot: expected a decimal uint64, got "12a"$/],
    ["ATTESTATION capella", "negative number", (b) => (b.attestation.target.epoch = -1), /^attestation\.target\.epoch: must be >= 0$/],
    ["ATTESTATION capella", "short root", (b) => (b.attestation.beacon_block_root = "0x1234"), /^attestation\.beacon_block_root: expected 0x and 64 hex digits, got "0x1234"$/],
    ["ATTESTATION capella", "no fork_info", (b) => delete b.fork_info, /^fork_info: required field is missing$/],
    ["ATTESTATION capella", "fork version of 3 bytes", (b) => (b.fork_info.fork.current_version = "0x030000"), /^fork_info\.fork\.current_version: expected 0x and 8 hex digits/],
    ["ATTESTATION capella", "bad signingRoot", (b) => (b.signingRoot = "0xab"), /^signingRoot: expected 0x and 64 hex digits/],
    ["ATTESTATION capella", "unknown type", (b) => (b.type = "ATTESTATION_V2"), /^type: unknown signing type "ATTESTATION_V2" \(expected one of .*ATTESTATION, /],
    ["ATTESTATION capella", "message of another type", (b) => (b.type = "RANDAO_REVEAL"), /^randao_reveal: required field is missing$/],
    ["BLOCK_V2 DENEB block", "block and block_header", (b) => (b.beacon_block.block_header = b.beacon_block.block), /^beacon_block: give only one of block, block_header$/],
    ["BLOCK_V2 DENEB block", "block slot not a number", (b) => (b.beacon_block.block.slot = "x"), /^beacon_block\.block\.slot: expected a decimal uint64/],
    ["AGGREGATE_AND_PROOF_V2 ELECTRA", "no data", (b) => delete b.aggregate_and_proof.data, /^aggregate_and_proof\.data: required field is missing$/],
    ["DEPOSIT mainnet genesis version", "genesis version too long", (b) => (b.deposit.genesis_fork_version = "0x0000000000"), /^deposit\.genesis_fork_version: expected 0x and 8 hex digits/],
    ["VALIDATOR_REGISTRATION without fork_info", "fee recipient of 19 bytes", (b) => (b.validator_registration.fee_recipient = "0x" + "11".repeat(19)), /^validator_registration\.fee_recipient: expected 0x and 40 hex digits/],
  ];
  for (const [name, what, mutate, expected] of refusals) {
    it(`refuses ${name}: ${what}, naming the field`, async () => {
      const body = byName(name);
      mutate(body);
      const { status, message } = await post(body);
      assert.equal(status, 400);
      assert.match(message ?? "", expected);
    });
  }

  it("lets DEPOSIT and VALIDATOR_REGISTRATION omit fork_info only", async () => {
    assert.equal((await post(byName("DEPOSIT hoodi genesis version"))).status, 200);
    const registration = byName("VALIDATOR_REGISTRATION with electra fork_info");
    delete registration.fork_info;
    assert.equal((await post(registration)).status, 200);
    const exit = byName("VOLUNTARY_EXIT capella");
    delete exit.fork_info;
    assert.equal((await post(exit)).status, 400);
  });
});
