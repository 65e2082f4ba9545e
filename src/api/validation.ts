import type { FastifySchemaValidationError } from "fastify";
import { SIGN_REQUEST_AJV_OPTIONS } from "../signing/schema.js";
import { shown } from "../signing/sszJson.js";

/**
 * How request schemas are checked and how a failure reads. Ajv's own messages speak of its schema
 * (`must match a schema in anyOf`, `#/anyOf/0`, the property a union's other form requires);
 * clients get one message in the API's field terms instead: `keystores[0]: expected a JSON
 * string`, `type: unknown signing type "FOO" (…)`. Every server (and test server) that registers
 * the routes is built with these options.
 */

/** The part of the request a schema checks (fastify does not export its name for it). */
type SchemaErrorDataVar = "body" | "headers" | "params" | "querystring";

/** An ajv error with `verbose` on: the refused value and the schema that refused it. */
interface AjvError extends FastifySchemaValidationError {
  data?: unknown;
  schema?: unknown;
  parentSchema?: { title?: unknown };
}

/** A JSON pointer as the API names the field: `/keystores/0` is `keystores[0]`, the body itself `body`. */
function fieldName(pointer: string, dataVar: SchemaErrorDataVar): string {
  let name = dataVar === "body" ? "" : dataVar;
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    name += /^[0-9]+$/.test(segment) ? `[${segment}]` : name ? `.${segment}` : segment;
  }
  return name || dataVar;
}

/** The field `property` of the value at `pointer`. */
const child = (pointer: string, property: unknown, dataVar: SchemaErrorDataVar) =>
  fieldName(`${pointer}/${String(property).replace(/~/g, "~0").replace(/\//g, "~1")}`, dataVar);

const JSON_TYPES: Record<string, string> = {
  string: "a JSON string",
  object: "a JSON object",
  array: "an array",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  null: "null",
};

/**
 * A value quoted for a message, cut short: a body can be megabytes. One nested thousands of arrays
 * deep overflows JSON.stringify's stack (that was a 500): it is then only described.
 */
function quoted(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return shown(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** What a string pattern asks for, in words where the API's patterns are recognised. */
function patternWords(pattern: string, title: unknown): string {
  if (typeof title === "string") return title;
  const hex = /^\^0x\[(?:0-9a-fA-F|a-fA-F0-9)\]\{([0-9]+)\}\$$/.exec(pattern);
  if (hex) return `0x and ${hex[1]} hex digits`;
  return `a string matching ${pattern}`;
}

function describeOne(e: AjvError, dataVar: SchemaErrorDataVar): string {
  const field = fieldName(e.instancePath, dataVar);
  const p = e.params;
  switch (e.keyword) {
    case "required":
      return `${child(e.instancePath, p.missingProperty, dataVar)}: required field is missing`;
    case "additionalProperties":
      return `${child(e.instancePath, p.additionalProperty, dataVar)}: unknown field`;
    case "type": {
      // Several JSON types for one field stand for one thing (a uint64 as a string or a number): its title says it.
      const types = String(p.type).split(",");
      const title = e.parentSchema?.title;
      const wanted = types.length > 1 && typeof title === "string" ? title : types.map((t) => JSON_TYPES[t] ?? t).join(" or ");
      return `${field}: expected ${wanted}${e.data === undefined ? "" : `, got ${quoted(e.data)}`}`;
    }
    case "enum": {
      const allowed = (p.allowedValues as unknown[]).map(String).join(", ");
      const noun = typeof e.parentSchema?.title === "string" ? e.parentSchema.title : "value";
      return `${field}: unknown ${noun} ${quoted(e.data)} (expected one of ${allowed})`;
    }
    case "const":
      return `${field}: expected ${quoted(p.allowedValue)}`;
    case "pattern":
      return `${field}: expected ${patternWords(String(p.pattern), e.parentSchema?.title)}, got ${quoted(e.data)}`;
    default:
      // The bounds (minimum, maxItems, maxLength …): ajv says them in terms of the value alone.
      return `${field}: ${e.message ?? e.keyword}`;
  }
}

const isAlternatives = (e: AjvError) => e.keyword === "anyOf" || e.keyword === "oneOf";
const depth = (e: AjvError) => (e.instancePath === "" ? 0 : e.instancePath.split("/").length - 1);

/** The names a union of `{required: [name]}` alternatives stands for (beacon_block's block or block_header). */
function requiredNames(branches: unknown): string[] | undefined {
  if (!Array.isArray(branches)) return undefined;
  const names = branches.map((b: { required?: unknown }) => (Array.isArray(b?.required) && b.required.length === 1 && Object.keys(b).length === 1 ? String(b.required[0]) : undefined));
  return names.every((n) => n !== undefined) ? names : undefined;
}

/**
 * One message for the errors of one failed validation. Of a union that no alternative matches,
 * the alternative the value got furthest into is reported (its error lies deepest in the value),
 * the first listed on a tie: the usual form is listed first. Without allErrors, every other error
 * ajv returns belongs to an alternative of the outermost failed union.
 */
function describe(errors: AjvError[], dataVar: SchemaErrorDataVar): string {
  const outer = errors.filter(isAlternatives).sort((a, b) => a.schemaPath.length - b.schemaPath.length)[0];
  if (!outer) return describeOne(errors.find((e) => e.keyword !== "if") ?? errors[0]!, dataVar);
  const field = fieldName(outer.instancePath, dataVar);
  const names = requiredNames(outer.schema);
  if (Array.isArray(outer.params.passingSchemas)) {
    return `${field}: ${names ? `give only one of ${names.join(", ")}` : "fits more than one of its forms"}`;
  }
  if (names) return `${field}: needs ${names.join(" or ")}`;
  const branches = new Map<string, AjvError[]>();
  for (const e of errors) {
    if (e === outer || !e.schemaPath.startsWith(`${outer.schemaPath}/`)) continue;
    const branch = e.schemaPath.slice(outer.schemaPath.length + 1).split("/")[0]!;
    branches.set(branch, [...(branches.get(branch) ?? []), e]);
  }
  const all = [...branches.values()];
  // A value of none of a few plain types or constants (a string or null, "0x01" or "0x02").
  if (all.length > 1 && all.every((b) => b.length === 1 && b[0]!.instancePath === outer.instancePath && (b[0]!.keyword === "type" || b[0]!.keyword === "const"))) {
    const wanted = all.map(([e]) => (e!.keyword === "type" ? (JSON_TYPES[String(e!.params.type)] ?? String(e!.params.type)) : quoted(e!.params.allowedValue)));
    return `${field}: expected ${[...new Set(wanted)].join(" or ")}${outer.data === undefined ? "" : `, got ${quoted(outer.data)}`}`;
  }
  let best: AjvError[] | undefined;
  for (const branch of all) if (!best || Math.max(...branch.map(depth)) > Math.max(...best.map(depth))) best = branch;
  return best ? describe(best, dataVar) : `${field}: ${outer.message ?? "invalid"}`;
}

/** Fastify's schemaErrorFormatter: the error a request whose `dataVar` fails its schema is answered with (400). */
export function validationError(errors: FastifySchemaValidationError[], dataVar: SchemaErrorDataVar): Error {
  return new Error(describe(errors as AjvError[], dataVar));
}

/** The Fastify options every server that registers the API's routes is built with. */
export const REQUEST_VALIDATION = {
  ajv: { customOptions: SIGN_REQUEST_AJV_OPTIONS },
  schemaErrorFormatter: validationError,
} as const;
