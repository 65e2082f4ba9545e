import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { isAbsolute, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { SLOTS_PER_EPOCH } from "@lodestar/params";
import { diskSpaceCheck, keysHealthCheck, type HealthCheck } from "./api/health.js";
import { openAccess } from "./api/auth.js";
import { Reloads } from "./api/reload.js";
import { deliverApiToken } from "./api/apiTokenEnvelope.js";
import { buildServer } from "./api/server.js";
import { WorkerPoolSigningKeys } from "./bls/pool.js";
import { configuredApiTokenFile, sqliteFile, type Config } from "./config/config.js";
import { DataDirLock } from "./keys/dataDirLock.js";
import { KeyError } from "./keys/errors.js";
import type { KeystoreDirError } from "./keys/keystoreDir.js";
import { KeystoreDirKeys } from "./keys/keystoreDirKeys.js";
import { KeyRegistry } from "./keys/registry.js";
import { SealedKeyStore } from "./keys/sealedStore.js";
import { TransportKey } from "./keys/transport.js";
import { startMetricsListener } from "./api/metrics.js";
import { SignerMetrics, slashingObserver } from "./metrics/metrics.js";
import { useFastestHasher } from "./signing/hasher.js";
import { ConfigError } from "./config/errors.js";
import { requireGenesisTime, requireGenesisValidatorsRoot } from "./config/genesis.js";
import { createNetworkConfig } from "./signing/network.js";
import { SigningService } from "./signing/service.js";
import { openIdentified } from "./slashing/identity.js";
import { chainClock } from "./slashing/clock.js";
import { clockBoundGuard } from "./slashing/clockBound.js";
import { ContinuityGuard } from "./slashing/continuity.js";
import { PostgresContinuityStore } from "./slashing/continuityPostgres.js";
import { startupFloor, startupFloorGuard } from "./slashing/startupFloor.js";
import type { StoreHealth } from "./slashing/store.js";
import type { SignGuard } from "./slashing/guard.js";
import type { NetworkConfig } from "./signing/network.js";
import { platformOptionsFor, stateFor } from "./tee/fromConfig.js";
import { stateKeyFileOf, unattestedWarning } from "./tee/index.js";
import type { StateKey } from "./tee/stateKey.js";
import { migrateStateKey, predecessorAnswers } from "./tee/successor.js";
import { migrationVerifierFor } from "./tee/migrationPeer.js";
import { fromHex } from "./util/hex.js";
import { InstanceIdentity } from "./tee/identity.js";
import { Exclusive } from "./util/exclusive.js";
import { progressSteps, terminalProgress } from "./util/progress.js";

export interface RunningSigner {
  app: FastifyInstance;
  /** The address the server listens on, e.g. http://127.0.0.1:9000. */
  url: string;
  /** With --metrics-port: the address of the metrics listener, e.g. http://127.0.0.1:9001. */
  metricsUrl?: string;
  /** Reloads `--keystores-dir` (as POST /reload does); settles once a reload begun after the call has finished. */
  reload(): Promise<void>;
  close(): Promise<void>;
}


/**
 * The composition root: builds every domain object from the Config, in dependency order, and
 * nothing else constructs them. Closing undoes it in reverse: stop accepting, let in-flight signs
 * finish, then close the slashing database and the BLS workers.
 */
export async function startSigner(config: Config, logger: Logger): Promise<RunningSigner> {
  // What has been opened so far, closed in reverse when start-up fails half way or the signer stops.
  const opened: Array<() => Promise<unknown> | unknown> = [];
  const closeAll = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    return await start(config, logger, opened, closeAll);
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * The state key `serve` runs on. With --migrate-from and no state key file yet, this build is an
 * upgrade's successor: it gets the key from the running predecessor first (as `tee migrate` does),
 * and since it takes over the predecessor's data directory in place, opens it only once the
 * predecessor has stopped. A refused migration ends the start with nothing written: a fresh key
 * would orphan every key sealed under the predecessor's.
 */
async function serveState(config: Config, logger: Logger): Promise<StateKey> {
  const { migrateFrom } = config;
  if (migrateFrom === undefined) return stateFor(config);
  const stateFile = stateKeyFileOf(platformOptionsFor(config));
  if (existsSync(stateFile)) {
    // The upgrade is done (or this build never needed one): restarts must not depend on the predecessor.
    logger.info({ stateFile, migrateFrom }, "the state key file exists: the migration settings (--migrate-from …) are ignored");
    return stateFor(config);
  }
  const rel = relative(config.dataDir, stateFile);
  if (!rel.startsWith("..") && !isAbsolute(rel)) {
    throw new ConfigError(
      "INVALID_CONFIG",
      `--migrate-from takes the predecessor's data directory over in place: give --state-key-file outside --data-dir, this build's own (or copy the data with \`tee migrate\`)`,
    );
  }
  const migrated = await migrateStateKey(config);
  await migrated.state.platform.close?.();
  logger.warn(
    { stateFile, predecessor: migrated.predecessor, measurement: migrated.own, migrateFrom },
    "state master key migrated from the predecessor: stop it now; this signer opens the data directory once the predecessor no longer answers",
  );
  while (await predecessorAnswers(config)) await sleep(MIGRATION_POLL_MS);
  const state = await stateFor(config);
  try {
    // Off Gramine the predecessor holds the data directory's lock until its last commit, after it stopped answering.
    for (;;) {
      try {
        DataDirLock.acquire(config.dataDir, "").release();
        break;
      } catch (e) {
        if (!(e instanceof KeyError && e.code === "DATA_DIR_IN_USE")) throw e;
        await sleep(MIGRATION_POLL_MS);
      }
    }
  } catch (e) {
    await state.platform.close?.();
    throw e;
  }
  logger.warn({ migrateFrom }, "the predecessor has stopped: starting on its data directory");
  return state;
}

/** How often a migrated successor looks whether its predecessor has stopped. */
const MIGRATION_POLL_MS = 500;

async function start(
  config: Config,
  logger: Logger,
  opened: Array<() => Promise<unknown> | unknown>,
  closeAll: () => Promise<void>,
): Promise<RunningSigner> {
  // Before anything is created: a network the signer cannot tell apart from another does not start.
  const network = createNetworkConfig(config.network, config);
  const genesisValidatorsRoot = requireGenesisValidatorsRoot(network);
  const hasher = await useFastestHasher();

  // Before the data directory is touched: under Gramine the platform unlocks its encrypted mount
  // (the platform itself only reads or atomically creates its sealed state key).
  const state = await serveState(config, logger);
  const { platform } = state;
  opened.push(() => platform.close?.());
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Held until the very end of close(): no offline key change can happen beside this signer.
  const lock = DataDirLock.acquire(config.dataDir, "stop that signer first, or give this one another --data-dir");
  opened.push(() => lock.release());
  if (!platform.attested) logger.warn(unattestedWarning(platform.name));
  const metrics = new SignerMetrics();
  // The sign line, one per request, carries only SignEvent's fields, none of them secret; the
  // redaction pass would cost more than the rest of the line.
  const signLog = logger.child({}, { redact: { paths: [] } });
  metrics.setPlatform(platform.name, platform.attested);

  const keys = new WorkerPoolSigningKeys(config.blsThreads);
  opened.push(() => keys.close());
  metrics.setKeysLoaded(() => keys.pubkeys().length);
  const sealedStore = await SealedKeyStore.open(platform, config.dataDir);
  const transportKey = await TransportKey.open(platform, config.dataDir);
  const identity = await InstanceIdentity.open(platform, config.dataDir);
  const registry = new KeyRegistry(keys, sealedStore);
  const sealed = await registry.loadSealed();
  for (const { file, message } of sealed.errors) logger.error({ file }, `sealed key not loaded: ${message}`);
  // Key changes one at a time: keymanager imports, deletes and keygen, and keystore-directory reloads.
  const keyMutations = new Exclusive();
  const dirKeys =
    config.keystoresDir && config.keystoresPasswordsDir
      ? new KeystoreDirKeys({
          keystoresDir: config.keystoresDir,
          passwordsDir: config.keystoresPasswordsDir,
          registry,
          mutations: keyMutations,
          maxKdfCost: config.maxKeystoreKdfCost,
        })
      : undefined;
  if (dirKeys) {
    // At start-up nothing else writes to the terminal yet: a bar there, log lines otherwise (reloads log only).
    const loaded = await dirKeys.reload(terminalProgress(process.stderr, "keystores decrypting", decryptProgress(logger, config.keystoresDir)));
    logKeystoreErrors(logger, loaded.errors);
    logger.info({ loaded: loaded.added, failed: loaded.errors.length, dir: config.keystoresDir }, "keystores loaded");
  }
  const reloads = new Reloads(() => reloadKeystoreDir(dirKeys, config.keystoresDir, logger));
  const access = await openAccess(configuredApiTokenFile(config), config.signingTokenFile);

  const slashingLocation = config.slashingDb ?? sqliteFile(config.dataDir);
  // A data directory with no database and no sealed keys has no past that a guard must protect;
  // sealed keys without a database (generated offline, or the database deleted along with its id
  // file) may have signed, so they keep the floor.
  const hadPast = config.slashingDb !== undefined || existsSync(slashingLocation) || (await sealedStore.list()).length > 0;
  // Before the database is created: settings the guards cannot work with stop the start here.
  const guards = await signGuards(config, network, hadPast, logger, opened);
  const slashing = await openIdentified(slashingLocation, config.dataDir, "strict", {
    genesisValidatorsRoot,
    observer: slashingObserver(metrics),
    timeoutMs: config.slashingDbTimeoutMs,
  });
  opened.push(() => slashing.close());
  if (slashing.identity.created && hadPast) {
    logger.warn(
      { database: slashingLocation },
      "new slashing database for a data directory that holds sealed keys: if they signed before, stop and import their slashing history (slashing-protection import)",
    );
  }
  if (config.pruneIntervalMinutes > 0) {
    // The stores keep what the checks need in memory as well as on disk; pruning bounds both.
    const timer = setInterval(() => {
      slashing.prune().then(
        (pruned) => logger.info(pruned, "slashing records pruned below the watermarks"),
        (e: unknown) => logger.warn({ err: e }, "pruning the slashing database failed; will retry"),
      );
    }, config.pruneIntervalMinutes * 60_000);
    timer.unref();
    opened.push(() => clearInterval(timer));
  }

  const service = new SigningService({
    chain: network.config,
    genesisValidatorsRoot,
    keys,
    slashing,
    guards: guards.list,
    observe: (event) => {
      metrics.onSignEvent(event);
      signLog.info(event, "sign");
    },
  });

  // What signing needs, one check each; /healthcheck is UP only when all are.
  const health: HealthCheck[] = [
    // Sealed keys are read at start only; the directory's failures are those of its latest scan.
    keysHealthCheck(() => keys.pubkeys().length, () => [...sealed.errors, ...(dirKeys?.errors ?? [])]),
    { id: "slashing-protection-db", run: () => slashing.health() },
    diskSpaceCheck(config.dataDir, config.minFreeDiskMb * 1024 * 1024),
    ...(guards.continuity ? [{ id: "continuity-store", run: guards.continuity }] : []),
    { id: "platform", run: async () => ({ status: "UP", data: { name: platform.name, attested: platform.attested } }) },
  ];

  if (config.apiTokenRecipient && config.apiTokenEnvelope) await deliverApiToken(configuredApiTokenFile(config), config.apiTokenRecipient, config.apiTokenEnvelope);
  const app = await buildServer({
    logger,
    bodyLimit: config.bodyLimit,
    limits: {
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      idleTimeoutMs: config.idleConnectionTimeoutSeconds * 1000,
      maxConnections: config.maxConnections,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    },
    ...(config.tlsCert && config.tlsKey && {
      tls: {
        cert: readFileSync(config.tlsCert),
        key: readFileSync(config.tlsKey),
        ...(config.tlsClientCa && { clientCa: readFileSync(config.tlsClientCa) }),
      },
    }),
    hostAllowlist: config.hostAllowlist,
    access,
    allowDepositSigning: config.allowDepositSigning,
    health,
    eth2: { keys, service },
    metrics: { metrics, serve: config.metricsPort === undefined && config.metricsEnabled !== false },
    evidence: { platform, identity, transportPublicKey: transportKey.publicKey, registry },
    reload: { reloads, operator: access.operator },
    stateMigration: {
      state,
      releaseKey: config.releaseKey === undefined ? undefined : fromHex(config.releaseKey, "--release-key", 32),
      verifierFor: (collateral) => migrationVerifierFor(config.platform, platformOptionsFor(config), collateral),
      operator: access.operator,
    },
    keymanager: {
      registry,
      sealedStore,
      platform,
      transportKey,
      identity,
      depositNetwork: { name: network.config.CONFIG_NAME, genesisForkVersion: network.config.GENESIS_FORK_VERSION },
      slashing,
      genesisValidatorsRoot,
      mutations: keyMutations,
      operator: access.operator,
      maxKdfCost: config.maxKeystoreKdfCost,
    },
  });
  // A reload still running adds keys to the BLS workers: it finishes before they close.
  opened.push(() => reloads.idle());
  // Closing the server first stops new requests and lets in-flight signs finish before the database closes.
  opened.push(() => app.close());
  const url = await app.listen({ host: config.host, port: config.port });
  let metricsUrl: string | undefined;
  if (config.metricsPort !== undefined) {
    const listener = await startMetricsListener(metrics, { host: config.metricsHost, port: config.metricsPort, hostAllowlist: config.metricsHostAllowlist });
    opened.push(() => listener.close());
    metricsUrl = listener.url;
  }
  logger.info(
    { url, ...(metricsUrl && { metricsUrl }), network: config.network, keys: keys.pubkeys().length, platform: platform.name, attested: platform.attested, hasher },
    "secure-signer listening",
  );

  return {
    app,
    url,
    ...(metricsUrl && { metricsUrl }),
    reload: () => reloads.request(),
    close: closeAll,
  };
}

/** Log lines while a scan decrypts keystores (a scrypt keystore is about a second each): start-up says it is working before the port opens. */
function decryptProgress(logger: Logger, dir: string | undefined): (done: number, total: number) => void {
  return progressSteps((done, total) => logger.info({ done, total, dir }, "keystores decrypting"));
}

function logKeystoreErrors(logger: Logger, errors: KeystoreDirError[]): void {
  for (const { file, message } of errors) logger.error({ file }, `keystore not loaded: ${message}`);
}

/**
 * One reload (POST /reload, SIGHUP): its outcome goes to the log, the keys-check health check and
 * GET /reload, never to the caller. Resolves with the number of keystores that failed.
 */
async function reloadKeystoreDir(dirKeys: KeystoreDirKeys | undefined, dir: string | undefined, logger: Logger): Promise<number> {
  if (!dirKeys) {
    logger.info("reload requested: no --keystores-dir, nothing to reload");
    return 0;
  }
  try {
    const { added, removed, unchanged, decrypted, errors } = await dirKeys.reload(decryptProgress(logger, dir));
    logKeystoreErrors(logger, errors);
    logger.info({ added, removed, unchanged, failed: errors.length, decrypted, dir }, "keystores reloaded");
    return errors.length;
  } catch (e) {
    logger.error({ err: e, dir }, "keystores reload failed");
    throw e;
  }
}

/**
 * The sign path's guards, in order: the clock bound, then either the continuity store's
 * reservations or, without one, the clock-based restart floor (docs/tee.md says what each mode
 * protects against). A data directory with neither a database nor sealed keys before this start
 * gets no floor: it has no past to forget, and a new chain's first blocks must be signed.
 */
async function signGuards(
  config: Config,
  network: NetworkConfig,
  hadPast: boolean,
  logger: Logger,
  opened: Array<() => Promise<unknown> | unknown>,
): Promise<{ list: SignGuard[]; continuity?: () => Promise<StoreHealth> }> {
  const skew = config.clockSkewSlots;
  const floorOn = config.startupFloorEpochs !== "off" && !config.continuityStore && hadPast;
  const list: SignGuard[] = [];
  if (skew !== "off" && skew > SLOTS_PER_EPOCH) {
    throw new ConfigError("INVALID_CONFIG", `--clock-skew-slots ${skew} is more than one epoch (${SLOTS_PER_EPOCH} slots) on this network`);
  }
  const clock =
    skew !== "off" || floorOn
      ? chainClock({
          genesisTime: requireGenesisTime(network, "the clock bound (--clock-skew-slots) and the rollback guard (--startup-floor-epochs)"),
          secondsPerSlot: network.config.SECONDS_PER_SLOT,
          slotsPerEpoch: SLOTS_PER_EPOCH,
        })
      : undefined;
  if (clock && skew !== "off") list.push(clockBoundGuard(clock, skew));
  else logger.warn("clock bound off (--clock-skew-slots off): far-future blocks and attestations are signed, and the rollback guard cannot rely on the clock");

  if (config.continuityStore) {
    const store = await PostgresContinuityStore.open(config.continuityStore, {
      ca: readFileSync(config.continuityCa!),
      genesisValidatorsRoot: requireGenesisValidatorsRoot(network),
      windowEpochs: config.continuityWindowEpochs,
      timeoutMs: config.slashingDbTimeoutMs,
    });
    opened.push(() => store.close());
    list.push(new ContinuityGuard(store));
    logger.info({ holder: store.holder, windowEpochs: config.continuityWindowEpochs }, "continuity store: signing above this instance's reservations waits for a new one");
    return { list, continuity: () => store.health() };
  }
  if (floorOn) {
    const floor = startupFloor(clock!, skew === "off" ? 0 : skew, config.startupFloorEpochs as number);
    list.push(startupFloorGuard(floor));
    logger.info(floor, "rollback guard: blocks at or below this slot and attestations with targets at or below this epoch are refused since this start");
  } else if (config.startupFloorEpochs === "off") {
    logger.warn("rollback guard off (--startup-floor-epochs off): a restored older slashing database could allow double signing");
  } else if (!hadPast) {
    logger.info("rollback guard: a new slashing database has no past to protect; no floor this start");
  }
  return { list };
}
