import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";

export interface FlagSpec {
  kind: "string" | "number" | "boolean";
  description: string;
  placeholder?: string;
  default?: string | number | boolean;
  /** May be given several times; the value is then an array. */
  multiple?: boolean;
}

/** `secure-signer <command> [arguments]`, read once for main.ts and runCli alike. */
export interface CommandLine {
  /** The first argument as parseArgs reads it: a command's name, `help`, `--help`, `-h`, `--version` …; undefined when there is none. */
  command: string | undefined;
  /** The arguments after it, which the command parses against its own flag table. */
  args: string[];
  /** Whether those arguments ask for the command's usage: `--help` or `-h`, before any `--`. */
  help: boolean;
}

/**
 * Reads what a command line asks for before the command that has its flag table is loaded. Without
 * a table parseArgs takes every flag for a boolean and every value for a positional, which is
 * enough to see what the first argument is and whether help is asked for; the command's own parse
 * then reads the arguments strictly.
 */
export function readCommandLine(argv: string[]): CommandLine {
  const { tokens } = parseArgs({ args: argv, strict: false, allowPositionals: true, tokens: true });
  const first = tokens[0];
  return {
    command: first === undefined ? undefined : first.kind === "positional" ? first.value : first.kind === "option" ? first.rawName : "--",
    args: argv.slice(1),
    help: tokens.some((t) => t.index > 0 && t.kind === "option" && (t.name === "help" || t.name === "h")),
  };
}

/**
 * Parses `argv` against a flag table; unknown flags and missing values are usage errors, unless
 * `strict` is false: then only the table's flags are read (for a look at some of them before the
 * command that has the rest parses the whole line).
 */
export function parseFlags(
  argv: string[],
  flags: Record<string, FlagSpec>,
  strict = true,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(flags).map(
      ([name, spec]) => [name, { type: spec.kind === "boolean" ? "boolean" : "string", multiple: spec.multiple === true }] as const,
    ),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (e) {
    throw new UsageError("USAGE", (e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ""));
  }
}

export function formatFlags(flags: Record<string, FlagSpec>): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const left = `  --${name}${spec.placeholder ? ` ${spec.placeholder}` : ""}`;
    const dflt = spec.default !== undefined && spec.default !== false ? ` (default: ${spec.default})` : "";
    return [left, `${spec.description}${dflt}`] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => l.padEnd(width) + r).join("\n");
}
