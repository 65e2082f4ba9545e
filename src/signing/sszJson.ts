import {
  ArrayType,
  BitArrayType,
  ByteArrayType,
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  UintBigintType,
  UintNumberType,
  VectorBasicType,
  VectorCompositeType,
  type CompositeType,
  type Type,
} from "@chainsafe/ssz";
import { ssz } from "@lodestar/types";
import { InputError } from "../errors.js";
import { HEX_RE } from "../util/hex.js";

const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
/** Decimal strings this short are below 2^53, so `Number` reads them exactly. */
const SAFE_DECIMAL_DIGITS = 15;
const UINT64_DIGITS = 20;

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
  return readJson(type as Type<unknown>, json, field, false) as T;
}

/** A value whose uint64 fields may hold a bigint, where a number cannot hold them exactly. */
export type Exact<T> = T extends number
  ? number | bigint
  : T extends Uint8Array | bigint | boolean | string
    ? T
    : { [K in keyof T]: Exact<T[K]> };

/**
 * `json` read as `type`, and its hash_tree_root, exact for every uint64 up to 2^64-1: @lodestar/types
 * holds most uint64 fields (indices, gas limits, timestamps) in JS numbers, which round past 2^53,
 * yet Web3Signer's own examples carry such values (proposer_index 4666673844721362956). A message
 * with one is read again with the type's twin whose uint64 fields are bigints; the SSZ schema and so
 * the root are the same. Messages without one (all real ones) take the numbers' fast path.
 */
export function readSszJson<T>(type: Type<T>, json: unknown, field: string): { value: Exact<T>; root: Uint8Array } {
  try {
    const value = readJson(type as Type<unknown>, json, field, true) as T;
    return { value: value as Exact<T>, root: type.hashTreeRoot(value) };
  } catch (e) {
    if (e !== BEYOND_NUMBER) throw e;
  }
  const exact = exactType(type as Type<unknown>);
  const value = readJson(exact, json, field, false);
  return { value: value as Exact<T>, root: exact.hashTreeRoot(value) };
}

/** A uint64 the caller needs as a number (a slot or epoch, for the domain and slashing protection). */
export function safeUint(value: number | bigint, field: string): number {
  if (typeof value === "number") return value;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(field, `must be at most ${Number.MAX_SAFE_INTEGER} (slots and epochs beyond 2^53 cannot be recorded exactly), got ${value}`);
  }
  return Number(value);
}

/** Thrown by readJson's number pass at a uint64 a number cannot hold; readSszJson then reads the exact twin. */
const BEYOND_NUMBER = Symbol("uint64 beyond 2^53");

const exactTypes = new WeakMap<Type<unknown>, Type<unknown>>();

/** `type` with every uint64 held as a bigint (ssz.UintBn64), the same SSZ schema otherwise; `type` itself when it has none. */
function exactType(type: Type<unknown>): Type<unknown> {
  let exact = exactTypes.get(type);
  if (exact !== undefined) return exact;
  exact = type;
  if (type instanceof UintNumberType && type.byteLength === 8) {
    exact = ssz.UintBn64 as Type<unknown>;
  } else if (type instanceof ContainerType) {
    const fields: Record<string, Type<unknown>> = {};
    const casingMap: Record<string, string> = {};
    let changed = false;
    for (const { fieldName, jsonKey, fieldType } of type.fieldsEntries) {
      fields[fieldName as string] = exactType(fieldType as Type<unknown>);
      casingMap[fieldName as string] = jsonKey;
      changed ||= fields[fieldName as string] !== fieldType;
    }
    if (changed) exact = new ContainerType(fields, { typeName: type.typeName, casingMap }) as Type<unknown>;
  } else if (type instanceof ArrayType) {
    const element = exactType(type.elementType as Type<unknown>);
    if (element !== type.elementType) {
      const { limit, length } = type as unknown as { limit?: number; length?: number };
      const composite = element as CompositeType<unknown, never, never>;
      if (type instanceof ListCompositeType) exact = new ListCompositeType(composite, limit!);
      else if (type instanceof VectorCompositeType) exact = new VectorCompositeType(composite, length!);
      else if (type instanceof ListBasicType) exact = new ListBasicType(ssz.UintBn64, limit!);
      else if (type instanceof VectorBasicType) exact = new VectorBasicType(ssz.UintBn64, length!);
    }
  }
  exactTypes.set(type, exact);
  return exact;
}

/**
 * `signal`: a uint64 beyond 2^53 in a number-typed field throws BEYOND_NUMBER (readSszJson's first
 * pass); otherwise it is refused with an error naming the field.
 */
function readJson(type: Type<unknown>, json: unknown, field: string, signal: boolean): unknown {
  if (type instanceof ContainerType) {
    const fields = object(json, field);
    const value: Record<string, unknown> = {};
    for (const { fieldName, jsonKey, fieldType } of type.fieldsEntries) {
      const item = fields[jsonKey];
      if (item === undefined) throw invalid(`${field}/${jsonKey}`, "is required");
      value[fieldName as string] = readJson(fieldType as Type<unknown>, item, `${field}/${jsonKey}`, signal);
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
    return json.map((item, i) => readJson(elementType, item, `${field}/${i}`, signal));
  }
  if (type instanceof UintNumberType || type instanceof UintBigintType) return readUint(type, json, field, signal);
  if ((type instanceof ByteArrayType || type instanceof BitArrayType) && !(typeof json === "string" && HEX_RE.test(json))) {
    throw invalid(field, `must be 0x-prefixed hex, got ${shown(json)}`);
  }
  if (type instanceof ByteVectorType || type instanceof ByteListType) return readBytes(type, json as string, field);
  try {
    return type.fromJson(json);
  } catch (e) {
    throw invalid(field, `is not a valid ${type.typeName}: ${String((e as Error).message).slice(0, 200)}`);
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

function readUint(type: UintNumberType | UintBigintType, json: unknown, field: string, signal: boolean): number | bigint {
  let value: number | bigint;
  const bits = 8 * type.byteLength;
  if (typeof json === "number" && Number.isInteger(json) && json >= 0) {
    if (json >= 2 ** bits) throw invalid(field, `must fit in ${bits} bits, got ${json}`);
    // A JSON number past 2^53 was rounded when the text was read (the body parser hands exact
    // integers over as strings, so only forms like 9.007199254740993e15 get here): what was sent is unknown.
    if (json > Number.MAX_SAFE_INTEGER) {
      throw invalid(field, `is a JSON number beyond 2^53 that cannot be read exactly; send it as a decimal string, got ${json}`);
    }
    value = json;
  } else if (typeof json === "string" && DECIMAL_RE.test(json)) {
    // More digits than 2^64-1 has is too large, and not worth BigInt's time (megabytes of digits take seconds).
    if (json.length > UINT64_DIGITS) throw invalid(field, `must fit in ${8 * type.byteLength} bits, got ${shown(json)}`);
    value = json.length <= SAFE_DECIMAL_DIGITS ? Number(json) : BigInt(json);
  } else {
    throw invalid(field, `must be an unsigned integer (decimal string), got ${shown(json)}`);
  }
  if (typeof value === "number" ? value >= 2 ** bits : value >= 1n << BigInt(bits)) {
    throw invalid(field, `must fit in ${bits} bits, got ${shown(json)}`);
  }
  if (type instanceof UintBigintType) return BigInt(value);
  // UintNumberType holds a JS number: past 2^53 it would silently round (or, for the types that
  // clip, read 2^64-1 as Infinity), so such values are never held in one.
  if (value > Number.MAX_SAFE_INTEGER) {
    if (signal) throw BEYOND_NUMBER;
    throw invalid(field, `must be at most ${Number.MAX_SAFE_INTEGER}, got ${value}`);
  }
  return Number(value);
}

const SHOWN_CHARS = 80;

/**
 * A JSON value as an error message shows it: bounded in size and depth whatever was sent (a body
 * may hold megabytes, or arrays nested thousands deep, which JSON.stringify would overflow on).
 */
export function shown(value: unknown): string {
  if (typeof value === "string") {
    return value.length > SHOWN_CHARS ? `${JSON.stringify(value.slice(0, SHOWN_CHARS))}… (${value.length} characters)` : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value).slice(0, SHOWN_CHARS);
}

/** An INVALID_INPUT error whose message starts with the field's path in the request body. */
export function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(field, "must be an object");
  return value as Record<string, unknown>;
}

export function invalid(field: string, what: string): InputError {
  return new InputError("INVALID_INPUT", `${field} ${what}`, { field });
}
