import {
  ArrayType,
  BitArrayType,
  ByteArrayType,
  ByteListType,
  ByteVectorType,
  ContainerType,
  UintBigintType,
  UintNumberType,
  type Type,
} from "@chainsafe/ssz";
import { InputError } from "../errors.js";
import { HEX_RE } from "../util/hex.js";

const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
/** Decimal strings this short are below 2^53, so `Number` reads them exactly. */
const SAFE_DECIMAL_DIGITS = 15;

/**
 * Parses eth2 JSON into an SSZ value in one walk over the type, doing what the library's `fromJson`
 * leaves undone: it accepts "-1", "1.5" and "7abc" as integers, reads "0xzz" as a zero byte, and its
 * errors do not say which field was wrong. The walk names the offending field (`attestation/slot`)
 * and accepts an integer either as a decimal string or as a JSON number, as the API allows.
 *
 * Containers, lists, vectors, integers and byte strings are built here, which is most of any message:
 * the library's `fromJson` reads hex one `parseInt` per byte, a cost that a block's transactions
 * (megabytes of hex) turn into a delay. Any other type (bit lists, unions, ...) is read by the
 * library's own `fromJson`. The values are the ones `fromJson` gives (test/unit/sszJson.test.ts).
 */
export function parseSszJson<T>(type: Type<T>, json: unknown, field: string): T {
  return readJson(type as Type<unknown>, json, field) as T;
}

function readJson(type: Type<unknown>, json: unknown, field: string): unknown {
  if (type instanceof ContainerType) {
    const fields = object(json, field);
    const value: Record<string, unknown> = {};
    for (const { fieldName, jsonKey, fieldType } of type.fieldsEntries) {
      const item = fields[jsonKey];
      if (item === undefined) throw invalid(`${field}/${jsonKey}`, "is required");
      value[fieldName as string] = readJson(fieldType as Type<unknown>, item, `${field}/${jsonKey}`);
    }
    return value;
  }
  if (type instanceof ArrayType) {
    if (!Array.isArray(json)) throw invalid(field, "must be an array");
    // Lists have a `limit`, vectors a fixed `length`.
    const { limit, length } = type as unknown as { limit?: number; length?: number };
    if (limit !== undefined ? json.length > limit : json.length !== length) {
      throw invalid(field, `must have ${limit !== undefined ? `at most ${limit}` : length} items, got ${json.length}`);
    }
    const elementType = type.elementType as Type<unknown>;
    return json.map((item, i) => readJson(elementType, item, `${field}/${i}`));
  }
  if (type instanceof UintNumberType || type instanceof UintBigintType) return readUint(type, json, field);
  if ((type instanceof ByteArrayType || type instanceof BitArrayType) && !(typeof json === "string" && HEX_RE.test(json))) {
    throw invalid(field, `must be 0x-prefixed hex, got ${JSON.stringify(json)}`);
  }
  if (type instanceof ByteVectorType || type instanceof ByteListType) return readBytes(type, json as string, field);
  try {
    return type.fromJson(json);
  } catch (e) {
    throw invalid(field, `is not a valid ${type.typeName}: ${(e as Error).message}`);
  }
}

/** `hex` has passed HEX_RE: 0x and an even number of hex digits. */
function readBytes(type: ByteVectorType | ByteListType, hex: string, field: string): Uint8Array {
  const size = (hex.length - 2) / 2;
  if (type instanceof ByteVectorType && size !== type.lengthBytes) {
    throw invalid(field, `is not a valid ${type.typeName}: expected ${type.lengthBytes} bytes, got ${size}`);
  }
  if (type instanceof ByteListType && size > type.limitBytes) {
    throw invalid(field, `is not a valid ${type.typeName}: ByteList invalid size ${size} limit ${type.limitBytes}`);
  }
  const bytes = new Uint8Array(size);
  Buffer.from(bytes.buffer, bytes.byteOffset, size).write(hex.slice(2), "hex");
  return bytes;
}

function readUint(type: UintNumberType | UintBigintType, json: unknown, field: string): number | bigint {
  let value: number | bigint;
  if (typeof json === "number" && Number.isInteger(json) && json >= 0) {
    value = json;
  } else if (typeof json === "string" && DECIMAL_RE.test(json)) {
    value = json.length <= SAFE_DECIMAL_DIGITS ? Number(json) : BigInt(json);
  } else {
    throw invalid(field, `must be an unsigned integer (decimal string), got ${JSON.stringify(json)}`);
  }
  const bits = 8 * type.byteLength;
  if (typeof value === "number" ? value >= 2 ** bits : value >= 1n << BigInt(bits)) {
    throw invalid(field, `must fit in ${bits} bits, got ${BigInt(value)}`);
  }
  if (type instanceof UintBigintType) return BigInt(value);
  // UintNumberType holds a JS number: past 2^53 it would silently round (or, for the types that
  // clip, read 2^64-1 as Infinity), so such values are refused rather than signed approximately.
  if (value > Number.MAX_SAFE_INTEGER) {
    throw invalid(field, `must be at most ${Number.MAX_SAFE_INTEGER}, got ${BigInt(value)}`);
  }
  return Number(value);
}

/** An INVALID_INPUT error whose message starts with the field's path in the request body. */
export function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(field, "must be an object");
  return value as Record<string, unknown>;
}

export function invalid(field: string, what: string): InputError {
  return new InputError("INVALID_INPUT", `${field} ${what}`, { field });
}
