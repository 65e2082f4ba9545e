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
import { parseSszJson } from "../../src/signing/sszJson.js";

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

/** A small seeded PRNG: fast-check shrinks the seed, the generator walks the type. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
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
          const rnd = mulberry32(seed);
          const json = type.toJson(randomValue(type, rnd));
          const expected = type.fromJson(json);
          const read = parseSszJson(type, json, "x");
          assert.deepEqual(read, expected);
          assert.deepEqual(parseSszJson(type, withNumbers(json), "x"), expected);
          assert.deepEqual(type.hashTreeRoot(read), type.hashTreeRoot(expected));
          assert.deepEqual(type.serialize(read), type.serialize(expected));
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
});
