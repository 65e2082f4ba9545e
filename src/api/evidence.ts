import type { FastifyInstance } from "fastify";
import { Type } from "@sinclair/typebox";
import type { SigningKeys } from "../bls/signingKeys.js";
import type { TransportKey } from "../keys/transport.js";
import { attest } from "../tee/evidence.js";
import type { Platform } from "../tee/platform.js";
import { fromHex } from "../util/hex.js";

const Query = Type.Object({ nonce: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" })) });

/**
 * `GET /eth/v1/evidence[?nonce=0x…32 bytes]`: attestation evidence binding the transport key and
 * every BLS key the signer holds now (docs/tee-evidence.md), for `secure-signer verify-evidence`.
 * A verifier's fresh nonce proves the evidence was made for its request.
 */
export function registerEvidenceRoute(
  app: FastifyInstance,
  deps: { platform: Platform; keys: SigningKeys; transportKey: TransportKey },
): void {
  app.get("/eth/v1/evidence", { schema: { querystring: Query } }, async (request) => {
    const { nonce } = request.query as { nonce?: string };
    return attest(deps.platform, {
      transportPublicKey: deps.transportKey.publicKey,
      blsPubkeys: deps.keys.pubkeys(),
      ...(nonce && { nonce: fromHex(nonce, "nonce", 32) }),
    });
  });
}
