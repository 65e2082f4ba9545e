import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { loadConfig, SERVE_OPTIONS, type OptionName } from "../config/config.js";
import { InputError } from "../errors.js";
import { TeeError } from "../tee/errors.js";
import { platformOptionsFor } from "../tee/fromConfig.js";
import { createBasePlatform, stateKeyFileOf, unattestedWarning } from "../tee/index.js";
import { checkAllowlist, requestMigration, type EvidenceVerifier } from "../tee/migration.js";
import { migrationVerifierFor } from "../tee/migrationPeer.js";
import { installStateKey } from "../tee/stateKey.js";
import { fromHex } from "../util/hex.js";
import { formatFlags, parseFlags, type FlagSpec } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";
import { PLATFORM_FLAGS } from "./keys.js";

/** The serve settings that say where this build's state key goes and which platform seals it. */
const SETTINGS = [...Object.keys(PLATFORM_FLAGS), "state-key-file", "release-key"] as OptionName[];

const FLAGS = {
  ...PLATFORM_FLAGS,
  "state-key-file": SERVE_OPTIONS["state-key-file"],
  "release-key": { ...SERVE_OPTIONS["release-key"], description: "Ed25519 public key of the release authority: both builds must be on the allowlist it signed (required)" },
  from: { kind: "string", placeholder: "URL", description: "the running predecessor, e.g. https://old-signer:9000 (required)" },
  allowlist: { kind: "string", placeholder: "FILE", description: "the release allowlist JSON the release key signed (required)" },
  "token-file": { kind: "string", placeholder: "FILE", description: "the predecessor's API token (its <data-dir>/api-token.txt) (required)" },
  ca: { kind: "string", placeholder: "FILE", description: "PEM CA the predecessor's TLS certificate must chain to (default: the system's)" },
  collateral: { kind: "string", placeholder: "FILE", description: "gramine-sgx, tsm on TDX: Intel collateral JSON for the quotes of this machine, sent with the request and used for the answer" },
} as Record<string, FlagSpec>;

const USAGE = [
  "Usage: secure-signer tee migrate --from URL --allowlist FILE --release-key HEX --token-file FILE [options]",
  "",
  "Run by a new enclave build (the successor) on an empty state: gets the state master key from the",
  "running predecessor over a mutually attested channel (POST /tee/v1/state-migration) and seals it",
  "under this build's platform in the state key file (default <data-dir>/state-key.sealed). Both builds'",
  "measurements must be on the allowlist the release key signed; each side verifies the other's evidence.",
  "Refuses when the state key file exists. The predecessor's sealed files (keys/, the transport key, the",
  "instance identity) are sealed under the master key: with the predecessor stopped, they and its slashing",
  "database are copied into (or kept in) this data directory, and `serve` opens them (docs/tee.md, \"Upgrades\").",
  "",
  "Options:",
  formatFlags(FLAGS),
].join("\n");

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError("USAGE", `--${name} is required`);
  return value;
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new InputError("INVALID_INPUT", `${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError("INVALID_INPUT", `${what} ${path} is not JSON: ${(e as Error).message}`);
  }
}

/** POSTs JSON with the bearer token and answers the status and parsed body; `ca` pins the TLS roots. */
function postJson(url: URL, body: unknown, token: string, ca: Buffer | undefined): Promise<{ status: number; json: unknown }> {
  const send = url.protocol === "https:" ? httpsRequest : url.protocol === "http:" ? httpRequest : undefined;
  if (!send) throw new UsageError("USAGE", `--from ${url.href}: give an http:// or https:// URL`);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        ...(ca && { ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: { message: text } });
          }
        });
      },
    );
    req.on("error", (e) => reject(new InputError("INVALID_INPUT", `cannot reach the predecessor at ${url.origin}: ${e.message}`)));
    req.end(payload);
  });
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

async function migrate(values: Record<string, unknown>): Promise<number> {
  const from = new URL("/tee/v1/state-migration", required(values, "from"));
  const allowlistFile = required(values, "allowlist");
  const tokenFile = required(values, "token-file");
  required(values, "release-key");
  const config = loadConfig(Object.fromEntries(SETTINGS.filter((k) => values[k] !== undefined).map((k) => [k, values[k] as string | boolean])));
  const releaseKey = fromHex(config.releaseKey!, "--release-key", 32);
  const options = platformOptionsFor(config);
  const stateFile = stateKeyFileOf(options);
  // Before anything is made: a second master key would orphan every secret sealed under the first.
  if (existsSync(stateFile)) {
    throw new TeeError("SEAL_FAILED", `${stateFile} already holds a state master key: migrate into an empty state (another --data-dir or --state-key-file), or move it away`, {
      path: stateFile,
    });
  }
  const allowlist = await readJson(allowlistFile, "allowlist");
  const allowed = checkAllowlist(allowlist, releaseKey);
  const collateral = values.collateral === undefined ? undefined : await readJson(values.collateral as string, "collateral");
  const token = (await readFile(tokenFile, "utf8")).trim();
  const ca = values.ca === undefined ? undefined : await readFile(values.ca as string);
  // The verifier first: on dev it refuses before the platform makes its sealing secret.
  const verifier = await migrationVerifierFor(config.platform, options, collateral);
  const platform = await createBasePlatform(config.platform, options);
  try {
    if (!platform.attested) console.error(`warning: ${unattestedWarning(platform.name)}`);
    const session = await requestMigration(platform);
    // The predecessor checks this too; checked here first, a build the release never listed is told so without asking it.
    const own = (await verifier(session.request.evidence)).measurement.toLowerCase().replace(/^0x/, "");
    if (!allowed.has(own)) {
      throw new TeeError("NOT_ALLOWLISTED", `this build's measurement ${own} is not on the release allowlist ${allowlistFile}: nothing was asked or written`, { measurement: own });
    }
    const { status, json } = await postJson(from, { request: session.request, allowlist, ...(collateral !== undefined && { collateral }) }, token, ca);
    if (status !== 200) {
      // Its reason as it gave it: the predecessor's checks (allowlist, evidence, token, --release-key) are its own.
      const message = (json as { message?: unknown } | null)?.message;
      console.error(`error: ${from.origin} refused the migration (HTTP ${status}): ${typeof message === "string" ? message : JSON.stringify(json)}; nothing was written`);
      return 1;
    }
    const predecessor = recording(verifier);
    const master = await session.accept(json, allowlist, releaseKey, predecessor.verify);
    try {
      await installStateKey(platform, stateFile, master);
    } finally {
      master.fill(0);
    }
    console.log(`state master key  from ${from.origin} (measurement ${predecessor.seen()?.replace(/^0x/, "")})`);
    console.log(`installed         ${stateFile}, sealed by this ${platform.name} build (measurement ${own})`);
    console.log(`next              stop the predecessor, copy its data directory's keys/, sealed files and slashing database into ${config.dataDir}, then serve`);
    return 0;
  } finally {
    await platform.close?.();
  }
}

export const teeCommand: Command = {
  name: "tee",
  summary: "trusted-execution operations: migrate the state key from the previous enclave build",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    const [action, ...rest] = positionals;
    if (action !== "migrate") throw new UsageError("USAGE", action ? `unknown action "${action}"` : "missing action (migrate)");
    if (rest.length > 0) throw new UsageError("USAGE", `unexpected argument "${rest[0]}"`);
    try {
      return await migrate(values);
    } catch (e) {
      // Scripts and operators act on which check refused (NOT_ALLOWLISTED, INVALID_EVIDENCE …): it leads the message.
      if (e instanceof TeeError) {
        console.error(`error: ${e.code}: ${e.message}`);
        return 1;
      }
      throw e;
    }
  },
};
