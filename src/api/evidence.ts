import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { KeyRegistry } from "../keys/registry.js";
import { attest, type AttestDeps } from "../tee/evidence.js";
import { fromHex } from "../util/hex.js";

export type EvidenceDeps = AttestDeps & { registry: Pick<KeyRegistry, "provenances"> };

const Query = Type.Object({ nonce: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" })) });

/**
 * `GET /eth/v1/evidence[?nonce=0x…32 bytes]`: evidence v2 (docs/tee-evidence.md): the quote binds
 * the transport and instance identity keys, and each BLS key the signer holds now has a statement
 * of its origin signed by that identity, for `secure-signer verify-evidence`. A verifier's fresh
 * nonce proves the evidence was made for its request.
 */
export const evidenceRoute: FastifyPluginAsyncTypebox<EvidenceDeps> = async (app, deps) => {
  app.get("/eth/v1/evidence", { schema: { querystring: Query } }, async (request) => {
    const { nonce } = request.query;
    return attest(deps, deps.registry.provenances(), nonce === undefined ? undefined : fromHex(nonce, "nonce", 32));
  });
};
