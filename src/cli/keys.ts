import { readFile } from "node:fs/promises";
import { LocalSigningKeys } from "../bls/localKeys.js";
import { loadConfig, SERVE_OPTIONS, type Config, type OptionName } from "../config/config.js";
import { InputError } from "../errors.js";
import { DataDirLock } from "../keys/dataDirLock.js";
import { createDepositData, type WithdrawalType } from "../keys/depositData.js";
import { createVoluntaryExit } from "../keys/exit.js";
import { KEYGEN_RECOVERY, generateKeys } from "../keys/keygen.js";
import { importKeystoreDirToSealed, importRequestFromDir } from "../keys/lifecycle.js";
import { keyNetwork } from "../keys/network.js";
import { KeyRegistry } from "../keys/registry.js";
import { SealedKeyStore } from "../keys/sealedStore.js";
import { encryptImportRequest, TransportKey } from "../keys/transport.js";
import { unattestedWarning } from "../tee/index.js";
import { platformFor } from "../tee/fromConfig.js";
import { verifiedTransportKey, verifyEvidenceFile } from "../tee/verify/index.js";
import type { Platform } from "../tee/platform.js";
import { normalizePubkey, normalizePubkeyList } from "../util/hex.js";
import { formatFlags, parseFlags, type FlagSpec } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";
import { writeJsonOutput } from "./common.js";
import { EVIDENCE_FLAGS, evidenceOptions } from "./verifyEvidence.js";
import { terminalProgress } from "../util/progress.js";

/** The serve settings that say where the sealed keys are and which platform unseals them. */
export const PLATFORM_FLAGS = Object.fromEntries(
  (
    [
      "data-dir", "platform", "require-attested", "gramine-attestation-dir", "gramine-sealing-key", "tsm-report-dir", "tsm-sealing-key-file",
      "simulated-sgx-cpu-secret-file", "simulated-sgx-mrenclave", "network", "genesis-validators-root", "genesis-time", "config",
    ] as const
  ).map((name) => [name, SERVE_OPTIONS[name]]),
) as Record<string, FlagSpec>;

/** Read by import and encrypt-for-signer with the serve setting's name, default and bounds. */
const KDF_FLAG = "max-keystore-kdf-cost";

const FLAGS = {
  ...PLATFORM_FLAGS,
  [KDF_FLAG]: { ...SERVE_OPTIONS[KDF_FLAG], description: `import, encrypt-for-signer: ${SERVE_OPTIONS[KDF_FLAG].description}` },
  count: { kind: "number", placeholder: "N", description: "generate: how many keys (default 1)" },
  "passwords-dir": { kind: "string", placeholder: "DIR", description: "import, encrypt-for-signer: NAME.txt password of each NAME.json keystore" },
  "keystores-dir": { kind: "string", placeholder: "DIR", description: "encrypt-for-signer: the keystores to encrypt" },
  ...EVIDENCE_FLAGS,
  evidence: { kind: "string", placeholder: "FILE", description: "encrypt-for-signer: the signer's evidence; encrypts only to the transport key it verifiably binds (verify-evidence flags apply)" },
  "signer-key": { kind: "string", placeholder: "HEX", description: "encrypt-for-signer: the signer's transport public key; with --evidence it must be the one bound" },
  "insecure-unverified-signer-key": { kind: "boolean", description: "encrypt-for-signer: encrypt to --signer-key without evidence (anyone who swaps the key gets the keystores)" },
  "slashing-protection": { kind: "string", placeholder: "FILE", description: "encrypt-for-signer: EIP-3076 file to import with the keys" },
  "withdrawal-address": { kind: "string", placeholder: "ADDR", description: "deposit-data, generate: execution address for the withdrawal credentials" },
  "withdrawal-type": { kind: "string", placeholder: "0x01|0x02", description: "deposit-data: 0x01 (default) or 0x02 (compounding)" },
  "amount-gwei": { kind: "number", placeholder: "GWEI", description: "deposit-data: deposit amount (default 32 ETH)" },
  pubkeys: { kind: "string", placeholder: "HEX,…", description: "deposit-data: only these keys (default: every sealed key)" },
  "validator-index": { kind: "number", placeholder: "N", description: "exit: the validator's index" },
  epoch: { kind: "number", placeholder: "N", description: "exit: earliest epoch the exit is valid at" },
  out: { kind: "string", placeholder: "FILE", description: "write the JSON output here instead of standard output" },
} as Record<string, FlagSpec>;

const USAGE = [
  "Usage: secure-signer keys <action> [arguments] [options]",
  "",
  "Manages the keys sealed in the data directory. A running signer loads sealed keys at start:",
  "restart it after an offline import, or use the keymanager API (/eth/v1/keystores) instead.",
  "delete refuses while a signer runs on the data directory: it would go on signing with the key.",
  "  generate [--count N]                 generate keys inside the signer; prints only public keys (no export exists: see stderr)",
  "  generate --withdrawal-address ADDR [--withdrawal-type 0x01|0x02] [--amount-gwei N]",
  "                                       and sign each deposit inside first: prints the deposit data JSON",
  "  import DIR --passwords-dir DIR       seal EIP-2335 keystores NAME.json (passwords NAME.txt)",
  "  list                                 list sealed public keys",
  "  delete PUBKEY…                       delete sealed keys (their slashing records are kept)",
  "  transport-key                        print the signer's transport public key",
  "  encrypt-for-signer --evidence FILE --expected-measurement HEX --collateral FILE --keystores-dir DIR --passwords-dir DIR",
  "                     [--slashing-protection FILE] [other verify-evidence flags]",
  "                                       on another machine: encrypt a keymanager import to the attested signer",
  "  deposit-data --withdrawal-address ADDR [--withdrawal-type 0x01|0x02] [--amount-gwei N] [--pubkeys …]",
  "                                       deposit data JSON as staking-deposit-cli writes it",
  "  exit PUBKEY --validator-index N --epoch N",
  "                                       a signed voluntary exit for the beacon API",
  "",
  "Options:",
  formatFlags(FLAGS),
].join("\n");

export function platformConfig(values: Record<string, unknown>): Config {
  const picked = Object.fromEntries([...Object.keys(PLATFORM_FLAGS), KDF_FLAG].filter((k) => values[k] !== undefined).map((k) => [k, values[k]]));
  return loadConfig(picked as Partial<Record<OptionName, string | boolean>>);
}

/**
 * Runs `use` on the platform the flags name and closes it after, however `use` ends: on tsm that
 * removes the configfs report entry, which would otherwise stay until reboot.
 */
export async function withPlatform<T>(config: Config, use: (platform: Platform) => Promise<T>): Promise<T> {
  const platform = await platformFor(config);
  try {
    if (!platform.attested) console.error(`warning: ${unattestedWarning(platform.name)}`);
    return await use(platform);
  } finally {
    await platform.close?.();
  }
}

function integer(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError("USAGE", `--${name} must be a non-negative integer, got ${String(raw)}`);
  return n;
}

/** Runs `use` on the data directory's sealed-key store, on the platform the flags name. */
function withSealedStore<T>(config: Config, use: (store: SealedKeyStore) => Promise<T>): Promise<T> {
  return withPlatform(config, async (platform) => use(await SealedKeyStore.open(platform, config.dataDir)));
}

/** Loads every sealed key into a LocalSigningKeys for one-off signatures (deposits, exits). */
function unsealAll(config: Config): Promise<{ keys: LocalSigningKeys; pubkeys: string[] }> {
  return withSealedStore(config, async (store) => {
    const keys = new LocalSigningKeys();
    const { pubkeys, errors } = await new KeyRegistry(keys, store).loadSealed();
    for (const { file, message } of errors) console.error(`warning: ${file}: ${message}`);
    return { keys, pubkeys };
  });
}

function withdrawalTypeOf(values: Record<string, unknown>): WithdrawalType {
  const type = (values["withdrawal-type"] as string | undefined) ?? "0x01";
  if (type !== "0x01" && type !== "0x02") throw new UsageError("USAGE", "--withdrawal-type is 0x01 or 0x02");
  return type;
}

const ACTIONS: Record<string, (values: Record<string, unknown>, args: string[]) => Promise<number>> = {
  async generate(values, args) {
    if (args.length > 0) throw new UsageError("USAGE", `unexpected argument "${args[0]}"`);
    const count = integer(values, "count") ?? 1;
    const config = platformConfig(values);
    // With a withdrawal address, each deposit is signed before its key is sealed and is stated in its evidence.
    const deposit = values["withdrawal-address"]
      ? {
          withdrawalType: withdrawalTypeOf(values),
          withdrawalAddress: values["withdrawal-address"] as string,
          ...(integer(values, "amount-gwei") !== undefined && { amountGwei: integer(values, "amount-gwei")! }),
          network: keyNetwork(config.network, config),
        }
      : undefined;
    const generated = await withSealedStore(config, (store) => generateKeys(count, { sealedStore: store, ...(deposit && { deposit }) }));
    if (deposit) await writeJsonOutput(values, generated.map((g) => g.depositData));
    else for (const { pubkey } of generated) console.log(pubkey);
    process.stderr.write(`recovery: ${KEYGEN_RECOVERY}\n`);
    return 0;
  },
  async import(values, args) {
    const [dir, ...extra] = args;
    if (!dir || extra.length > 0) throw new UsageError("USAGE", "import takes one keystore DIR");
    if (!values["passwords-dir"]) throw new UsageError("USAGE", "import needs --passwords-dir");
    const config = platformConfig(values);
    const result = await withSealedStore(config, (store) =>
      importKeystoreDirToSealed(dir, values["passwords-dir"] as string, store, { maxKdfCost: config.maxKeystoreKdfCost, onProgress: terminalProgress(process.stderr, "decrypting", () => undefined) }),
    );
    for (const pubkey of result.imported) console.log(`imported ${pubkey}`);
    for (const pubkey of result.existing) console.log(`already sealed ${pubkey}`);
    for (const { message } of result.errors) console.error(`error: ${message}`);
    console.log(`${result.imported.length} imported, ${result.existing.length} already present, ${result.errors.length} failed`);
    return result.errors.length === 0 ? 0 : 1;
  },
  async list(values, args) {
    if (args.length > 0) throw new UsageError("USAGE", `unexpected argument "${args[0]}"`);
    for (const pubkey of await withSealedStore(platformConfig(values), (store) => store.list())) console.log(pubkey);
    return 0;
  },
  async delete(values, args) {
    if (args.length === 0) throw new UsageError("USAGE", "delete needs at least one PUBKEY");
    const pubkeys = args.map(normalizePubkey);
    const config = platformConfig(values);
    // A running signer keeps signing with the keys it loaded: deleting their files would only
    // make it look deleted. Its keymanager API deletes a key for real, and exports its records.
    const lock = DataDirLock.acquire(config.dataDir, "delete keys through its keymanager API (DELETE /eth/v1/keystores), or stop it first");
    const missing = await withSealedStore(config, async (store) => {
      let notFound = 0;
      for (const pubkey of pubkeys) {
        if (await store.delete(pubkey)) console.log(`deleted ${pubkey}`);
        else {
          console.error(`not found ${pubkey}`);
          notFound++;
        }
      }
      return notFound;
    }).finally(() => lock.release());
    return missing === 0 ? 0 : 1;
  },
  async "transport-key"(values, args) {
    if (args.length > 0) throw new UsageError("USAGE", `unexpected argument "${args[0]}"`);
    const config = platformConfig(values);
    console.log(await withPlatform(config, async (platform) => (await TransportKey.open(platform, config.dataDir)).publicKeyHex));
    return 0;
  },
  async "encrypt-for-signer"(values, args) {
    if (args.length > 0) throw new UsageError("USAGE", `unexpected argument "${args[0]}"`);
    for (const flag of ["keystores-dir", "passwords-dir"]) {
      if (!values[flag]) throw new UsageError("USAGE", `encrypt-for-signer needs --${flag}`);
    }
    const claimed = values["signer-key"] as string | undefined;
    let signerKey: Uint8Array | string;
    if (values.evidence) {
      // A key swapped in transit would receive the keystores and their passwords: only evidence that
      // verifies, against the caller's expectations, says which key the attested signer holds.
      const { result, text } = await verifyEvidenceFile(values.evidence as string, evidenceOptions(values));
      if (!result.ok) console.error(text);
      signerKey = verifiedTransportKey(result, claimed);
    } else if (claimed && values["insecure-unverified-signer-key"]) {
      signerKey = claimed;
    } else {
      throw new UsageError("USAGE", "encrypt-for-signer needs --evidence FILE (or --signer-key HEX with --insecure-unverified-signer-key)");
    }
    const slashing = values["slashing-protection"] ? await readFile(values["slashing-protection"] as string, "utf8") : undefined;
    const { maxKeystoreKdfCost } = platformConfig(values);
    const { request, files, errors } = await importRequestFromDir(values["keystores-dir"] as string, values["passwords-dir"] as string, maxKeystoreKdfCost, slashing);
    for (const { message } of errors) console.error(`error: ${message}`);
    if (errors.length > 0) return 1;
    await writeJsonOutput(values, encryptImportRequest(signerKey, request));
    console.error(`encrypted ${files.length} keystores for the signer: POST the output to /eth/v1/keystores`);
    return 0;
  },
  async "deposit-data"(values, args) {
    if (args.length > 0) throw new UsageError("USAGE", `unexpected argument "${args[0]}"`);
    if (!values["withdrawal-address"]) throw new UsageError("USAGE", "deposit-data needs --withdrawal-address");
    const withdrawalType = withdrawalTypeOf(values);
    const config = platformConfig(values);
    const network = keyNetwork(config.network, config);
    const { keys, pubkeys } = await unsealAll(config);
    const wanted = values.pubkeys ? normalizePubkeyList(values.pubkeys as string) : pubkeys;
    if (wanted.length === 0) throw new InputError("INVALID_INPUT", "no sealed keys: generate or import keys first");
    const amountGwei = integer(values, "amount-gwei");
    const deposits = [];
    for (const pubkey of wanted) {
      deposits.push(
        await createDepositData({
          keys,
          pubkey,
          withdrawalType,
          withdrawalAddress: values["withdrawal-address"] as string,
          ...(amountGwei !== undefined && { amountGwei }),
          network,
        }),
      );
    }
    await keys.close();
    await writeJsonOutput(values, deposits);
    return 0;
  },
  async exit(values, args) {
    const [pubkey, ...extra] = args;
    if (!pubkey || extra.length > 0) throw new UsageError("USAGE", "exit takes one PUBKEY");
    const validatorIndex = integer(values, "validator-index");
    const epoch = integer(values, "epoch");
    if (validatorIndex === undefined || epoch === undefined) throw new UsageError("USAGE", "exit needs --validator-index and --epoch");
    const config = platformConfig(values);
    const network = keyNetwork(config.network, config);
    const { keys } = await unsealAll(config);
    const exit = await createVoluntaryExit({ keys, pubkey, validatorIndex, epoch, network });
    await keys.close();
    await writeJsonOutput(values, exit);
    return 0;
  },
};

export const keysCommand: Command = {
  name: "keys",
  summary: "generate, import, list and delete sealed keys; deposit data, exits, encrypted imports",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS);
    const [action, ...args] = positionals;
    const run = action ? ACTIONS[action] : undefined;
    if (!run) throw new UsageError("USAGE", action ? `unknown action "${action}"` : "missing action");
    return run(values, args);
  },
};
