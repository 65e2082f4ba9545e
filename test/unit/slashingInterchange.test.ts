import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildInterchange, parseInterchange } from "../../src/slashing/interchange.js";
import { GVR, pubkey, root } from "../helpers/slashingBackends.js";

const file = (data: unknown[]) => ({ metadata: { interchange_format_version: "5", genesis_validators_root: GVR }, data });

describe("EIP-3076 interchange parsing", () => {
  it("normalises case, merges entries of one pubkey and keeps the first record per slot and target", () => {
    const upper = pubkey(1).replace(/a/g, "A").replace("0X", "0x");
    const parsed = parseInterchange(
      file([
        { pubkey: upper, signed_blocks: [{ slot: "007", signing_root: root(10).toUpperCase().replace("0X", "0x") }], signed_attestations: [] },
        {
          pubkey: pubkey(1),
          signed_blocks: [{ slot: "7" }, { slot: "9" }],
          signed_attestations: [
            { source_epoch: "3", target_epoch: "4" },
            { source_epoch: "2", target_epoch: "4", signing_root: root(1) },
            { source_epoch: "6", target_epoch: "5" },
          ],
        },
      ]),
    );
    assert.equal(parsed.genesisValidatorsRoot, GVR);
    assert.deepEqual(parsed.keys, [
      {
        pubkey: pubkey(1),
        blocks: [{ slot: 7, signingRoot: root(10) }, { slot: 9, signingRoot: null }],
        attestations: [{ sourceEpoch: 3, targetEpoch: 4, signingRoot: null }],
        maxSlot: 9,
        maxSource: 6,
        maxTarget: 5,
        skipped: 3,
      },
    ]);
  });

  it("names where a malformed file is wrong", () => {
    assert.throws(
      () => parseInterchange(file([{ pubkey: pubkey(1), signed_blocks: [{ slot: 5 }], signed_attestations: [] }])),
      { code: "INVALID_INTERCHANGE", message: /\/data\/0\/signed_blocks\/0\/slot/ },
    );
    assert.throws(() => parseInterchange(file([{ pubkey: pubkey(1), signed_blocks: [] }])), {
      code: "INVALID_INTERCHANGE",
      message: /signed_attestations/,
    });
    assert.throws(() => parseInterchange({ ...file([]), metadata: { interchange_format_version: "6", genesis_validators_root: GVR } }), {
      code: "UNSUPPORTED_INTERCHANGE_VERSION",
    });
  });
});

describe("EIP-3076 interchange export", () => {
  it("lists every record and adds an entry without root for a watermark no record carries", () => {
    const out = buildInterchange(GVR, [
      {
        pubkey: pubkey(1),
        maxSlot: 12,
        maxSource: 6,
        maxTarget: 8,
        blocks: [{ slot: 3, signingRoot: root(3) }],
        attestations: [{ sourceEpoch: 2, targetEpoch: 8, signingRoot: null }],
      },
      { pubkey: pubkey(2), maxSlot: 4, maxSource: null, maxTarget: null, blocks: [{ slot: 4, signingRoot: null }], attestations: [] },
    ]);
    assert.deepEqual(out, {
      metadata: { interchange_format_version: "5", genesis_validators_root: GVR },
      data: [
        {
          pubkey: pubkey(1),
          signed_blocks: [{ slot: "3", signing_root: root(3) }, { slot: "12" }],
          signed_attestations: [
            { source_epoch: "2", target_epoch: "8" },
            { source_epoch: "6", target_epoch: "8" },
          ],
        },
        { pubkey: pubkey(2), signed_blocks: [{ slot: "4" }], signed_attestations: [] },
      ],
    });
    // What our own importer makes of it: the watermarks come back exactly.
    const back = parseInterchange(out).keys[0]!;
    assert.deepEqual([back.maxSlot, back.maxSource, back.maxTarget], [12, 6, 8]);
  });
});
