import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { isMap, isScalar, isSeq, parseDocument, type Scalar } from "yaml";
import { ConfigError } from "./errors.js";
import { fromWeb3Signer, WEB3SIGNER_NAMES, web3signerEnvName, web3signerFileKey, type Web3SignerFlag } from "./web3signer.js";
import { DEFAULT_DB_TIMEOUT_MS } from "../slashing/store.js";

/** Files in the data directory that `serve` writes and the offline CLI must find again. */
export const apiTokenFile = (dataDir: string): string => join(dataDir, "api-token.txt");
/** The API token file `serve` uses: --keymanager-token-file, or the data directory's. */
export const configuredApiTokenFile = (config: Pick<Config, "dataDir" | "keymanagerTokenFile">): string => config.keymanagerTokenFile ?? apiTokenFile(config.dataDir);
export const sqliteFile = (dataDir: string): string => join(dataDir, "slashing-protection.sqlite");


type Kind = "string" | "number" | "boolean";

/** Web3Signer's metric categories (its own and Besu's standard ones), as --metrics-category names them. */
const METRIC_CATEGORIES = ["ETH2_SLASHING_PROTECTION", "HTTP", "SIGNING", "JVM", "PROCESS"] as const;
/** Web3Signer's metrics port, for --metrics-enabled=true without --metrics-port. */
const WEB3SIGNER_METRICS_PORT = 9001;

interface OptionSpec {
  kind: Kind;
  description: string;
  default?: string | number | boolean;
  placeholder?: string;
}

/**
 * Every `serve` setting, one table: the flag is `--name`, the environment variable
 * SECURE_SIGNER_NAME (upper case, dashes as underscores), the config-file key the flag name.
 * Precedence: flag > environment > config file > default. Web3Signer's names for some of them
 * are read too (web3signer.ts).
 */
export const SERVE_OPTIONS = {
  "data-dir": { kind: "string", placeholder: "DIR", default: join(homedir(), ".secure-signer"), description: "where keys, the slashing database and the API token live" },
  host: { kind: "string", placeholder: "ADDR", default: "127.0.0.1", description: "address to listen on" },
  port: { kind: "number", placeholder: "N", default: 9000, description: "port of the signing, keymanager and health API, and of /metrics without --metrics-port" },
  network: { kind: "string", placeholder: "NAME|FILE", default: "mainnet", description: "mainnet, hoodi, holesky, sepolia, gnosis, chiado, minimal, or a network config file: consensus config.yaml, or a beacon node's /eth/v1/config/spec JSON" },
  "keystores-dir": { kind: "string", placeholder: "DIR", description: "EIP-2335 keystores NAME.json to load at start, and again on POST /reload or SIGHUP" },
  "keystores-passwords-dir": { kind: "string", placeholder: "DIR", description: "their passwords, NAME.txt" },
  "max-keystore-kdf-cost": { kind: "number", placeholder: "X", default: 1, description: "refuse keystores (keymanager import, --keystores-dir, keys import) whose KDF costs more than X times staking-deposit-cli's scrypt n=2^18, r=8, p=1 or pbkdf2 c=262144, before decrypting" },
  "slashing-db": { kind: "string", placeholder: "URL", description: "postgres://… to share slashing protection between instances (default: SQLite in the data dir)" },
  "slashing-db-timeout-ms": { kind: "number", placeholder: "MS", default: DEFAULT_DB_TIMEOUT_MS, description: "PostgreSQL: longest wait for a connection, a query, or a key another instance holds, before giving up (serve answers 503)" },
  platform: { kind: "string", placeholder: "KIND", default: "dev", description: "trusted execution platform: dev, gramine-sgx, tsm (simulated-sgx: tests of enclave upgrades only)" },
  "release-key": { kind: "string", placeholder: "HEX", description: "Ed25519 public key of the release authority: hand the state master key (POST /tee/v1/state-migration) to a successor build only on an allowlist it signed (unset: refused)" },
  "migrate-from": { kind: "string", placeholder: "URL", description: "upgrade: when the state key file does not exist yet, get the state master key from the running predecessor build at URL (e.g. https://old-signer:9000) before starting, wait for it to stop and start on its data directory (needs --state-key-file outside --data-dir); ignored once the key is there (docs/tee.md, \"Upgrades\")" },
  "migration-allowlist": { kind: "string", placeholder: "FILE", description: "with --migrate-from: the release allowlist JSON the release key signed (`tee sign-allowlist`); both builds must be on it" },
  "migration-token-file": { kind: "string", placeholder: "FILE", description: "with --migrate-from: the predecessor's API token (its api-token.txt)" },
  "migration-ca": { kind: "string", placeholder: "FILE", description: "with --migrate-from: PEM CA the predecessor's TLS certificate must chain to (default: the system's)" },
  "migration-collateral": { kind: "string", placeholder: "FILE", description: "with --migrate-from, gramine-sgx, tsm on TDX: Intel collateral JSON for the quotes of this machine, sent with the request and used for the answer" },
  "simulated-sgx-cpu-secret-file": { kind: "string", placeholder: "FILE", description: "simulated-sgx (tests only): the simulated CPU's secret (created if missing); processes sharing it are one machine" },
  "simulated-sgx-mrenclave": { kind: "string", placeholder: "HEX", description: "simulated-sgx (tests only): this build's MRENCLAVE" },
  "gramine-attestation-dir": { kind: "string", placeholder: "DIR", default: "/dev/attestation", description: "gramine-sgx: Gramine's attestation pseudo-filesystem" },
  "gramine-sealing-key": { kind: "string", placeholder: "KIND", default: "mrenclave", description: "gramine-sgx: seal to mrenclave (this build only) or mrsigner (same signer, upgrades keep keys)" },
  "gramine-encrypted-fs-key": { kind: "string", placeholder: "FILE", description: "gramine-sgx: the encrypted data mount's key pseudo-file (/dev/attestation/keys/NAME), set from the state master key at start" },
  "keymanager-token-file": { kind: "string", placeholder: "FILE", description: "the API token (keymanager API and every operator route): read from FILE, created (random, 0600) if missing; at least 64 hex digits or 43 base64url characters (default: api-token.txt in the data dir)" },
  "api-token-recipient": { kind: "string", placeholder: "HEX", description: "operator's X25519 public key: write the API token encrypted to it to --api-token-envelope (for a data dir the host cannot read)" },
  "api-token-envelope": { kind: "string", placeholder: "FILE", description: "where --api-token-recipient's envelope goes" },
  "state-key-file": { kind: "string", placeholder: "FILE", description: "the platform-sealed state master key every other secret is sealed under (default: in the data dir; outside it with --gramine-encrypted-fs-key)" },
  "tsm-report-dir": { kind: "string", placeholder: "DIR", default: "/sys/kernel/config/tsm/report", description: "tsm: the configfs-tsm report directory" },
  "tsm-sealing-key-file": { kind: "string", placeholder: "FILE", description: "tsm: the 32-byte sealing key a key-release step wrote after attesting this VM" },
  "genesis-validators-root": { kind: "string", placeholder: "HEX", description: "the chain's genesis_validators_root, for minimal and networks given as a file (serve does not start without it)" },
  "genesis-time": { kind: "number", placeholder: "SECONDS", description: "the chain's genesis time (Unix seconds), for minimal and networks given as a file: the rollback guard needs it" },
  "require-attested": { kind: "boolean", default: false, description: "refuse to start on a platform that cannot be attested (dev)" },
  "prune-interval-minutes": { kind: "number", placeholder: "N", default: 60, description: "delete slashing records below the watermarks every N minutes (0: never; the checks never weaken)" },
  "startup-floor-epochs": { kind: "string", placeholder: "N|off", default: "0", description: "rollback guard without a continuity store: after each start, refuse blocks and attestation targets up to the clock's slot plus the skew, plus N epochs (off: trust the database as it is)" },
  "clock-skew-slots": { kind: "string", placeholder: "N|off", default: "2", description: "refuse blocks and attestations for more than N slots ahead of the clock, at most one epoch (off: no bound; the rollback guard then cannot rely on it)" },
  "continuity-store": { kind: "string", placeholder: "URL", description: "postgres://… on a machine the host cannot roll back: reservations there make restarts, restored data directories, a moved clock and clones safe (docs/tee.md)" },
  "continuity-ca": { kind: "string", placeholder: "FILE", description: "PEM CA the continuity store's certificate must chain to, its host name checked (required with --continuity-store)" },
  "continuity-window-epochs": { kind: "number", placeholder: "N", default: 2, description: "continuity store: how many targets one attestation reservation covers; a restart attests again within N epochs" },
  "bls-threads": { kind: "number", placeholder: "N", description: "BLS signing worker threads (default: one per CPU); a Gramine manifest sizes its thread slots from it" },
  "log-level": { kind: "string", placeholder: "LEVEL", default: "info", description: "fatal, error, warn, info, debug, trace" },
  "body-limit": { kind: "number", placeholder: "BYTES", default: 4 * 1024 * 1024, description: "largest request body accepted" },
  "tls-cert": { kind: "string", placeholder: "FILE", description: "PEM server certificate: serve HTTPS" },
  "tls-key": { kind: "string", placeholder: "FILE", description: "PEM private key of --tls-cert" },
  "tls-client-ca": { kind: "string", placeholder: "FILE", description: "PEM CA bundle: require client certificates issued by it (mTLS)" },
  "host-allowlist": { kind: "string", placeholder: "HOSTS", description: "comma-separated Host header values accepted, * for any (default: localhost,127.0.0.1 and --host)" },
  "metrics-port": { kind: "number", placeholder: "N", description: "serve GET /metrics on this port of its own (and no longer on --port), as Web3Signer's --metrics-port" },
  "metrics-host": { kind: "string", placeholder: "ADDR", default: "127.0.0.1", description: "with --metrics-port: the address the metrics listener binds" },
  "metrics-host-allowlist": { kind: "string", placeholder: "HOSTS", description: "with --metrics-port: Host header values accepted there, * for any (default: localhost,127.0.0.1 and --metrics-host)" },
  "metrics-enabled": { kind: "string", placeholder: "true|false", description: "Web3Signer's switch: true serves /metrics on a listener of its own (--metrics-port, 9001 unless given, as Web3Signer), false serves none (default: on --port, or on --metrics-port's listener when given)" },
  "metrics-category": { kind: "string", placeholder: "CATEGORIES", description: `Web3Signer's comma-separated categories (${METRIC_CATEGORIES.join(", ")}, any case) are accepted; every metric is served whichever are named (docs/migration.md)` },
  "signing-token-file": { kind: "string", placeholder: "FILE", description: "require Authorization: Bearer <this file's token> on the signing API too (created, 0600, if missing)" },
  "allow-deposit-signing": { kind: "boolean", default: false, description: "sign DEPOSIT over the signing API, for callers with the API token (off: 403)" },
  "headers-timeout-ms": { kind: "number", placeholder: "MS", default: 5000, description: "longest wait for a request's headers (and the TLS handshake)" },
  "request-timeout-ms": { kind: "number", placeholder: "MS", default: 10_000, description: "longest wait for a whole request, headers and body (then 408, connection closed)" },
  "idle-connection-timeout-seconds": { kind: "number", placeholder: "S", default: 30, description: "close a connection idle this long" },
  "max-connections": { kind: "number", placeholder: "N", default: 512, description: "connections open at once; more are closed at once (keep below ulimit -n)" },
  "min-free-disk-mb": { kind: "number", placeholder: "MB", default: 64, description: "/healthcheck is DOWN while the data directory's file system has less free space" },
  "shutdown-timeout-ms": { kind: "number", placeholder: "MS", default: 5000, description: "on SIGTERM/SIGINT, close connections whose requests are still running after this long" },
  config: { kind: "string", placeholder: "FILE", description: "YAML (or JSON) config file with any of these settings by flag name" },
} satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof SERVE_OPTIONS;

const ConfigSchema = Type.Object({
  dataDir: Type.String({ minLength: 1 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  network: Type.String({ minLength: 1 }),
  keystoresDir: Type.Optional(Type.String()),
  keystoresPasswordsDir: Type.Optional(Type.String()),
  // At 16, one scrypt keystore may take 4 GiB and a minute or more: past that an import is an outage.
  maxKeystoreKdfCost: Type.Number({ exclusiveMinimum: 0, maximum: 16 }),
  slashingDb: Type.Optional(Type.String({ pattern: "^postgres(ql)?://" })),
  // Below 100 ms a busy database refuses signatures that would have waited fine; above a minute a
  // validator client has long given up on the duty.
  slashingDbTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
  platform: Type.Union([Type.Literal("dev"), Type.Literal("gramine-sgx"), Type.Literal("tsm"), Type.Literal("simulated-sgx")]),
  releaseKey: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" })),
  migrateFrom: Type.Optional(Type.String({ pattern: "^https?://" })),
  migrationAllowlist: Type.Optional(Type.String()),
  migrationTokenFile: Type.Optional(Type.String()),
  migrationCa: Type.Optional(Type.String()),
  migrationCollateral: Type.Optional(Type.String()),
  simulatedSgxCpuSecretFile: Type.Optional(Type.String()),
  simulatedSgxMrenclave: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" })),
  requireAttested: Type.Boolean(),
  gramineAttestationDir: Type.String(),
  gramineSealingKey: Type.Union([Type.Literal("mrenclave"), Type.Literal("mrsigner")]),
  gramineEncryptedFsKey: Type.Optional(Type.String()),
  stateKeyFile: Type.Optional(Type.String()),
  keymanagerTokenFile: Type.Optional(Type.String()),
  apiTokenRecipient: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" })),
  apiTokenEnvelope: Type.Optional(Type.String()),
  tsmReportDir: Type.String(),
  tsmSealingKeyFile: Type.Optional(Type.String()),
  genesisValidatorsRoot: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" })),
  genesisTime: Type.Optional(Type.Integer({ minimum: 0 })),
  pruneIntervalMinutes: Type.Number({ minimum: 0, maximum: 10080 }),
  startupFloorEpochs: Type.Union([Type.Literal("off"), Type.Integer({ minimum: 0, maximum: 1000 })]),
  clockSkewSlots: Type.Union([Type.Literal("off"), Type.Integer({ minimum: 0, maximum: 32 })]),
  continuityStore: Type.Optional(Type.String({ pattern: "^postgres(ql)?://" })),
  continuityCa: Type.Optional(Type.String()),
  continuityWindowEpochs: Type.Integer({ minimum: 1, maximum: 64 }),
  // Each thread holds every key and ~10 MB of heap; past 256 a host gains nothing and an enclave runs out of slots.
  blsThreads: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  logLevel: Type.Union(["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l))),
  bodyLimit: Type.Integer({ minimum: 1024 }),
  tlsCert: Type.Optional(Type.String()),
  tlsKey: Type.Optional(Type.String()),
  tlsClientCa: Type.Optional(Type.String()),
  hostAllowlist: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  metricsPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  metricsHost: Type.String({ minLength: 1 }),
  metricsHostAllowlist: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  metricsEnabled: Type.Optional(Type.Boolean()),
  metricsCategory: Type.Optional(Type.Array(Type.Union(METRIC_CATEGORIES.map((c) => Type.Literal(c))), { minItems: 1 })),
  signingTokenFile: Type.Optional(Type.String()),
  allowDepositSigning: Type.Boolean(),
  headersTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
  requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
  idleConnectionTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  maxConnections: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  shutdownTimeoutMs: Type.Integer({ minimum: 0, maximum: 600_000 }),
  minFreeDiskMb: Type.Number({ minimum: 0 }),
});

export type Config = Static<typeof ConfigSchema>;

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
export const envName = (name: string): string => `SECURE_SIGNER_${name.toUpperCase().replace(/-/g, "_")}`;

type Raw = string | boolean;
/** A setting's value as one source gave it, and where from: "--port", "SECURE_SIGNER_PORT", "port in config file F". */
interface Setting {
  raw: Raw;
  label: string;
}

/** Parsed flags, by our names or Web3Signer's (WEB3SIGNER_NAMES). */
export type Flags = Partial<Record<string, Raw>>;

function coerce(spec: OptionSpec, { raw, label }: Setting): string | number | boolean {
  if (spec.kind === "number") {
    const n = typeof raw === "number" ? raw : Number(raw);
    if (typeof raw === "boolean" || raw === "" || !Number.isFinite(n)) {
      throw new ConfigError("INVALID_CONFIG", `${label} must be a number, got ${JSON.stringify(raw)}`);
    }
    return n;
  }
  if (spec.kind === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new ConfigError("INVALID_CONFIG", `${label} must be true or false, got ${JSON.stringify(raw)}`);
  }
  if (typeof raw !== "string") throw new ConfigError("INVALID_CONFIG", `${label} must be a string, got ${JSON.stringify(raw)}`);
  return raw;
}

/**
 * The config file: YAML, as Web3Signer's `--config-file` is (JSON is YAML, so the JSON files of
 * earlier versions still read). Read with YAML's failsafe schema: every value stays the text it
 * was written as and is typed like an environment variable, so that a hex root or a large number
 * is never turned into a float. A list (Web3Signer writes allowlists as lists) is a comma list.
 */
function readConfigFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError("INVALID_CONFIG", `config file ${path}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { schema: "failsafe", prettyErrors: false });
  const error = doc.errors[0];
  if (error) throw new ConfigError("INVALID_CONFIG", `config file ${path}: ${error.message}`);
  const values = new Map<string, string>();
  if (doc.contents === null) return values;
  if (!isMap(doc.contents)) throw new ConfigError("INVALID_CONFIG", `config file ${path}: must hold settings as name: value (a YAML mapping or a JSON object)`);
  const known = new Set<string>([...Object.keys(SERVE_OPTIONS), ...(Object.keys(WEB3SIGNER_NAMES) as Web3SignerFlag[]).map(web3signerFileKey)]);
  for (const { key, value } of doc.contents.items) {
    const name = isScalar(key) ? String(key.value) : "";
    if (!known.has(name) || name === "config" || name === "config-file") {
      throw new ConfigError("INVALID_CONFIG", `config file ${path}: unknown setting "${name}"`);
    }
    if (isScalar(value)) values.set(name, String(value.value));
    else if (isSeq(value) && value.items.every((item) => isScalar(item))) values.set(name, value.items.map((item) => String((item as Scalar).value)).join(","));
    else throw new ConfigError("INVALID_CONFIG", `config file ${path}: ${name} must be a value or a list of values`);
  }
  return values;
}

/**
 * What one source gives, by our names: its own names beside Web3Signer's for the same settings.
 * Both for one setting in one source is a mistake to point out, whichever was meant.
 */
function fromSource(ours: (name: OptionName) => Setting | undefined, theirs: (name: Web3SignerFlag) => Setting | undefined): Map<string, Setting> {
  const out = new Map<string, Setting>();
  for (const name of Object.keys(SERVE_OPTIONS) as OptionName[]) {
    const setting = ours(name);
    if (setting !== undefined) out.set(name, setting);
  }
  const given = (name: Web3SignerFlag) => {
    const setting = theirs(name);
    return setting === undefined ? undefined : { raw: String(setting.raw), label: setting.label };
  };
  for (const [name, setting] of fromWeb3Signer(given)) {
    const own = out.get(name);
    if (own !== undefined) throw new ConfigError("INVALID_CONFIG", `${own.label} and ${setting.label} are the same setting: give one`);
    out.set(name, setting);
  }
  return out;
}

const setting = (raw: Raw | undefined, label: string): Setting | undefined => (raw === undefined ? undefined : { raw, label });

/** Each setting from the first source that has it: flags, then environment, then config file. */
function settings(flags: Flags, env: NodeJS.ProcessEnv): Map<string, Setting> {
  const fromFlags = fromSource(
    (name) => setting(flags[name], `--${name}`),
    // A Web3Signer flag of the same name as ours (--network) is ours.
    (name) => (name in SERVE_OPTIONS ? undefined : setting(flags[name], `--${name}`)),
  );
  const fromEnv = fromSource(
    (name) => setting(env[envName(name)], envName(name)),
    (name) => setting(env[web3signerEnvName(name)], web3signerEnvName(name)),
  );
  const configPath = fromFlags.get("config") ?? fromEnv.get("config");
  const merged = new Map([...fromEnv, ...fromFlags]);
  if (configPath === undefined) return merged;
  const path = String(configPath.raw);
  const file = readConfigFile(path);
  const fromFile = fromSource(
    (name) => setting(file.get(name), `${name} in config file ${path}`),
    (name) => setting(file.get(web3signerFileKey(name)), `${web3signerFileKey(name)} in config file ${path}`),
  );
  return new Map([...fromFile, ...merged]);
}

/**
 * The network `serve` would run for, from the same sources loadConfig reads: the CLI entry point
 * needs it before anything imports @lodestar/* (signing/preset.ts).
 */
export function networkSetting(flags: Flags, env: NodeJS.ProcessEnv = process.env): string {
  const network = settings(flags, env).get("network");
  return network === undefined ? SERVE_OPTIONS.network.default : String(network.raw);
}

/**
 * Web3Signer's default, `localhost,127.0.0.1`, plus the address listened on: a page that a
 * browser loaded from any other name (DNS rebinding) cannot reach the signing API. The wildcard
 * addresses are no name a client uses.
 */
/** A comma-separated allowlist as given, or the default for a listener bound to `host`. */
function hostList(given: unknown, host: string): string[] {
  return typeof given === "string" ? given.split(",").map((h) => h.trim().toLowerCase()).filter(Boolean) : defaultHostAllowlist(host);
}

function defaultHostAllowlist(host: string): string[] {
  const hosts = ["localhost", "127.0.0.1"];
  const bound = host.toLowerCase();
  if (bound !== "0.0.0.0" && bound !== "::" && !hosts.includes(bound)) hosts.push(bound);
  return hosts;
}

/** Merges flags (already parsed by the CLI), environment and config file into one validated Config. */
export function loadConfig(flags: Flags, env: NodeJS.ProcessEnv = process.env): Config {
  const given = settings(flags, env);
  const merged: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SERVE_OPTIONS) as [OptionName, OptionSpec][]) {
    if (name === "config") continue;
    const from = given.get(name);
    let value = from === undefined ? spec.default : coerce(spec, from);
    // Paths are made absolute once, so that nothing later depends on the working directory.
    if (typeof value === "string" && (spec.placeholder === "DIR" || spec.placeholder === "FILE")) value = resolve(value);
    if (value !== undefined) merged[camel(name)] = value;
  }
  for (const key of ["startupFloorEpochs", "clockSkewSlots"] as const) {
    const v = merged[key];
    if (typeof v === "string" && /^[0-9]+$/.test(v)) merged[key] = Number(v);
  }
  // Web3Signer's booleans are written =true / =false, so the flag takes a value like theirs.
  if (merged.metricsEnabled === "true" || merged.metricsEnabled === "false") merged.metricsEnabled = merged.metricsEnabled === "true";
  if (merged.metricsEnabled === true && merged.metricsPort === undefined) merged.metricsPort = WEB3SIGNER_METRICS_PORT;
  if (typeof merged.metricsCategory === "string") {
    const categories = merged.metricsCategory.split(",").map((c) => c.trim().toUpperCase()).filter(Boolean);
    const unknown = categories.find((c) => !(METRIC_CATEGORIES as readonly string[]).includes(c));
    if (unknown !== undefined) throw new ConfigError("INVALID_CONFIG", `--metrics-category: unknown category ${unknown}; Web3Signer's are ${METRIC_CATEGORIES.join(", ")}`);
    merged.metricsCategory = categories;
  }
  merged.hostAllowlist = hostList(merged.hostAllowlist, String(merged.host));
  merged.metricsHostAllowlist = hostList(merged.metricsHostAllowlist, String(merged.metricsHost));
  const errors = [...Value.Errors(ConfigSchema, merged)];
  if (errors.length > 0) {
    const e = errors[0]!;
    const flag = e.path.replace(/^\//, "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new ConfigError("INVALID_CONFIG", `--${flag}: ${e.message} (got ${JSON.stringify(e.value)})`);
  }
  const config = merged as Config;
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new ConfigError("INVALID_CONFIG", "--tls-cert and --tls-key go together");
  }
  if (config.tlsClientCa && !config.tlsCert) {
    throw new ConfigError("INVALID_CONFIG", "--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (config.gramineEncryptedFsKey) {
    // The master key keys the mount, so it cannot be kept inside it.
    if (config.platform !== "gramine-sgx") throw new ConfigError("INVALID_CONFIG", "--gramine-encrypted-fs-key needs --platform gramine-sgx");
    const rel = config.stateKeyFile ? relative(config.dataDir, config.stateKeyFile) : "";
    if (!rel || (!rel.startsWith("..") && !isAbsolute(rel))) {
      throw new ConfigError("INVALID_CONFIG", "--gramine-encrypted-fs-key needs --state-key-file outside --data-dir (the encrypted mount)");
    }
  }
  const simulated = config.simulatedSgxCpuSecretFile !== undefined || config.simulatedSgxMrenclave !== undefined;
  if (config.platform === "simulated-sgx" && (!config.simulatedSgxCpuSecretFile || !config.simulatedSgxMrenclave)) {
    throw new ConfigError("INVALID_CONFIG", "--platform simulated-sgx needs --simulated-sgx-cpu-secret-file and --simulated-sgx-mrenclave");
  }
  if (simulated && config.platform !== "simulated-sgx") throw new ConfigError("INVALID_CONFIG", "--simulated-sgx-* settings need --platform simulated-sgx");
  // The dev platform's evidence measures nothing, so no allowlist could tell its builds apart.
  if (config.releaseKey && config.platform === "dev") {
    throw new ConfigError("INVALID_CONFIG", "--release-key needs a platform with measured builds (gramine-sgx, tsm): dev evidence has no measurement to allowlist");
  }
  if (config.migrateFrom && (!config.migrationAllowlist || !config.migrationTokenFile || !config.releaseKey)) {
    throw new ConfigError("INVALID_CONFIG", "--migrate-from needs --migration-allowlist, --migration-token-file and --release-key");
  }
  const migrationSetting = (["migrationAllowlist", "migrationTokenFile", "migrationCa", "migrationCollateral"] as const).find((k) => config[k] !== undefined);
  if (migrationSetting && !config.migrateFrom) {
    throw new ConfigError("INVALID_CONFIG", `--${migrationSetting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is a setting of --migrate-from, which is not given`);
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError("INVALID_CONFIG", "--headers-timeout-ms must not exceed --request-timeout-ms (the request's time includes its headers)");
  }
  if (config.metricsEnabled === false && config.metricsPort !== undefined) {
    throw new ConfigError("INVALID_CONFIG", "--metrics-enabled=false serves no metrics: drop it or --metrics-port");
  }
  if (Boolean(config.apiTokenRecipient) !== Boolean(config.apiTokenEnvelope)) {
    throw new ConfigError("INVALID_CONFIG", "--api-token-recipient and --api-token-envelope go together");
  }
  if (Boolean(config.keystoresDir) !== Boolean(config.keystoresPasswordsDir)) {
    throw new ConfigError("INVALID_CONFIG", "--keystores-dir and --keystores-passwords-dir go together");
  }
  if (Boolean(config.continuityStore) !== Boolean(config.continuityCa)) {
    throw new ConfigError("INVALID_CONFIG", "--continuity-store and --continuity-ca go together: the store is always reached over TLS verified against that CA");
  }
  return config;
}
