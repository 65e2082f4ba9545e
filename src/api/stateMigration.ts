import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { TeeError } from "../tee/errors.js";
import { AllowlistSchema, answerMigration, RequestSchema, ResponseSchema, type EvidenceVerifier } from "../tee/migration.js";
import type { StateKey } from "../tee/stateKey.js";
import { callerOf, type BearerTokens } from "./auth.js";

const Body = Type.Object(
  {
    /** The successor's ephemeral key and its evidence over it (tee/migration.ts, requestMigration). */
    request: RequestSchema,
    /** The release allowlist, signed by the release key; both builds must be on it. */
    allowlist: AllowlistSchema,
    /** SGX/TDX: Intel collateral for the successor's quote; Intel signs it, so the successor may carry it. */
    collateral: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export interface StateMigrationDeps {
  state: StateKey;
  /** The Ed25519 release key from --release-key; undefined: every request is refused. */
  releaseKey: Uint8Array | undefined;
  /** The platform's own evidence verifier (tee/migrationPeer.ts), given the request's collateral. */
  verifierFor(collateral: unknown): Promise<EvidenceVerifier>;
  operator: BearerTokens;
}

/**
 * `POST /tee/v1/state-migration`: a successor build (`secure-signer tee migrate`) asks this running
 * signer for the state master key. It gets it, encrypted to its attested ephemeral key, only when
 * its evidence verifies and the release key allowlisted both builds; the API token is needed too,
 * so that nobody but the operator can even make this signer attest.
 */
export const stateMigrationRoute: FastifyPluginAsyncTypebox<StateMigrationDeps> = async (app, deps) => {
  app.post(
    "/tee/v1/state-migration",
    {
      schema: { body: Body, response: { 200: ResponseSchema } },
      onRequest: async (request) => deps.operator.require(request, "POST /tee/v1/state-migration"),
    },
    async (request) => {
      const { releaseKey } = deps;
      if (!releaseKey) {
        throw new TeeError(
          "MIGRATION_DISABLED",
          `this signer was started without --release-key, so it hands its state master key to no successor: restart it with the release key pinned (docs/tee.md, "Upgrades")`,
        );
      }
      const { body } = request;
      const verify = await deps.verifierFor(body.collateral);
      let successor: string | undefined;
      const remembered: EvidenceVerifier = async (evidence) => {
        const checked = await verify(evidence);
        successor = checked.measurement;
        return checked;
      };
      const response = await answerMigration(deps.state, body.request, body.allowlist, releaseKey, remembered);
      // Whoever holds this master key opens every sealed file of this data directory: on record, always.
      request.log.warn({ successor, caller: callerOf(request) }, "state master key handed to an allowlisted successor build");
      return response;
    },
  );
};
