import type { ValueErrorIterator } from "@sinclair/typebox/errors";

/** The first schema violation as "path: message" (the root as "/"), for an error message; undefined when there is none. */
export function firstSchemaError(errors: ValueErrorIterator): string | undefined {
  const first = errors.First();
  return first && `${first.path || "/"}: ${first.message}`;
}
