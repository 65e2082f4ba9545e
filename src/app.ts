import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { SLOTS_PER_EPOCH } from "@lodestar/params";
import { buildServer } from "./api/server.js";
import type { HealthCheck } from "./api/health.js";
import { WorkerPoolSigningKeys } from "./bls/pool.js";
import type { Config } from "./config/config.js";
import { loadKeystoreDir } from "./keys/keystoreDir.js";
import type { SigningPlan } from "./signing/plan.js";
import { useFastestHasher } from "./signing/hasher.js";
import { createNetworkConfig } from "./signing/network.js";
import { openSlashingProtection } from "./slashing/open.js";
import { checkStartupFloor, startupFloor } from "./slashing/startupFloor.js";

export interface RunningSigner {
  app: FastifyInstance;
  /** The address the server listens on, e.g. http://127.0.0.1:9000. */
  url: string;
  close(): Promise<void>;
}

/**
 * The composition root: builds every domain object from the Config, in dependency order, and
 * nothing else constructs them. Closing undoes it in reverse: stop accepting, let in-flight signs
 * finish, then close the slashing database and the BLS workers.
 */
export async function startSigner(config: Config, logger: Logger): Promise<RunningSigner> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const hasher = await useFastestHasher();
  const network = createNetworkConfig(config.network);

  const keys = new WorkerPoolSigningKeys();
  let keystoreErrors = 0;
  if (config.keystoresDir && config.keystoresPasswordsDir) {
    const loaded = await loadKeystoreDir(config.keystoresDir, config.keystoresPasswordsDir);
    for (const { file, message } of loaded.errors) logger.error({ file }, `keystore not loaded: ${message}`);
    keystoreErrors += loaded.errors.length;
    for (const key of loaded.keys) {
      await keys.add(key.secretKey);
      key.secretKey.fill(0);
    }
    logger.info({ loaded: loaded.keys.length, failed: loaded.errors.length, dir: config.keystoresDir }, "keystores loaded");
  }

  const floor =
    config.startupFloorEpochs === "off"
      ? undefined
      : startupFloor({
          nowSeconds: Date.now() / 1000,
          genesisTime: network.genesisTime,
          secondsPerSlot: network.config.SECONDS_PER_SLOT,
          slotsPerEpoch: SLOTS_PER_EPOCH,
          marginEpochs: config.startupFloorEpochs,
        });
  if (floor) logger.info(floor, "rollback guard: slashable messages at or below this slot / target epoch are refused since this start");
  else logger.warn("rollback guard off (--startup-floor-epochs off): a restored older slashing database could allow double signing");

  const slashing = await openSlashingProtection(config.slashingDb ?? join(config.dataDir, "slashing-protection.sqlite"));

  const health: HealthCheck[] = [
    {
      id: "keys-check",
      run: async () => ({
        status: keystoreErrors === 0 ? "UP" : "DOWN",
        data: { "keys-loaded": keys.pubkeys().length, "error-count": keystoreErrors },
      }),
    },
    { id: "slashing-protection-db", run: () => slashing.health() },
  ];

  const app = await buildServer({
    logger,
    bodyLimit: config.bodyLimit,
    ...(config.tlsCert && config.tlsKey && {
      tls: {
        cert: readFileSync(config.tlsCert),
        key: readFileSync(config.tlsKey),
        ...(config.tlsClientCa && { clientCa: readFileSync(config.tlsClientCa) }),
      },
    }),
    ...(config.hostAllowlist && { hostAllowlist: config.hostAllowlist }),
    health,
    eth2: {
      chain: network.config,
      genesisValidatorsRoot: network.genesisValidatorsRoot,
      keys,
      slashing,
      ...(floor && { preCheck: (_pubkey: string, plan: SigningPlan) => plan.slashing && checkStartupFloor(floor, plan.slashing) }),
      onOutcome: (o) => logger.info(o, "sign"),
    },
  });
  const url = await app.listen({ host: config.host, port: config.port });
  logger.info({ url, network: config.network, keys: keys.pubkeys().length, hasher }, "secure-signer listening");

  return {
    app,
    url,
    async close() {
      await app.close();
      await slashing.close();
      await keys.close();
    },
  };
}
