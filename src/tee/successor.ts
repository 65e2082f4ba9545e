import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Config } from "../config/config.js";
import { InputError } from "../errors.js";
import { TeeError } from "./errors.js";
import { platformOptionsFor } from "./fromConfig.js";
import { createBasePlatform, stateKeyFileOf } from "./index.js";
import { checkAllowlist, requestMigration, type EvidenceVerifier } from "./migration.js";
import { migrationVerifierFor } from "./migrationPeer.js";
import { installStateKey, type StateKey } from "./stateKey.js";
import { bareHex, fromHex } from "../util/hex.js";

/**
 * The successor's whole side of a migration (migration.ts has the protocol): read the settings'
 * files, check this build is on the allowlist, ask the predecessor over HTTP(S), check its answer,
 * seal the master key under this platform. `tee migrate` and `serve --migrate-from` both run it.
 */

export interface Migrated {
  /** The installed key, on this build's platform; the caller closes `state.platform`. */
  state: StateKey;
  stateFile: string;
  from: URL;
  /** Measurements, bare lower-case hex. */
  predecessor: string;
  own: string;
}

async function readSetting(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new InputError("INVALID_INPUT", `${what} ${path}: ${(e as Error).message}`);
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readSetting(path, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError("INVALID_INPUT", `${what} ${path} is not JSON: ${(e as Error).message}`);
  }
}

/** Sends one request to the predecessor (the TLS roots pinned to `ca` when given) and answers its response. */
function send(url: URL, method: "GET" | "POST", headers: Record<string, string | number>, ca: Buffer | undefined, body?: string): Promise<IncomingMessage> {
  const request = url.protocol === "https:" ? httpsRequest : url.protocol === "http:" ? httpRequest : undefined;
  if (!request) throw new InputError("INVALID_INPUT", `${url.href}: give an http:// or https:// URL for the predecessor`);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: 30_000, ...(ca && { ca }) }, resolve);
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", (e) => reject(new InputError("INVALID_INPUT", `cannot reach the predecessor at ${url.origin}: ${e.message}`)));
    req.end(body);
  });
}

async function postJson(url: URL, body: unknown, token: string, ca: Buffer | undefined): Promise<{ status: number; json: unknown }> {
  const payload = JSON.stringify(body);
  const res = await send(url, "POST", { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) }, ca, payload);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return { status: res.statusCode ?? 0, json: JSON.parse(text) as unknown };
  } catch {
    return { status: res.statusCode ?? 0, json: { message: text } };
  }
}

/** A verifier that also keeps the measurement it saw, to say which build the key came from. */
function recording(verify: EvidenceVerifier): { verify: EvidenceVerifier; seen: () => string | undefined } {
  let measurement: string | undefined;
  return {
    verify: async (evidence) => {
      const checked = await verify(evidence);
      measurement = checked.measurement;
      return checked;
    },
    seen: () => measurement,
  };
}

/**
 * Gets the state master key from the predecessor `config.migrateFrom` names and installs it in this
 * build's state key file, which must not exist; every check's refusal is a TeeError and leaves
 * nothing written.
 */
export async function migrateStateKey(config: Config): Promise<Migrated> {
  const { migrateFrom, migrationAllowlist, migrationTokenFile, releaseKey: releaseKeyHex } = config;
  if (!migrateFrom || !migrationAllowlist || !migrationTokenFile || !releaseKeyHex) {
    throw new TeeError("MIGRATION_DISABLED", "a migration needs the predecessor's URL, the allowlist, the predecessor's API token and the release key");
  }
  const from = new URL("/tee/v1/state-migration", migrateFrom);
  const releaseKey = fromHex(releaseKeyHex, "--release-key", 32);
  const options = platformOptionsFor(config);
  const stateFile = stateKeyFileOf(options);
  // Before anything is made: a second master key would orphan every secret sealed under the first.
  if (existsSync(stateFile)) {
    throw new TeeError("SEAL_FAILED", `${stateFile} already holds a state master key: migrate into an empty state (another --data-dir or --state-key-file), or move it away`, {
      path: stateFile,
    });
  }
  const allowlist = await readJson(migrationAllowlist, "allowlist");
  const allowed = checkAllowlist(allowlist, releaseKey);
  const collateral = config.migrationCollateral === undefined ? undefined : await readJson(config.migrationCollateral, "collateral");
  const token = (await readSetting(migrationTokenFile, "the predecessor's API token file")).trim();
  const ca = config.migrationCa === undefined ? undefined : Buffer.from(await readSetting(config.migrationCa, "CA file"));
  // The verifier first: on dev it refuses before the platform makes its sealing secret.
  const verifier = await migrationVerifierFor(config.platform, options, collateral);
  const platform = await createBasePlatform(config.platform, options);
  try {
    const session = await requestMigration(platform);
    // The predecessor checks this too; checked here first, a build the release never listed is told so without asking it.
    const own = bareHex((await verifier(session.request.evidence)).measurement);
    if (!allowed.has(own)) {
      throw new TeeError("NOT_ALLOWLISTED", `this build's measurement ${own} is not on the release allowlist ${migrationAllowlist}: nothing was asked or written`, { measurement: own });
    }
    const { status, json } = await postJson(from, { request: session.request, allowlist, ...(collateral !== undefined && { collateral }) }, token, ca);
    if (status !== 200) {
      // Its reason as it gave it: the predecessor's checks (allowlist, evidence, token, --release-key) are its own.
      const message = (json as { message?: unknown } | null)?.message;
      throw new TeeError("MIGRATION_REFUSED", `${from.origin} refused the migration (HTTP ${status}): ${typeof message === "string" ? message : JSON.stringify(json)}; nothing was written`, {
        status,
      });
    }
    const predecessor = recording(verifier);
    const master = await session.accept(json, allowlist, releaseKey, predecessor.verify);
    let state: StateKey;
    try {
      state = await installStateKey(platform, stateFile, master);
    } finally {
      master.fill(0);
    }
    return { state, stateFile, from, predecessor: bareHex(predecessor.seen() ?? ""), own };
  } catch (e) {
    await platform.close?.();
    throw e;
  }
}

/**
 * Whether the predecessor still answers GET /upcheck with 200. A successor that took over its data
 * directory in place waits for this to turn false before opening it: two signers on one slashing
 * database and one set of keys is what the upgrade must never produce.
 */
export async function predecessorAnswers(config: Pick<Config, "migrateFrom" | "migrationCa">): Promise<boolean> {
  const ca = config.migrationCa === undefined ? undefined : Buffer.from(await readSetting(config.migrationCa, "CA file"));
  try {
    const res = await send(new URL("/upcheck", config.migrateFrom), "GET", {}, ca);
    res.resume();
    return res.statusCode === 200;
  } catch (e) {
    if (e instanceof InputError) return false;
    throw e;
  }
}
