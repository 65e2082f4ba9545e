/**
 * Web3Signer's names for the `serve` settings whose meaning is the same here, so that an operator
 * can bring a Web3Signer command line, environment or config file across. Each is read where
 * Web3Signer reads it: `--name` on the command line, WEB3SIGNER_NAME in the environment, `name` in
 * the config file, with `eth2.`/`ETH2_` in front for the options of Web3Signer's `eth2` subcommand.
 * docs/migration.md lists Web3Signer's flags, these and the ones that have no equivalent here.
 */
import { ConfigError } from "./errors.js";

export interface Web3SignerName {
  /** The setting here (a SERVE_OPTIONS name) it stands for. */
  option: string;
  /** An option of Web3Signer's `eth2` subcommand rather than a global one. */
  eth2: boolean;
  placeholder: string;
  description: string;
}

export const WEB3SIGNER_NAMES = {
  network: { placeholder: "NAME|FILE", option: "network", eth2: true, description: "--network (the same flag)" },
  "config-file": { placeholder: "FILE", option: "config", eth2: false, description: "--config" },
  "http-listen-host": { placeholder: "ADDR", option: "host", eth2: false, description: "--host" },
  "http-listen-port": { placeholder: "N", option: "port", eth2: false, description: "--port" },
  "metrics-enabled": { placeholder: "true|false", option: "metrics-enabled", eth2: false, description: "--metrics-enabled (the same flag)" },
  "metrics-category": { placeholder: "CATEGORIES", option: "metrics-category", eth2: false, description: "--metrics-category (the same flag)" },
  "http-host-allowlist": { placeholder: "HOSTS", option: "host-allowlist", eth2: false, description: "--host-allowlist" },
  logging: { placeholder: "LEVEL", option: "log-level", eth2: false, description: "--log-level (OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE, ALL; any case)" },
  "keystores-path": { placeholder: "DIR", option: "keystores-dir", eth2: true, description: "--keystores-dir" },
  "keystores-passwords-path": { placeholder: "DIR", option: "keystores-passwords-dir", eth2: true, description: "--keystores-passwords-dir" },
  "slashing-protection-db-url": { placeholder: "JDBC_URL", option: "slashing-db", eth2: true, description: "--slashing-db (jdbc:postgresql://HOST[:PORT]/DB becomes postgres://…)" },
  "slashing-protection-db-username": { placeholder: "USER", option: "slashing-db", eth2: true, description: "the user in --slashing-db" },
  "slashing-protection-db-password": { placeholder: "PASSWORD", option: "slashing-db", eth2: true, description: "the password in --slashing-db" },
  "slashing-protection-pruning-enabled": { placeholder: "true|false", option: "prune-interval-minutes", eth2: true, description: "=false: --prune-interval-minutes 0" },
  "slashing-protection-pruning-interval": { placeholder: "HOURS", option: "prune-interval-minutes", eth2: true, description: "hours: --prune-interval-minutes HOURS×60" },
} satisfies Record<string, Web3SignerName>;

export type Web3SignerFlag = keyof typeof WEB3SIGNER_NAMES;

/**
 * Web3Signer's names that are not ours, as flags for the parsers and `serve --help`. Each takes a
 * value, as Web3Signer's `--name=value` does (booleans included: `=true`, `=false`).
 */
export const WEB3SIGNER_FLAGS: Record<string, { kind: "string"; placeholder: string; description: string }> = Object.fromEntries(
  Object.entries(WEB3SIGNER_NAMES)
    .filter(([name, { option }]) => name !== option)
    .map(([name, { placeholder, description }]) => [name, { kind: "string", placeholder, description }]),
);

export const web3signerEnvName = (name: Web3SignerFlag): string =>
  `WEB3SIGNER_${WEB3SIGNER_NAMES[name].eth2 ? "ETH2_" : ""}${name.toUpperCase().replace(/-/g, "_")}`;
export const web3signerFileKey = (name: Web3SignerFlag): string => (WEB3SIGNER_NAMES[name].eth2 ? `eth2.${name}` : name);

/** One value as a source gave it, with where it came from for messages ("--port", "SECURE_SIGNER_PORT" …). */
export interface Given {
  raw: string;
  label: string;
}

const LOG_LEVELS: Record<string, string> = {
  off: "silent",
  fatal: "fatal",
  error: "error",
  warn: "warn",
  info: "info",
  debug: "debug",
  trace: "trace",
  all: "trace",
};

/**
 * The settings, by our names, that the Web3Signer names of one source (the flags, the
 * environment or the config file) give: `get` returns what that source says for a Web3Signer name.
 */
export function fromWeb3Signer(get: (name: Web3SignerFlag) => Given | undefined): Map<string, Given> {
  const out = new Map<string, Given>();
  const set = (option: string, raw: string, label: string) => {
    const other = out.get(option);
    if (other !== undefined && other.raw !== raw) {
      throw new ConfigError("INVALID_CONFIG", `${label} contradicts ${other.label}`);
    }
    out.set(option, { raw, label });
  };
  for (const name of ["network", "metrics-enabled", "metrics-category", "config-file", "http-listen-host", "http-listen-port", "http-host-allowlist", "keystores-path", "keystores-passwords-path"] as const) {
    const given = get(name);
    if (given) set(WEB3SIGNER_NAMES[name].option, given.raw, given.label);
  }
  const logging = get("logging");
  if (logging) {
    const level = LOG_LEVELS[logging.raw.toLowerCase()];
    if (level === undefined) throw new ConfigError("INVALID_CONFIG", `${logging.label} must be one of ${Object.keys(LOG_LEVELS).join(", ").toUpperCase()}, got ${logging.raw}`);
    set("log-level", level, logging.label);
  }
  const db = slashingDb(get);
  if (db) set("slashing-db", db.raw, db.label);
  const enabled = get("slashing-protection-pruning-enabled");
  if (enabled && !["true", "false"].includes(enabled.raw)) throw new ConfigError("INVALID_CONFIG", `${enabled.label} must be true or false, got ${enabled.raw}`);
  const interval = get("slashing-protection-pruning-interval");
  // Pruning here deletes only what no check needs, so it is on unless Web3Signer's was turned off.
  if (enabled?.raw === "false") set("prune-interval-minutes", "0", enabled.label);
  else if (interval) {
    const hours = Number(interval.raw);
    if (!Number.isInteger(hours) || hours < 1) throw new ConfigError("INVALID_CONFIG", `${interval.label} must be a whole number of hours, got ${interval.raw}`);
    set("prune-interval-minutes", String(hours * 60), interval.label);
  }
  return out;
}

/** Web3Signer's JDBC URL with its separate user and password, as the postgres:// URL node-postgres takes. */
function slashingDb(get: (name: Web3SignerFlag) => Given | undefined): Given | undefined {
  const url = get("slashing-protection-db-url");
  const user = get("slashing-protection-db-username");
  const password = get("slashing-protection-db-password");
  if (!url) {
    const orphan = user ?? password;
    if (orphan) throw new ConfigError("INVALID_CONFIG", `${orphan.label} needs the database URL beside it (slashing-protection-db-url)`);
    return undefined;
  }
  const match = /^jdbc:postgresql:\/\/([^/?#]*)(\/[^?#]*)?(\?.*)?$/.exec(url.raw);
  if (!match) throw new ConfigError("INVALID_CONFIG", `${url.label} must be jdbc:postgresql://HOST[:PORT]/DATABASE, got ${url.raw}`);
  const [, authority, path = "", query = ""] = match;
  if (authority!.includes("@")) throw new ConfigError("INVALID_CONFIG", `${url.label}: give the user and password with slashing-protection-db-username and -password`);
  const credentials = user ? `${encodeURIComponent(user.raw)}${password ? `:${encodeURIComponent(password.raw)}` : ""}@` : "";
  if (password && !user) throw new ConfigError("INVALID_CONFIG", `${password.label} needs slashing-protection-db-username`);
  return { raw: `postgres://${credentials}${authority}${path}${query}`, label: url.label };
}
