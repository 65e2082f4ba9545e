import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { InputError, SignerError } from "../errors.js";
import { KEYGEN_RECOVERY, MAX_KEYGEN_COUNT, generateKeys } from "../keys/keygen.js";
import {
  DeleteStatus,
  deleteKeys,
  ImportStatus,
  importKeystores,
  type DeleteCollaborators,
  type ImportCollaborators,
  type KeymanagerKeys,
  type KeymanagerSlashing,
} from "../keys/keymanagerOps.js";
import { IMPORT_PURPOSE, TRANSPORT_ALGORITHM, TRANSPORT_VERSION, type TransportKey } from "../keys/transport.js";
import { attest } from "../tee/evidence.js";
import type { InstanceIdentity } from "../tee/identity.js";
import type { Platform } from "../tee/platform.js";
import { KeyStatementSchema } from "../tee/statement.js";
import { normalizePubkey, normalizePubkeyList } from "../util/hex.js";
import { Exclusive } from "../util/exclusive.js";
import { progressSteps } from "../util/progress.js";
import { callerOf, type BearerTokens } from "./auth.js";
import { logRefused, publicError, statusFor } from "./errors.js";
import { firstSchemaError } from "../util/schema.js";

/** The entries of a keymanager answer that did not succeed, named by index (and pubkey, for deletes), for the audit line. */
function failures(data: ReadonlyArray<{ status: string; message?: string }>, pubkeys?: readonly string[]): Array<Record<string, unknown>> {
  return data.flatMap((d, index) =>
    d.status === "error" ? [{ index, ...(pubkeys && { pubkey: pubkeys[index] }), message: d.message }] : [],
  );
}

/**
 * The keymanager API (ethereum/keymanager-APIs, local keystores) plus key generation inside the
 * signer and the transport key for encrypted imports (docs/transport-encryption.md). Every route
 * requires `Authorization: Bearer <token>`.
 */

export interface KeymanagerOptions extends KeymanagerKeys {
  platform: Platform;
  transportKey: TransportKey;
  /** Signs the statements of keygen's evidence. */
  identity: InstanceIdentity;
  /** The network deposits signed at keygen are for. */
  depositNetwork: { name: string; genesisForkVersion: Uint8Array };
  slashing: KeymanagerSlashing;
  /** The network's, when known (a network given as a config file may not say). */
  genesisValidatorsRoot?: string;
  /** Where imports, deletes and keygen queue; shared with the keystore-directory reload when given. */
  mutations?: Exclusive;
  /** The API token, which every route requires. */
  operator: BearerTokens;
  /** --max-keystore-kdf-cost: imported keystores with costlier KDFs are refused undecrypted. */
  maxKdfCost: number;
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
const EncryptedImportRequest = Type.Object({ transport_encrypted: Type.String({ pattern: "^[A-Za-z0-9+/]+={0,2}$", title: "base64" }) });
// The standard form first: a body that fits neither is told what the standard form lacks.
const ImportBody = Type.Union([ImportRequest, EncryptedImportRequest]);

const DeleteBody = Type.Object({ pubkeys: Type.Array(Pubkey, { maxItems: MAX_ITEMS }) });

const KeygenBody = Type.Object({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_KEYGEN_COUNT })),
  // With a withdrawal address, each key's deposit is signed inside at keygen and its root stated.
  withdrawal_address: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" })),
  withdrawal_type: Type.Optional(Type.Union([Type.Literal("0x01"), Type.Literal("0x02")])),
  amount_gwei: Type.Optional(Type.Integer({ minimum: 1 })),
});
const Evidence = Type.Object({
  version: Type.Literal(2),
  platform: Type.String(),
  format: Type.String(),
  quote: Type.String(),
  reportData: Type.String(),
  transportPublicKey: Type.String(),
  identityPublicKey: Type.String(),
  statements: Type.Array(KeyStatementSchema),
  vcek: Type.Optional(Type.String()),
});
const DepositData = Type.Object({
  pubkey: Type.String(),
  withdrawal_credentials: Type.String(),
  amount: Type.Integer(),
  signature: Type.String(),
  deposit_message_root: Type.String(),
  deposit_data_root: Type.String(),
  fork_version: Type.String(),
  network_name: Type.String(),
  deposit_cli_version: Type.String(),
});

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** In a scope of its own, so that its auth hook and error handler apply to its routes alone. */
export const keymanagerRoutes: FastifyPluginAsyncTypebox<KeymanagerOptions> = async (app, opts) => {
  const { registry, sealedStore, platform, transportKey, identity, depositNetwork, slashing, genesisValidatorsRoot } = opts;

  // Mutations run one at a time, so two requests cannot both import (or delete) the same key.
  const mutations = opts.mutations ?? new Exclusive();

  const importing: ImportCollaborators = {
    registry,
    sealedStore,
    maxKdfCost: opts.maxKdfCost,
    slashing: {
      // A slashing_protection the store refuses is wrong input, whatever status the slashing domain
      // gives the refusal; a store that fails keeps its own.
      async importInterchange(json) {
        try {
          return await slashing.importInterchange(json);
        } catch (e) {
          if (e instanceof SignerError && statusFor(e) < 500) {
            throw new InputError("INVALID_INPUT", `slashing_protection refused, nothing imported: ${e.message}`);
          }
          throw e;
        }
      },
    },
  };
  const deleting: DeleteCollaborators = {
    registry,
    sealedStore,
    slashing,
    genesisValidatorsRoot,
    onExportFailed: (e) => app.log.error({ err: e }, "slashing protection export after delete failed"),
  };

  app.setErrorHandler((error: Error, request, reply) => {
    const { status, message } = publicError(error);
    if (status >= 500) request.log.error({ err: error, reqId: request.id, route: request.routeOptions.url }, "keymanager request failed");
    logRefused(request, status, message);
    void reply.status(status).send({ message });
  });

  app.addHook("onRequest", async (request) => opts.operator.require(request, "the keymanager API"));

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
    async () => ({
      data: (await registry.list()).map(({ pubkey, path, readOnly }) => ({
        validating_pubkey: pubkey,
        ...(path !== undefined && { derivation_path: path }),
        readonly: readOnly,
      })),
    }),
  );

  app.post(
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
      const caller = callerOf(request);
      const pubkeys: string[] = [];
      const progress = progressSteps((done, total) => request.log.info({ done, total, caller }, "keystores import: decrypting"));
      const data = await mutations.run(() =>
        importKeystores(body, importing, { onDecrypted: progress, onImported: (_index, pubkey) => pubkeys.push(pubkey) }),
      );
      request.log.info(
        { imported: pubkeys.length, requested: data.length, pubkeys, failed: failures(data), caller },
        "keystores import",
      );
      return { data };
    },
  );

  app.delete(
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
      const asked = request.body.pubkeys.map((p) => normalizePubkey(p));
      const result = await mutations.run(() => deleteKeys(asked, deleting));
      const deleted = asked.filter((_p, i) => result.data[i]!.status === "deleted");
      request.log.info({ deleted: deleted.length, requested: asked.length, pubkeys: deleted, failed: failures(result.data, asked), caller: callerOf(request) }, "keystores delete");
      return result;
    },
  );

  app.post(
    "/eth/v1/keygen/bls",
    {
      schema: {
        body: KeygenBody,
        response: {
          200: Type.Object({ data: Type.Array(Type.Object({ pubkey: Type.String(), evidence: Evidence, deposit_data: Type.Optional(DepositData) })), recovery: Type.String() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { count, withdrawal_address, withdrawal_type, amount_gwei } = request.body;
      if (withdrawal_address === undefined && (withdrawal_type !== undefined || amount_gwei !== undefined)) {
        throw new InputError("INVALID_INPUT", "withdrawal_type and amount_gwei need withdrawal_address");
      }
      const deposit = withdrawal_address && {
        withdrawalType: withdrawal_type ?? "0x01",
        withdrawalAddress: withdrawal_address,
        ...(amount_gwei !== undefined && { amountGwei: amount_gwei }),
        network: depositNetwork,
      };
      const generated = await mutations.run(() => generateKeys(count ?? 1, { sealedStore, registry, ...(deposit && { deposit }) }));
      request.log.info({ generated: generated.length, pubkeys: generated.map((g) => g.pubkey), caller: callerOf(request), recovery: KEYGEN_RECOVERY }, "keys generated");
      // One quote for the request; each key's document carries its own statement, signed now.
      const evidence = await attest({ platform, identity, transportPublicKey: transportKey.publicKey }, generated);
      return {
        data: generated.map(({ pubkey, depositData }) => ({
          pubkey,
          evidence: { ...evidence, statements: evidence.statements.filter((s) => s.pubkey === pubkey) },
          ...(depositData && { deposit_data: depositData }),
        })),
        recovery: KEYGEN_RECOVERY,
      };
    },
  );

  // Not in the keymanager standard: EIP-3076 import and export through the running signer, which
  // holds the SQLite database exclusively (the offline CLI cannot open it while it runs).
  app.get(
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
};
