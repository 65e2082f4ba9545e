import { readFile } from "node:fs/promises";
import type { ImportSummary } from "../slashing/store.js";
import { apiTokenFile } from "../config/config.js";
import { InputError } from "../errors.js";
import { normalizePubkeyList } from "../util/hex.js";
import { formatFlags, parseFlags } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";
import { DATA_FLAGS, dataDirOf, withSlashingFor, writeJsonOutput } from "./common.js";

const FLAGS = {
  ...DATA_FLAGS,
  "genesis-validators-root": { kind: "string", placeholder: "HEX", description: "the chain's genesis_validators_root, for networks given as a config file (export default: the network's, else the one the database is bound to)" },
  pubkeys: { kind: "string", placeholder: "HEX,…", description: "export: only these keys (default: every key on record)" },
  out: { kind: "string", placeholder: "FILE", description: "export: write here instead of standard output" },
  url: { kind: "string", placeholder: "URL", description: "import or export through the running signer at URL (its keymanager API)" },
  "token-file": { kind: "string", placeholder: "FILE", description: "with --url: the API token file (default: <data-dir>/api-token.txt)" },
} as const;

const USAGE = [
  "Usage: secure-signer slashing-protection <import FILE | export | prune | init> [options]",
  "",
  "Works on the signer's slashing-protection database while the signer is stopped (SQLite), at any",
  "time on a shared PostgreSQL database, or through the running signer with --url (import and export).",
  "EIP-3076 interchange format version 5.",
  "  import FILE   merge an interchange file; the whole file is checked first, nothing changes on error",
  "  export        write the complete interchange of what is on record",
  "  prune         delete records below the watermarks that no check needs any more",
  "  init          make the database there now (or a new empty one if it is missing or emptied) the",
  "                data directory's record; serve refuses a missing, emptied or different database",
  "                until this or an import: run it only when the keys signed nothing it lacks",
  "",
  "Options:",
  formatFlags(FLAGS),
].join("\n");


/** Calls the running signer's /eth/v1/slashing-protection route with the API token. */
async function throughSigner(values: Record<string, unknown>, method: "GET" | "POST", query: string, body?: unknown): Promise<unknown> {
  const tokenFile = (values["token-file"] as string | undefined) ?? apiTokenFile(dataDirOf(values));
  let token: string;
  try {
    token = (await readFile(tokenFile, "utf8")).trim();
  } catch (e) {
    throw new InputError("INVALID_INPUT", `cannot read the API token ${tokenFile}: ${(e as Error).message} (use --token-file)`);
  }
  const url = new URL(`/eth/v1/slashing-protection${query}`, values.url as string);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new InputError("INVALID_INPUT", `cannot reach the signer at ${url.origin}: ${(e as Error).message}`);
  }
  const answer = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new InputError("INVALID_INPUT", `the signer refused (${res.status}): ${answer.message ?? res.statusText}`);
  return answer;
}

export const slashingProtectionCommand: Command = {
  name: "slashing-protection",
  summary: "import, export or prune EIP-3076 slashing-protection data",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    const [action, file, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError("USAGE", `unexpected argument "${extra[0]}"`);
    if (action === "import") {
      if (!file) throw new UsageError("USAGE", "import needs the interchange FILE");
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, "utf8"));
      } catch (e) {
        throw new InputError("INVALID_INPUT", `${file}: ${(e as Error).message}`);
      }
      let summary: ImportSummary;
      if (values.url) {
        summary = ((await throughSigner(values, "POST", "", json)) as { data: ImportSummary }).data;
      } else {
        summary = await withSlashingFor(values, "restore", (store) => store.importInterchange(json));
      }
      console.log(
        `imported ${file}: ${summary.keys} keys, ${summary.blocks} blocks and ${summary.attestations} attestations added, ${summary.skipped} kept as watermarks only`,
      );
      return 0;
    }
    if (action === "export") {
      if (file) throw new UsageError("USAGE", `unexpected argument "${file}" (use --out FILE)`);
      const pubkeys = values.pubkeys === undefined ? undefined : normalizePubkeyList(values.pubkeys as string);
      let interchange: unknown;
      if (values.url) {
        interchange = await throughSigner(values, "GET", pubkeys ? `?pubkeys=${pubkeys.join(",")}` : "");
      } else {
        // Without a root (a network the signer has none for), the chain the database is bound to.
        interchange = await withSlashingFor(values, "read", (store, gvr) => store.exportInterchange(gvr, pubkeys));
      }
      await writeJsonOutput(values, interchange, 0o600);
      return 0;
    }
    if (action === "init") {
      if (file) throw new UsageError("USAGE", `unexpected argument "${file}"`);
      const identity = await withSlashingFor(values, "adopt", async (store) => store.identity);
      console.log(
        identity.created
          ? `started an empty slashing database (id ${identity.id}); the data directory now records it`
          : `the data directory now records the slashing database there (id ${identity.id}) as its own, with the history it holds`,
      );
      return 0;
    }
    if (action === "prune") {
      if (file) throw new UsageError("USAGE", `unexpected argument "${file}"`);
      const pruned = await withSlashingFor(values, "read", (store) => store.prune());
      console.log(`pruned ${pruned.blocks} blocks and ${pruned.attestations} attestations; watermarks kept`);
      return 0;
    }
    throw new UsageError("USAGE", action ? `unknown action "${action}"` : "missing action: import, export, prune or init");
  },
};
