import Fastify, { type FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { Writable } from "node:stream";
import { join } from "node:path";
import { LocalSigningKeys } from "../../src/bls/localKeys.js";
import { keymanagerRoutes } from "../../src/api/keymanager.js";
import { openAccess } from "../../src/api/auth.js";
import { REQUEST_VALIDATION } from "../../src/api/validation.js";
import { deriveKeyPair } from "../../src/bls/keyPair.js";
import { KeyRegistry } from "../../src/keys/registry.js";
import { SealedKeyStore } from "../../src/keys/sealedStore.js";
import { TransportKey } from "../../src/keys/transport.js";
import { evidenceRoute } from "../../src/api/evidence.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { InstanceIdentity } from "../../src/tee/identity.js";
import type { Platform } from "../../src/tee/platform.js";
import { InMemorySlashing } from "./keysSlashing.js";

export const TEST_GVR = "0x" + "42".repeat(32);

export interface KeymanagerHarness {
  url: string;
  token: string;
  dataDir: string;
  keys: LocalSigningKeys;
  registry: KeyRegistry;
  slashing: InMemorySlashing;
  sealedStore: SealedKeyStore;
  platform: Platform;
  transportKey: TransportKey;
  identity: InstanceIdentity;
  /** Every log line the server wrote, raw. */
  logs: string[];
  /** Every response body the tests received through `call`, raw. */
  bodies: string[];
  call(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

/**
 * A real keymanager server on 127.0.0.1 with the dev platform, real sealed files and real BLS keys;
 * like the signer at start, it loads whatever is sealed in `dataDir` first.
 */
/** `fromDir`: keys to load as `--keystores-dir` would at start (read-only through the API). */
export async function startKeymanager(dataDir: string, options: { fromDir?: Uint8Array[] } = {}): Promise<KeymanagerHarness> {
  const logs: string[] = [];
  const bodies: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const app = Fastify({ loggerInstance: pino({ level: "trace" }, sink) as FastifyBaseLogger, ...REQUEST_VALIDATION });
  const platform = await createDevPlatform(dataDir);
  const sealedStore = await SealedKeyStore.open(platform, dataDir);
  const transportKey = await TransportKey.open(platform, dataDir);
  const identity = await InstanceIdentity.open(platform, dataDir);
  const keys = new LocalSigningKeys();
  const registry = new KeyRegistry(keys, sealedStore);
  const { errors } = await registry.loadSealed();
  if (errors.length > 0) throw new Error(`sealed keys failed to load: ${JSON.stringify(errors)}`);
  await registry.install((options.fromDir ?? []).map((secretKey) => deriveKeyPair(secretKey.slice())), "keystore-dir");
  const slashing = new InMemorySlashing(TEST_GVR);
  const tokenFile = join(dataDir, "api-token.txt");
  const { operator } = await openAccess(tokenFile);
  await app.register(keymanagerRoutes, {
    registry,
    sealedStore,
    platform,
    transportKey,
    identity,
    // Hoodi's genesis fork version, so deposits here are not mainnet's.
    depositNetwork: { name: "hoodi", genesisForkVersion: new Uint8Array([0x10, 0x00, 0x09, 0x10]) },
    slashing,
    genesisValidatorsRoot: TEST_GVR,
    operator,
    maxKdfCost: 1,
  });
  await app.register(evidenceRoute, { platform, identity, transportPublicKey: transportKey.publicKey, registry });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  let closing: Promise<void> | undefined;
  const { readFile } = await import("node:fs/promises");
  const token = (await readFile(tokenFile, "utf8")).trim();
  return {
    url,
    token,
    dataDir,
    keys,
    registry,
    slashing,
    sealedStore,
    platform,
    transportKey,
    identity,
    logs,
    bodies,
    async call(method, path, body, tokenOverride) {
      const headers: Record<string, string> = {};
      const auth = tokenOverride === undefined ? token : tokenOverride;
      if (auth !== null) headers.authorization = `Bearer ${auth}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      bodies.push(text);
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    /** Idempotent, so a test can both close it early and register it for cleanup. */
    async close() {
      closing ??= app.close().then(() => keys.close());
      await closing;
    },
  };
}
