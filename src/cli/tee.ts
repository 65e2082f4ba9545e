import { readFile } from "node:fs/promises";
import { ed25519 } from "@noble/curves/ed25519.js";
import { loadConfig, SERVE_OPTIONS, type OptionName } from "../config/config.js";
import { InputError } from "../errors.js";
import { unattestedWarning } from "../tee/index.js";
import { signAllowlist } from "../tee/migration.js";
import { migrateStateKey } from "../tee/successor.js";
import { fromHex, toHex } from "../util/hex.js";
import { formatFlags, parseFlags, type FlagSpec } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";
import { PLATFORM_FLAGS } from "./keys.js";

/** The serve settings that say where this build's state key goes and which platform seals it. */
const SETTINGS = [...Object.keys(PLATFORM_FLAGS), "state-key-file", "release-key"] as OptionName[];

/** `tee migrate`'s own flag names for serve's migration settings (serve --migrate-from runs the same migration). */
const MIGRATION_FLAGS = {
  from: "migrate-from",
  allowlist: "migration-allowlist",
  "token-file": "migration-token-file",
  ca: "migration-ca",
  collateral: "migration-collateral",
} as const satisfies Record<string, OptionName>;

const FLAGS = {
  ...PLATFORM_FLAGS,
  "state-key-file": SERVE_OPTIONS["state-key-file"],
  "release-key": { ...SERVE_OPTIONS["release-key"], description: "Ed25519 public key of the release authority: both builds must be on the allowlist it signed (required)" },
  from: { ...SERVE_OPTIONS["migrate-from"], description: "the running predecessor, e.g. https://old-signer:9000 (required)" },
  allowlist: { ...SERVE_OPTIONS["migration-allowlist"], description: "the release allowlist JSON the release key signed (required)" },
  "token-file": { ...SERVE_OPTIONS["migration-token-file"], description: "the predecessor's API token (its <data-dir>/api-token.txt) (required)" },
  ca: { ...SERVE_OPTIONS["migration-ca"], description: "PEM CA the predecessor's TLS certificate must chain to (default: the system's)" },
  collateral: { ...SERVE_OPTIONS["migration-collateral"], description: "gramine-sgx, tsm on TDX: Intel collateral JSON for the quotes of this machine, sent with the request and used for the answer" },
  "release-secret-key-file": {
    kind: "string",
    placeholder: "FILE",
    description: "sign-allowlist, release-key: the release authority's Ed25519 secret, its 32-byte seed as hex (release tooling, offline; never on a signer machine)",
  },
} as Record<string, FlagSpec>;

const USAGE = [
  "Usage: secure-signer tee migrate --from URL --allowlist FILE --release-key HEX --token-file FILE [options]",
  "       secure-signer tee sign-allowlist --release-secret-key-file FILE MEASUREMENT...",
  "       secure-signer tee release-key --release-secret-key-file FILE",
  "",
  "migrate: run by a new enclave build (the successor) on an empty state: gets the state master key from the",
  "running predecessor over a mutually attested channel (POST /tee/v1/state-migration) and seals it",
  "under this build's platform in the state key file (default <data-dir>/state-key.sealed). Both builds'",
  "measurements must be on the allowlist the release key signed; each side verifies the other's evidence.",
  "Refuses when the state key file exists. The predecessor's sealed files (keys/, the transport key, the",
  "instance identity) are sealed under the master key: with the predecessor stopped, they and its slashing",
  "database are copied into (or kept in) this data directory, and `serve` opens them (docs/tee.md, \"Upgrades\").",
  "A build whose command line is fixed to `serve` (Gramine) does the same with serve --migrate-from.",
  "",
  "sign-allowlist: release tooling: prints the allowlist of the MEASUREMENTs (MRENCLAVE, MRTD …, 32 bytes hex",
  "each: the running build's and the new one's) signed with the release secret, for --allowlist and",
  "serve --migration-allowlist. release-key: prints the public key to pin with --release-key.",
  "",
  "Options:",
  formatFlags(FLAGS),
].join("\n");

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError("USAGE", `--${name} is required`);
  return value;
}

async function migrate(values: Record<string, unknown>): Promise<number> {
  for (const name of ["from", "allowlist", "token-file", "release-key"]) required(values, name);
  const given = (name: string) => (values[name] === undefined ? [] : [[name, values[name] as string | boolean]]);
  const config = loadConfig(
    Object.fromEntries([
      ...SETTINGS.flatMap(given),
      ...Object.entries(MIGRATION_FLAGS).flatMap(([flag, setting]) => given(flag).map(([, v]) => [setting, v])),
    ]),
  );
  const migrated = await migrateStateKey(config);
  try {
    const { platform } = migrated.state;
    if (!platform.attested) console.error(`warning: ${unattestedWarning(platform.name)}`);
    console.log(`state master key  from ${migrated.from.origin} (measurement ${migrated.predecessor})`);
    console.log(`installed         ${migrated.stateFile}, sealed by this ${platform.name} build (measurement ${migrated.own})`);
    console.log(`next              stop the predecessor, copy its data directory's keys/, sealed files and slashing database into ${config.dataDir}, then serve`);
    return 0;
  } finally {
    await migrated.state.platform.close?.();
  }
}

const MEASUREMENT_RE = /^(0x)?[0-9a-fA-F]{64}$/;

/** The release secret: a file holding the 32-byte Ed25519 seed as hex, 0x optional. */
async function releaseSecret(values: Record<string, unknown>): Promise<Uint8Array> {
  const file = required(values, "release-secret-key-file");
  let text: string;
  try {
    text = (await readFile(file, "utf8")).trim();
  } catch (e) {
    throw new InputError("INVALID_INPUT", `release secret key file ${file}: ${(e as Error).message}`);
  }
  return fromHex(text.startsWith("0x") ? text : `0x${text}`, `release secret key file ${file}`, 32);
}

async function signAllowlistAction(values: Record<string, unknown>, measurements: string[]): Promise<number> {
  if (measurements.length === 0) throw new UsageError("USAGE", "give the measurements to allowlist (the running build's and the new one's)");
  const bad = measurements.find((m) => !MEASUREMENT_RE.test(m));
  if (bad !== undefined) throw new UsageError("USAGE", `measurement "${bad}": give 32 bytes as hex (64 digits, 0x optional)`);
  const secret = await releaseSecret(values);
  try {
    console.log(JSON.stringify(signAllowlist(measurements, secret), null, 2));
  } finally {
    secret.fill(0);
  }
  return 0;
}

async function releaseKeyAction(values: Record<string, unknown>): Promise<number> {
  const secret = await releaseSecret(values);
  try {
    console.log(toHex(ed25519.getPublicKey(secret)));
  } finally {
    secret.fill(0);
  }
  return 0;
}

export const teeCommand: Command = {
  name: "tee",
  summary: "trusted-execution operations: migrate the state key from the previous enclave build; sign a release allowlist",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    const [action, ...rest] = positionals;
    if (action === "sign-allowlist") return signAllowlistAction(values, rest);
    if (action !== "migrate" && action !== "release-key") throw new UsageError("USAGE", action ? `unknown action "${action}"` : "missing action (migrate, sign-allowlist, release-key)");
    if (rest.length > 0) throw new UsageError("USAGE", `unexpected argument "${rest[0]}"`);
    return action === "release-key" ? releaseKeyAction(values) : migrate(values);
  },
};
