/**
 * parseSszJson builds SSZ values itself rather than through the library's `fromJson`: for every
 * type a sign request carries, random values must read back exactly as `fromJson` reads them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ArrayType,
  BitArray,
  BitArrayType,
  BooleanType,
  ByteListType,
  ByteVectorType,
  ContainerType,
  UintBigintType,
  UintNumberType,
  type Type,
} from "@chainsafe/ssz";
import { ssz } from "@lodestar/types";
import { parseSszJson, readSszJson, safeUint, shown } from "../../src/signing/sszJson.js";
import { prng } from "../helpers/prng.js";

const BLOCK_FORKS = ["phase0", "altair", "bellatrix", "capella", "deneb", "electra", "fulu"] as const;
const TYPES: Array<[string, Type<unknown>]> = [
  ["AttestationData", ssz.phase0.AttestationData],
  ["BeaconBlockHeader", ssz.phase0.BeaconBlockHeader],
  ["Fork", ssz.phase0.Fork],
  ["VoluntaryExit", ssz.phase0.VoluntaryExit],
  ["DepositMessage", ssz.phase0.DepositMessage],
  ["phase0.AggregateAndProof", ssz.phase0.AggregateAndProof],
  ["electra.AggregateAndProof", ssz.electra.AggregateAndProof],
  ["SyncAggregatorSelectionData", ssz.altair.SyncAggregatorSelectionData],
  ["ContributionAndProof", ssz.altair.ContributionAndProof],
  ["ValidatorRegistrationV1", ssz.bellatrix.ValidatorRegistrationV1],
  ...BLOCK_FORKS.map((f): [string, Type<unknown>] => [`${f}.BeaconBlock`, ssz[f].BeaconBlock as Type<unknown>]),
  ...BLOCK_FORKS.slice(2).map((f): [string, Type<unknown>] => [
    `${f}.BlindedBeaconBlock`,
    (ssz[f] as unknown as { BlindedBeaconBlock: Type<unknown> }).BlindedBeaconBlock,
  ]),
] as Array<[string, Type<unknown>]>;

/** A random value of `type`, lists kept short so that a whole block stays small. */
function randomValue(type: Type<unknown>, rnd: () => number): unknown {
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  if (type instanceof ContainerType) {
    const value: Record<string, unknown> = {};
    for (const { fieldName, fieldType } of type.fieldsEntries) value[fieldName as string] = randomValue(fieldType as Type<unknown>, rnd);
    return value;
  }
  if (type instanceof ByteVectorType) return bytes(type.lengthBytes);
  if (type instanceof ByteListType) return bytes(int(Math.min(type.limitBytes, 40) + 1));
  if (type instanceof BitArrayType) {
    const { limitBits, lengthBits } = type as unknown as { limitBits?: number; lengthBits?: number };
    const n = lengthBits ?? int(Math.min(limitBits!, 70) + 1);
    return BitArray.fromBoolArray(Array.from({ length: n }, () => rnd() < 0.5));
  }
  if (type instanceof ArrayType) {
    const { limit, length } = type as unknown as { limit?: number; length?: number };
    const n = length ?? int(Math.min(limit!, 3) + 1);
    return Array.from({ length: n }, () => randomValue(type.elementType as Type<unknown>, rnd));
  }
  if (type instanceof UintBigintType) return BigInt.asUintN(8 * type.byteLength, BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)) + BigInt(int(2 ** 32)));
  if (type instanceof UintNumberType) {
    const max = Math.min(2 ** (8 * type.byteLength), Number.MAX_SAFE_INTEGER + 1);
    // Small and large values alike: the reader takes a different path past 15 digits.
    return rnd() < 0.5 ? int(1000) : int(max);
  }
  if (type instanceof BooleanType) return rnd() < 0.5;
  throw new Error(`no generator for ${type.typeName}`);
}

/** The same JSON with every decimal string that is a safe integer given as a JSON number instead. */
function withNumbers(json: unknown): unknown {
  if (typeof json === "string" && /^(0|[1-9][0-9]*)$/.test(json) && Number.isSafeInteger(Number(json))) return Number(json);
  if (Array.isArray(json)) return json.map(withNumbers);
  if (json && typeof json === "object") return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, withNumbers(v)]));
  return json;
}

describe("parseSszJson", () => {
  for (const [name, type] of TYPES) {
    it(`reads ${name} as the library's fromJson does`, () => {
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          // fast-check shrinks the seed, the generator walks the type.
          const rnd = prng(seed);
          const json = type.toJson(randomValue(type, rnd));
          const expected = type.fromJson(json);
          const read = parseSszJson(type, json, "x");
          assert.deepEqual(read, expected);
          assert.deepEqual(parseSszJson(type, withNumbers(json), "x"), expected);
          assert.deepEqual(type.hashTreeRoot(read), type.hashTreeRoot(expected));
          assert.deepEqual(type.serialize(read), type.serialize(expected));
          assert.deepEqual(readSszJson(type, json, "x").root, type.hashTreeRoot(expected));
        }),
        { numRuns: 40 },
      );
    });
  }

  it("gives byte strings as plain Uint8Arrays of their own, not views of a shared pool", () => {
    const root = parseSszJson(ssz.Root, "0x" + "ab".repeat(32), "root");
    assert.equal(Object.getPrototypeOf(root), Uint8Array.prototype);
    assert.equal(root.byteLength, root.buffer.byteLength);
  });

  it("reads integers at the edges of their types exactly, and refuses one past them", () => {
    assert.equal(parseSszJson(ssz.UintNum64, "9007199254740991", "n"), Number.MAX_SAFE_INTEGER);
    assert.equal(parseSszJson(ssz.UintNum64, "999999999999999", "n"), 999999999999999);
    assert.throws(() => parseSszJson(ssz.UintNum64, "9007199254740992", "n"), /n must be at most 9007199254740991/);
    assert.equal(parseSszJson(ssz.UintBn64, "18446744073709551615", "n"), 2n ** 64n - 1n);
    assert.throws(() => parseSszJson(ssz.UintBn64, "18446744073709551616", "n"), /n must fit in 64 bits/);
    assert.equal(parseSszJson(ssz.Uint8, 255, "n"), 255);
    assert.throws(() => parseSszJson(ssz.Uint8, 256, "n"), /n must fit in 8 bits, got 256/);
    assert.throws(() => parseSszJson(ssz.UintNum64, 1e300, "n"), /n must fit in 64 bits/);
  });

  it("reads nothing past 2^53 into a number: a JSON number there was rounded before it arrived", () => {
    assert.throws(() => parseSszJson(ssz.UintNum64, 9007199254740992, "n"), /n is a JSON number beyond 2\^53 that cannot be read exactly; send it as a decimal string/);
    assert.throws(() => parseSszJson(ssz.UintBn64, 2 ** 60, "n"), /decimal string/);
    assert.throws(() => parseSszJson(ssz.UintNum64, "1" + "0".repeat(1 << 20), "n"), /n must fit in 64 bits, got "1000.*\(1048577 characters\)$/);
  });
});

describe("readSszJson: every uint64 exact up to 2^64-1", () => {
  const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  const root32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it("gives AttestationData the root @lodestar/types' bigint-valued AttestationData gives", () => {
    fc.assert(
      fc.property(uint64, uint64, uint64, uint64, root32, (slot, index, source, target, root) => {
        const value = { slot, index, beaconBlockRoot: root, source: { epoch: source, root }, target: { epoch: target, root } };
        const json = ssz.phase0.AttestationDataBigint.toJson(value);
        const read = readSszJson(ssz.phase0.AttestationData, json, "attestation");
        assert.deepEqual(read.root, ssz.phase0.AttestationDataBigint.hashTreeRoot(value));
        assert.equal(BigInt(read.value.index), index);
      }),
      { numRuns: 200 },
    );
  });

  it("gives a registration's gas_limit and timestamp, past 2^53, roots of their own (nothing rounds two values together)", () => {
    const exact = new ContainerType(
      { feeRecipient: ssz.ExecutionAddress, gasLimit: ssz.UintBn64, timestamp: ssz.UintBn64, pubkey: ssz.BLSPubkey },
      { jsonCase: "eth2" },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 2n }), uint64, (gasLimit, timestamp) => {
        const value = { feeRecipient: new Uint8Array(20), gasLimit, timestamp, pubkey: new Uint8Array(48) };
        const next = { ...value, gasLimit: gasLimit + 1n };
        const read = (v: typeof value) => readSszJson(ssz.bellatrix.ValidatorRegistrationV1, exact.toJson(v), "validator_registration").root;
        assert.deepEqual(read(value), exact.hashTreeRoot(value));
        assert.notDeepEqual(read(value), read(next));
      }),
      { numRuns: 200 },
    );
  });

  it("reads a block whose lists hold uint64s past 2^53 (a withdrawal's validator_index) exactly", () => {
    const block = ssz.capella.BeaconBlock.defaultValue();
    block.body.executionPayload.withdrawals = [{ index: 1, validatorIndex: 0, address: new Uint8Array(20), amount: 2n }];
    const json = ssz.capella.BeaconBlock.toJson(block) as any;
    json.body.execution_payload.withdrawals[0].validator_index = "18446744073709551615";
    const big = readSszJson(ssz.capella.BeaconBlock, json, "block");
    json.body.execution_payload.withdrawals[0].validator_index = "18446744073709551614";
    assert.notDeepEqual(big.root, readSszJson(ssz.capella.BeaconBlock, json, "block").root);
    json.body.execution_payload.withdrawals[0].validator_index = "0";
    assert.deepEqual(readSszJson(ssz.capella.BeaconBlock, json, "block").root, ssz.capella.BeaconBlock.hashTreeRoot(block));
  });

  it("hands a slot or epoch over as a number only when it is one exactly", () => {
    assert.equal(safeUint(5, "slot"), 5);
    assert.equal(safeUint(9007199254740991n, "slot"), Number.MAX_SAFE_INTEGER);
    assert.throws(() => safeUint(9007199254740992n, "attestation/slot"), /attestation\/slot must be at most 9007199254740991 \(slots and epochs beyond 2\^53/);
  });
});

describe("shown", () => {
  it("describes any JSON value in a bounded number of characters, however large or deep", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(shown(deep), "an array of 1 items");
    assert.equal(shown({ a: deep }), "an object");
    assert.ok(shown("x".repeat(1e6)).length < 120);
    assert.equal(shown("0x12"), '"0x12"');
    assert.equal(shown(null), "null");
    assert.equal(shown(12), "12");
  });
});
