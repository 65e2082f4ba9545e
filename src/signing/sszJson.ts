import { ArrayType, BitArrayType, ByteArrayType, ByteListType, ByteVectorType, ContainerType, UintBigintType, UintNumberType, type Type } from "@chainsafe/ssz";
import { InputError } from "../errors.js";
import { HEX_RE } from "../util/hex.js";

const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;

/**
 * Parses eth2 JSON into an SSZ value with the library's own `fromJson`, after a walk over the type
 * that does what `fromJson` leaves undone: it accepts "-1", "1.5" and "7abc" as integers, reads
 * "0xzz" as a zero byte, and its errors do not say which field was wrong. The walk names the
 * offending field (`attestation/slot`) and accepts an integer either as a decimal string or as a
 * JSON number, as the API allows.
 */
export function parseSszJson<T>(type: Type<T>, json: unknown, field: string): T {
  checkJson(type, json, field);
  try {
    return type.fromJson(json);
  } catch (e) {
    throw invalid(field, `is not a valid ${type.typeName}: ${(e as Error).message}`);
  }
}

function checkJson(type: Type<unknown>, json: unknown, field: string): void {
  if (type instanceof ContainerType) {
    const fields = object(json, field);
    for (const { jsonKey, fieldType } of type.fieldsEntries) {
      const value = fields[jsonKey];
      if (value === undefined) throw invalid(`${field}/${jsonKey}`, "is required");
      checkJson(fieldType as Type<unknown>, value, `${field}/${jsonKey}`);
    }
  } else if (type instanceof ArrayType) {
    if (!Array.isArray(json)) throw invalid(field, "must be an array");
    // Lists have a `limit`, vectors a fixed `length`.
    const { limit, length } = type as unknown as { limit?: number; length?: number };
    if (limit !== undefined ? json.length > limit : json.length !== length) {
      throw invalid(field, `must have ${limit !== undefined ? `at most ${limit}` : length} items, got ${json.length}`);
    }
    const elementType = type.elementType as Type<unknown>;
    json.forEach((item, i) => checkJson(elementType, item, `${field}/${i}`));
  } else if (type instanceof UintNumberType || type instanceof UintBigintType) {
    checkUint(type, json, field);
  } else {
    if ((type instanceof ByteArrayType || type instanceof BitArrayType) && !(typeof json === "string" && HEX_RE.test(json))) {
      throw invalid(field, `must be 0x-prefixed hex, got ${JSON.stringify(json)}`);
    }
    // Roots, keys and transactions are most of a message: their length check needs no decoding,
    // which the container's fromJson does anyway (a block's transactions can be megabytes of hex).
    if (type instanceof ByteArrayType) {
      const bytes = ((json as string).length - 2) / 2;
      if (type instanceof ByteVectorType && bytes !== type.lengthBytes) {
        throw invalid(field, `is not a valid ${type.typeName}: expected ${type.lengthBytes} bytes, got ${bytes}`);
      }
      if (type instanceof ByteListType && bytes > type.limitBytes) {
        throw invalid(field, `is not a valid ${type.typeName}: ByteList invalid size ${bytes} limit ${type.limitBytes}`);
      }
      return;
    }
    try {
      type.fromJson(json);
    } catch (e) {
      throw invalid(field, `is not a valid ${type.typeName}: ${(e as Error).message}`);
    }
  }
}

function checkUint(type: UintNumberType | UintBigintType, json: unknown, field: string): void {
  let value: bigint;
  if (typeof json === "number" && Number.isInteger(json) && json >= 0) {
    value = BigInt(json);
  } else if (typeof json === "string" && DECIMAL_RE.test(json)) {
    value = BigInt(json);
  } else {
    throw invalid(field, `must be an unsigned integer (decimal string), got ${JSON.stringify(json)}`);
  }
  if (value >= 1n << BigInt(8 * type.byteLength)) {
    throw invalid(field, `must fit in ${8 * type.byteLength} bits, got ${value}`);
  }
  // UintNumberType holds a JS number: past 2^53 it would silently round (or, for the types that
  // clip, read 2^64-1 as Infinity), so such values are refused rather than signed approximately.
  if (type instanceof UintNumberType && value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(field, `must be at most ${Number.MAX_SAFE_INTEGER}, got ${value}`);
  }
}

/** An INVALID_INPUT error whose message starts with the field's path in the request body. */
export function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(field, "must be an object");
  return value as Record<string, unknown>;
}

export function invalid(field: string, what: string): InputError {
  return new InputError("INVALID_INPUT", `${field} ${what}`, { field });
}
