import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { SigningKeys } from "../bls/signingKeys.js";
import { InputError, SignerError } from "../errors.js";
import { decryptKeystores, type DecryptJob } from "../keys/decryptPool.js";
import type { DerivationPaths } from "../keys/derivationPaths.js";
import { MAX_KEYGEN_COUNT, generateKeys } from "../keys/keygen.js";
import { parseKeystoreJson } from "../keys/keystore.js";
import type { SealedKeyStore } from "../keys/sealedStore.js";
import { readOrCreateSecretFile } from "../keys/secretFile.js";
import { IMPORT_PURPOSE, TRANSPORT_ALGORITHM, TRANSPORT_VERSION, type TransportKey } from "../keys/transport.js";
import { attest } from "../tee/evidence.js";
import type { Platform } from "../tee/platform.js";
import { normalizePubkey, normalizePubkeyList, ZERO_ROOT_HEX } from "../util/hex.js";
import { buildInterchange } from "../slashing/interchange.js";
import { Exclusive } from "../util/exclusive.js";
import { publicError, statusFor } from "./errors.js";
import { firstSchemaError } from "../util/schema.js";

/**
 * The keymanager API (ethereum/keymanager-APIs, local keystores) plus key generation inside the
 * signer and the transport key for encrypted imports (docs/transport-encryption.md). Every route
 * requires `Authorization: Bearer <token>`.
 */

/** The slashing-protection operations the keymanager needs; the real store provides them. */
export interface KeymanagerSlashing {
  /** Merges an EIP-3076 document; rejects (changing nothing) when it is invalid or for another chain. */
  importInterchange(json: unknown): Promise<unknown>;
  /**
   * The interchange of what is on record for `pubkeys` (all keys when absent); keys without records
   * may be absent. Without a root, for the chain the database is bound to.
   */
  exportInterchange(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): Promise<{ data: Array<{ pubkey: string }> }>;
}

export interface KeymanagerOptions {
  keys: SigningKeys;
  sealedStore: SealedKeyStore;
  /** The keystore path of each loaded key that has one; imports add to it, deletes remove from it. */
  derivationPaths: DerivationPaths;
  platform: Platform;
  transportKey: TransportKey;
  slashing: KeymanagerSlashing;
  /** The network's, when known (a network given as a config file may not say). */
  genesisValidatorsRoot?: string;
  /**
   * Keys loaded from `--keystores-dir` (at start or by a reload): read-only, even when a sealed copy
   * exists too (an API delete would not keep them from loading again at the next start or reload).
   */
  readOnly?: ReadonlySet<string>;
  /** Where imports, deletes and keygen queue; shared with the keystore-directory reload when given. */
  mutations?: Exclusive;
  /** `<dataDir>/api-token.txt`: created (0600) with a random token on first start. */
  tokenFile: string;
}

export class AuthError extends SignerError<"UNAUTHORIZED" | "FORBIDDEN"> {
  readonly domain = "auth";
}

/** Reads the API token, creating it first (random, 0600, atomically) when the file does not exist. */
export async function ensureApiToken(tokenFile: string): Promise<string> {
  const token = (await readOrCreateSecretFile(tokenFile, () => randomBytes(32).toString("hex") + "\n")).toString("utf8").trim();
  if (token.length < 16) {
    throw new InputError("INVALID_INPUT", `${tokenFile} holds a token of ${token.length} characters; at least 16 are required`);
  }
  return token;
}

const MAX_ITEMS = 1000;
const Pubkey = Type.String({ pattern: "^0x[a-fA-F0-9]{96}$" });
const ErrorResponse = Type.Object({ message: Type.String() });
const errorResponses = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 500: ErrorResponse, 503: ErrorResponse };

const ImportRequest = Type.Object({
  keystores: Type.Array(Type.String(), { maxItems: MAX_ITEMS }),
  passwords: Type.Array(Type.String(), { maxItems: MAX_ITEMS }),
  // Lighthouse's client sends null when it has no slashing data, some others "": both mean none.
  slashing_protection: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
type ImportRequest = Static<typeof ImportRequest>;
const importRequestCheck = TypeCompiler.Compile(ImportRequest);
// No additionalProperties: false here: with Ajv's removeAdditional (Fastify's default) the first
// branch of the union would strip keystores/passwords from a mixed body instead of refusing it.
const EncryptedImportRequest = Type.Object({ transport_encrypted: Type.String({ pattern: "^[A-Za-z0-9+/]+={0,2}$" }) });
const ImportBody = Type.Union([EncryptedImportRequest, ImportRequest]);
type ImportBody = Static<typeof ImportBody>;

const ImportStatus = Type.Object({
  status: Type.Union([Type.Literal("imported"), Type.Literal("duplicate"), Type.Literal("error")]),
  message: Type.Optional(Type.String()),
});
type ImportStatus = Static<typeof ImportStatus>;

const DeleteBody = Type.Object({ pubkeys: Type.Array(Pubkey, { maxItems: MAX_ITEMS }) });
type DeleteBody = Static<typeof DeleteBody>;
const DeleteStatus = Type.Object({
  status: Type.Union([Type.Literal("deleted"), Type.Literal("not_active"), Type.Literal("not_found"), Type.Literal("error")]),
  message: Type.Optional(Type.String()),
});
type DeleteStatus = Static<typeof DeleteStatus>;

const KeygenBody = Type.Object({ count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_KEYGEN_COUNT })) });
type KeygenBody = Static<typeof KeygenBody>;
const Evidence = Type.Object({
  platform: Type.String(),
  format: Type.String(),
  quote: Type.String(),
  reportData: Type.String(),
  transportPublicKey: Type.String(),
  blsPubkeys: Type.Array(Type.String()),
});

const utf8 = new TextDecoder("utf-8", { fatal: true });

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

const plugin: FastifyPluginAsync<KeymanagerOptions> = async (app, opts) => {
  const { keys, sealedStore, derivationPaths, platform, transportKey, slashing, genesisValidatorsRoot } = opts;
  const readOnly = opts.readOnly ?? new Set<string>();
  const isReadOnly = (pubkey: string, sealed: ReadonlySet<string>) => readOnly.has(pubkey) || !sealed.has(pubkey);
  const tokenDigest = digest(await ensureApiToken(opts.tokenFile));

  // Mutations run one at a time, so two requests cannot both import (or delete) the same key.
  const mutations = opts.mutations ?? new Exclusive();

  app.setErrorHandler((error: Error, request, reply) => {
    const { status, message } = publicError(error);
    if (status >= 500) request.log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, "keymanager request failed");
    void reply.status(status).send({ message });
  });

  app.addHook("onRequest", async (request) => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer +(\S+)\s*$/i.exec(header);
    if (!match) throw new AuthError("UNAUTHORIZED", "missing Authorization: Bearer <token> header");
    // Comparing digests keeps the comparison constant-time whatever the presented token's length.
    if (!timingSafeEqual(digest(match[1]!), tokenDigest)) throw new AuthError("FORBIDDEN", "invalid API token");
  });

  app.get(
    "/eth/v1/keystores",
    {
      schema: {
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({
                validating_pubkey: Type.String(),
                derivation_path: Type.Optional(Type.String()),
                readonly: Type.Boolean(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const sealed = new Set(await sealedStore.list());
      return {
        data: keys.pubkeys().map((pubkey) => {
          const path = derivationPaths.get(pubkey);
          return {
            validating_pubkey: pubkey,
            ...(path !== undefined && { derivation_path: path }),
            // Keys from a keystore directory come back at every start, so the API cannot delete them.
            readonly: isReadOnly(pubkey, sealed),
          };
        }),
      };
    },
  );

  app.post<{ Body: ImportBody }>(
    "/eth/v1/keystores",
    { schema: { body: ImportBody, response: { 200: Type.Object({ data: Type.Array(ImportStatus) }), ...errorResponses } } },
    async (request) => {
      const raw = request.body;
      if ("transport_encrypted" in raw && "keystores" in raw) {
        throw new InputError("INVALID_INPUT", "send either transport_encrypted or keystores/passwords, not both");
      }
      const body = "transport_encrypted" in raw ? openEncrypted(raw.transport_encrypted) : raw;
      if (body.keystores.length !== body.passwords.length) {
        throw new InputError(
          "INVALID_INPUT",
          `keystores has ${body.keystores.length} entries but passwords has ${body.passwords.length}; passwords[i] must unlock keystores[i]`,
        );
      }
      const data = await mutations.run(() => importKeystores(body));
      request.log.info(
        { imported: data.filter((d) => d.status === "imported").length, requested: data.length },
        "keystores import",
      );
      return { data };
    },
  );

  app.delete<{ Body: DeleteBody }>(
    "/eth/v1/keystores",
    {
      schema: {
        body: DeleteBody,
        response: {
          200: Type.Object({ data: Type.Array(DeleteStatus), slashing_protection: Type.String() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const result = await mutations.run(() => deleteKeys(request.body.pubkeys.map((p) => normalizePubkey(p))));
      request.log.info({ deleted: result.data.filter((d) => d.status === "deleted").length }, "keystores delete");
      return result;
    },
  );

  app.post<{ Body: KeygenBody }>(
    "/eth/v1/keygen/bls",
    {
      schema: {
        body: KeygenBody,
        response: {
          200: Type.Object({ data: Type.Array(Type.Object({ pubkey: Type.String(), evidence: Evidence })) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const pubkeys = await mutations.run(() => generateKeys(request.body.count ?? 1, { sealedStore, keys }));
      request.log.info({ generated: pubkeys.length }, "keys generated");
      const data = [];
      for (const pubkey of pubkeys) {
        // Evidence over a key set of exactly this key attests its origin on its own (docs/tee-evidence.md).
        data.push({ pubkey, evidence: await attest(platform, { transportPublicKey: transportKey.publicKey, blsPubkeys: [pubkey] }) });
      }
      return { data };
    },
  );

  // Not in the keymanager standard: EIP-3076 import and export through the running signer, which
  // holds the SQLite database exclusively (the offline CLI cannot open it while it runs).
  app.get<{ Querystring: { pubkeys?: string } }>(
    "/eth/v1/slashing-protection",
    { schema: { querystring: Type.Object({ pubkeys: Type.Optional(Type.String({ maxLength: 100_000 })) }) } },
    async (request) => {
      const pubkeys = (request.query.pubkeys === undefined ? undefined : normalizePubkeyList(request.query.pubkeys));
      return slashing.exportInterchange(genesisValidatorsRoot, pubkeys);
    },
  );

  app.post(
    "/eth/v1/slashing-protection",
    { schema: { body: Type.Object({}, { additionalProperties: true }) } },
    async (request) => ({ data: await mutations.run(() => slashing.importInterchange(request.body)) }),
  );

  app.get(
    "/eth/v1/transport-key",
    {
      schema: {
        response: {
          200: Type.Object({
            data: Type.Object({ public_key: Type.String(), algorithm: Type.String(), version: Type.Integer() }),
          }),
          ...errorResponses,
        },
      },
    },
    async () => ({
      data: { public_key: transportKey.publicKeyHex, algorithm: TRANSPORT_ALGORITHM, version: TRANSPORT_VERSION },
    }),
  );

  function openEncrypted(envelope: string): ImportRequest {
    const plaintext = transportKey.decrypt(envelope, IMPORT_PURPOSE);
    let value: unknown;
    try {
      value = JSON.parse(utf8.decode(plaintext));
    } catch {
      throw new InputError("INVALID_INPUT", "transport_encrypted does not decrypt to a UTF-8 JSON document");
    } finally {
      plaintext.fill(0);
    }
    if (!importRequestCheck.Check(value)) {
      throw new InputError(
        "INVALID_INPUT",
        `transport_encrypted does not hold an import request (${firstSchemaError(importRequestCheck.Errors(value)) ?? "invalid"})`,
      );
    }
    return value;
  }

  async function importKeystores(body: ImportRequest): Promise<ImportStatus[]> {
    // Protection first: once a key is usable, everything it signed before must already be refused.
    if (body.slashing_protection) {
      let interchange: unknown;
      try {
        interchange = JSON.parse(body.slashing_protection);
      } catch (e) {
        throw new InputError("INVALID_INPUT", `slashing_protection is not valid JSON: ${(e as Error).message}`);
      }
      try {
        await slashing.importInterchange(interchange);
      } catch (e) {
        if (e instanceof SignerError && statusFor(e) < 500) {
          throw new InputError("INVALID_INPUT", `slashing_protection refused, nothing imported: ${e.message}`);
        }
        throw e;
      }
    }

    const statuses: ImportStatus[] = new Array(body.keystores.length);
    const jobs: (DecryptJob & { index: number })[] = [];
    body.keystores.forEach((text, index) => {
      const source = `keystores[${index}]`;
      try {
        jobs.push({ keystore: parseKeystoreJson(text, source), password: body.passwords[index]!, source, index });
      } catch (e) {
        statuses[index] = { status: "error", message: (e as Error).message };
      }
    });
    // At least one worker, so that even a single scrypt keystore does not stall the event loop.
    const results = await decryptKeystores(jobs, { workers: jobs.length > 1 ? undefined : 1 });

    const seen = new Set<string>();
    for (const [i, result] of results.entries()) {
      const { index, keystore } = jobs[i]!;
      if (!result.ok) {
        statuses[index] = { status: "error", message: result.error.message };
        continue;
      }
      try {
        if (seen.has(result.pubkey) || keys.has(result.pubkey)) {
          statuses[index] = { status: "duplicate" };
          continue;
        }
        seen.add(result.pubkey);
        // Sealed durably before it can sign, so a key that signed is never lost at restart; its
        // path is sealed with it, so GET lists it after a restart too.
        await sealedStore.save(result.secretKey, { path: keystore.path });
        await keys.add(result.secretKey);
        derivationPaths.set(result.pubkey, keystore.path);
        statuses[index] = { status: "imported" };
      } catch (e) {
        statuses[index] = { status: "error", message: `keystores[${index}]: ${(e as Error).message}` };
      } finally {
        result.secretKey.fill(0);
      }
    }
    return statuses;
  }

  /**
   * The keys are taken one by one, in request order, as the keymanager flows describe: a pubkey
   * repeated in the request finds its key already gone the second time, and is answered as any key
   * that is no longer there (not_active when the database holds records for it, which the
   * interchange then includes once, else not_found), as Lighthouse and Teku do.
   */
  async function deleteKeys(pubkeys: string[]): Promise<{ data: DeleteStatus[]; slashing_protection: string }> {
    const sealed = new Set(await sealedStore.list());
    const data: DeleteStatus[] = [];
    const candidates = new Set<string>();
    // Requests for a key that neither signed nor had a file: their status depends on the export.
    const absent: number[] = [];
    for (const [i, pubkey] of pubkeys.entries()) {
      const active = keys.has(pubkey);
      if (active && isReadOnly(pubkey, sealed)) {
        data.push({ status: "error", message: `${pubkey} was loaded from a keystore directory and is read-only` });
        continue;
      }
      try {
        // The key stops signing before anything else happens; only then is its file removed.
        if (active) {
          await keys.remove(pubkey);
          derivationPaths.delete(pubkey);
        }
        const hadFile = sealed.has(pubkey);
        if (hadFile) {
          await sealedStore.delete(pubkey);
          sealed.delete(pubkey);
        }
        if (!active && !hadFile) absent.push(i);
        data.push({ status: active ? "deleted" : "not_active" });
        candidates.add(pubkey);
      } catch (e) {
        data.push({ status: "error", message: `${pubkey}: ${(e as Error).message}` });
      }
    }
    // Records are exported, never deleted: re-importing the key elsewhere must stay protected.
    let exported: Awaited<ReturnType<KeymanagerSlashing["exportInterchange"]>>;
    try {
      exported = await slashing.exportInterchange(genesisValidatorsRoot, [...candidates]);
    } catch (e) {
      // The keys no longer sign, but their records could not be read. As the keymanager flows
      // say: an error per key and an empty interchange; deleting again returns the records.
      app.log.error({ err: e }, "slashing protection export after delete failed");
      const message = `no longer signs, but its slashing protection data could not be exported (${(e as Error).message}); delete it again to get it`;
      return {
        data: data.map((d) => (d.status === "deleted" || d.status === "not_active" ? { status: "error", message } : d)),
        slashing_protection: JSON.stringify(buildInterchange(genesisValidatorsRoot ?? ZERO_ROOT_HEX, [])),
      };
    }
    const withRecords = new Set(exported.data.map((d) => d.pubkey.toLowerCase()));
    for (const i of absent) {
      if (!withRecords.has(pubkeys[i]!)) data[i] = { status: "not_found" };
    }
    return { data, slashing_protection: JSON.stringify(exported) };
  }
};

/** Registers the keymanager routes in their own encapsulated scope (auth hook and error handler stay inside). */
export async function registerKeymanager(app: FastifyInstance, opts: KeymanagerOptions): Promise<void> {
  await app.register(plugin, opts);
}
