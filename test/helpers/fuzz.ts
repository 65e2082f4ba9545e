/**
 * Hostile sign requests, seeded: bodies of every type and fork (the signing cases, and the
 * Lodestar devnet's real requests) mutated at random places into values a schema must refuse:
 * nesting thousands deep, megabyte-sized strings, integers past 2^64 or written as exponents,
 * wrong types, missing and extra fields, `type` in other cases, broken JSON text, other
 * Content-Types. Each is sent to a real signer, and the run checks what issue 19 asks of it: no
 * answer of 500 or more, a slashing database that no refused request changed, memory bounded.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { prng } from "./prng.js";
import { signingCases } from "./signingCases.js";

const SAMPLES_DIR = join(import.meta.dirname, "../../../shared/lodestar-devnet/samples");

/** The bodies mutated: every signing case, and the devnet's captured requests when they are there. */
export function seedBodies(): unknown[] {
  const bodies: unknown[] = signingCases().map((c) => c.body);
  let files: string[] = [];
  try {
    files = readdirSync(SAMPLES_DIR).filter((f) => f.endsWith(".json") && f === f.toUpperCase().replace(".JSON", ".json"));
  } catch {
    // shared/ is not beside this checkout
  }
  for (const f of files) bodies.push(JSON.parse(readFileSync(join(SAMPLES_DIR, f), "utf8")));
  return bodies;
}

export interface FuzzRequest {
  text: string;
  contentType: string | undefined;
  pubkeyPath: (pubkey: string) => string;
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  undefined,
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "APPLICATION/JSON",
];

/** Makes the `index`-th request of the run seeded by `seed` (each stands on its own, so a failure can be replayed alone). */
export function fuzzRequest(bodies: unknown[], seed: number, index: number): FuzzRequest {
  const rnd = prng(seed * 1_000_003 + index);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const raws: string[] = [];
  /** A placeholder that stands, in the JSON text, for `text` as written (deep nesting, bare literals). */
  const raw = (text: string) => `\u0000raw${raws.push(text) - 1}`;

  const hostile = (): unknown => {
    switch (int(16)) {
      case 0: return raw(nest(1 + int(8000), rnd() < 0.5));
      case 1: return "x".repeat(int(1 << 18));
      case 2: return raw(String(2n ** 64n + BigInt(int(1000))));
      case 3: return raw(pick(["9.007199254740993e15", "1e19", "1e400", "-0", "-1", "1.5", "18446744073709551615", "4666673844721362956", "9007199254740993"]));
      case 4: return pick(["-1", "1.5", "0x10", "", "18446744073709551616", "9007199254740993", " 1", "1e3", "٣"]);
      case 5: return pick([true, false, null, 0, -1, 1.5, {}, [], [[]]]);
      case 6: return "0x" + "zz".repeat(int(40));
      case 7: return "0x" + "ab".repeat(int(200));
      case 8: return { __proto__x: 1, constructor: { prototype: 1 } };
      case 9: return raw('{"__proto__": {"polluted": true}}');
      case 10: return Array.from({ length: int(3000) }, () => int(256));
      case 11: return pick(["PHASE0", "gloas", "Electra", "HEZE", "fulu", ""]);
      case 12: return String(int(2 ** 31));
      case 13: return "\ud800" + "\u0000" + "é".repeat(int(10));
      case 14: return raw(String(int(2 ** 53)));
      default: return { type: pick(["BLOCK_V2", "attestation", "DEPOSIT"]) };
    }
  };

  let body: unknown = structuredClone(pick(bodies));
  for (let m = 1 + int(3); m > 0; m--) body = mutate(body);

  function mutate(value: unknown): unknown {
    const paths = nodes(value);
    const [parent, key] = pick(paths);
    if (parent === undefined) return hostile();
    const holder = parent as Record<string, unknown>;
    switch (int(6)) {
      case 0: delete holder[key]; break;
      case 1: holder[`${key}_${int(9)}`] = hostile(); break;
      case 2: if (key === "type" && typeof holder.type === "string") holder.type = pick([holder.type.toLowerCase(), "AGGREGATE_AND_PROOF_V2", "BLOCK", "VALIDATOR_REGISTRATION", "NOPE"]); else holder[key] = hostile(); break;
      default: holder[key] = hostile();
    }
    return value;
  }

  let text = JSON.stringify(body).replace(/"\\u0000raw(\d+)"/g, (_, i: string) => raws[Number(i)]!);
  if (rnd() < 0.1) {
    const at = int(text.length + 1);
    text = pick([text.slice(0, at), text.slice(0, at) + pick(["}", "]", '"', "\\", ",", "\u0000", "{{"]) + text.slice(at), text + text]);
  }
  const contentType = rnd() < 0.7 ? "application/json" : pick(CONTENT_TYPES);
  const badKey = rnd() < 0.03;
  return {
    text,
    contentType,
    pubkeyPath: (pubkey) => (badKey ? pick([pubkey.slice(0, 50), "0x" + "ab".repeat(48), pubkey + "00", "%00", "x".repeat(190)]) : rnd() < 0.1 ? pubkey.slice(2) : pubkey),
  };
}

/** `depth` arrays (or objects) nested, as JSON text. */
function nest(depth: number, objects: boolean): string {
  return objects ? '{"a":'.repeat(depth) + "1" + "}".repeat(depth) : "[".repeat(depth) + "1" + "]".repeat(depth);
}

/** Every [holder, key] of a JSON value, with [undefined, ""] for the value itself. */
function nodes(value: unknown): Array<[unknown, string]> {
  const out: Array<[unknown, string]> = [[undefined, ""]];
  const walk = (v: unknown) => {
    if (typeof v !== "object" || v === null) return;
    for (const key of Object.keys(v)) {
      out.push([v, key]);
      walk((v as Record<string, unknown>)[key]);
    }
  };
  walk(value);
  return out;
}

/**
 * What a refused request must leave as it was: the signer's slashing-protection records, as its
 * EIP-3076 export gives them (it holds its SQLite file exclusively, so no other reader can look).
 */
async function slashingSnapshot(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/eth/v1/slashing-protection`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`slashing-protection export answered ${res.status}: ${await res.text()}`);
  return res.text();
}

export interface FuzzResult {
  sent: number;
  byStatus: Record<number, number>;
  /** Answers of 500 or more, and refused requests after which the database differed: each a line to replay it. */
  failures: string[];
  /** Heap in use after the first tenth of the run, and the most seen after it (bytes). */
  heapAfterWarmup: number;
  heapMax: number;
}

/**
 * Sends `count` fuzzed requests, one at a time, to the signer at `url` for `pubkey`, and after each
 * refusal compares the signer's slashing records (exported with the API `token`) with those before it.
 */
export async function runFuzz(opts: { url: string; pubkey: string; token: string; count: number; seed: number; onProgress?: (r: FuzzResult) => void }): Promise<FuzzResult> {
  const bodies = seedBodies();
  const result: FuzzResult = { sent: 0, byStatus: {}, failures: [], heapAfterWarmup: 0, heapMax: 0 };
  let before = await slashingSnapshot(opts.url, opts.token);
  for (let i = 0; i < opts.count; i++) {
    const request = fuzzRequest(bodies, opts.seed, i);
    const headers: Record<string, string> = { accept: "application/json" };
    if (request.contentType !== undefined) headers["content-type"] = request.contentType;
    const res = await fetch(`${opts.url}/api/v1/eth2/sign/${request.pubkeyPath(opts.pubkey)}`, {
      method: "POST",
      headers,
      // Bytes, so that fetch adds no Content-Type of its own.
      body: Buffer.from(request.text, "utf8"),
    });
    const answer = await res.text();
    result.sent++;
    result.byStatus[res.status] = (result.byStatus[res.status] ?? 0) + 1;
    const replay = `seed ${opts.seed} index ${i}`;
    if (res.status >= 500) result.failures.push(`${replay}: ${res.status} ${answer.slice(0, 200)}`);
    if (res.status === 200) {
      before = await slashingSnapshot(opts.url, opts.token);
    } else if ((await slashingSnapshot(opts.url, opts.token)) !== before) {
      result.failures.push(`${replay}: refused with ${res.status}, yet the slashing records changed`);
      before = await slashingSnapshot(opts.url, opts.token);
    }
    if (i === Math.floor(opts.count / 10)) result.heapAfterWarmup = process.memoryUsage().heapUsed;
    if (i > opts.count / 10 && i % 100 === 0) result.heapMax = Math.max(result.heapMax, process.memoryUsage().heapUsed);
    if (i % 5_000 === 0) opts.onProgress?.(result);
  }
  result.heapMax = Math.max(result.heapMax, process.memoryUsage().heapUsed);
  return result;
}
