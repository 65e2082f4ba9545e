import { startSigner, type RunningSigner } from "../app.js";
import { loadConfig, SERVE_OPTIONS, type Flags } from "../config/config.js";
import { WEB3SIGNER_FLAGS } from "../config/web3signer.js";
import { bufferedStdout, createLogger } from "../log.js";
import { formatFlags, parseFlags } from "./args.js";
import { UsageError } from "./errors.js";
import type { Command } from "./command.js";
import { takeHeldSighup } from "./sighup.js";

export const serveCommand: Command = {
  name: "serve",
  summary: "run the signer: Web3Signer eth2 signing API, keymanager API, health and metrics",
  usage: [
    "Usage: secure-signer serve [options]",
    "",
    "Options (each also as environment variable SECURE_SIGNER_<NAME>, e.g. SECURE_SIGNER_DATA_DIR,",
    "or as a key of the --config YAML or JSON file; a flag beats the environment, which beats the file):",
    formatFlags(SERVE_OPTIONS),
    "",
    "Web3Signer's names for the same settings (also WEB3SIGNER_<NAME> and WEB3SIGNER_ETH2_<NAME>, and",
    "eth2.<name> in the config file, as Web3Signer reads them; docs/migration.md maps the others):",
    formatFlags(WEB3SIGNER_FLAGS),
  ].join("\n"),
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...SERVE_OPTIONS, ...WEB3SIGNER_FLAGS });
    if (positionals.length > 0) throw new UsageError("USAGE", `unexpected argument "${positionals[0]}"`);
    const config = loadConfig(values as Flags);
    const logger = createLogger(config.logLevel, bufferedStdout());

    // The daemon convention: SIGHUP re-reads the configuration, here the keystore directory (as
    // POST /reload). Listened for before start-up, which can spend minutes decrypting keystores,
    // because Node's default for SIGHUP is to exit: one received meanwhile reloads once started,
    // as does one main.ts held while the modules loaded.
    let signer: RunningSigner | undefined;
    let reloadOnceStarted = false;
    const reload = () => {
      logger.info({ signal: "SIGHUP" }, "reloading keystores");
      if (signer) void signer.reload();
      else reloadOnceStarted = true;
    };
    process.on("SIGHUP", reload);
    if (takeHeldSighup()) reload();
    // Past a file-size limit (ulimit -f) the kernel sends SIGXFSZ, whose default ends the process:
    // ignored, the write fails instead, the request gets 503 and /healthcheck says DOWN.
    process.on("SIGXFSZ", () => undefined);
    try {
      signer = await startSigner(config, logger);
    } catch (e) {
      process.off("SIGHUP", reload);
      throw e;
    }
    if (reloadOnceStarted) void signer.reload();
    const started = signer;

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.off("SIGHUP", reload);
      logger.info({ signal }, "shutting down: finishing in-flight requests");
      // The server closes connections still busy after --shutdown-timeout-ms; the rest (a reload's
      // decryption, the database's last commit) gets as long again. Past that the process exits
      // anyway: what is unfinished then is as after a SIGKILL, which the slashing record survives.
      const deadline = setTimeout(() => {
        logger.error({ signal, shutdownTimeoutMs: config.shutdownTimeoutMs }, "shutdown did not finish in time: exiting now");
        process.exit(1);
      }, 2 * config.shutdownTimeoutMs + 1000);
      deadline.unref();
      await started.close();
      clearTimeout(deadline);
      logger.info("stopped");
    };
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => void stop("SIGINT").then(resolve));
      process.once("SIGTERM", () => void stop("SIGTERM").then(resolve));
    });
    return 0;
  },
};

