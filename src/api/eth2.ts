import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { SigningKeys } from "../bls/signingKeys.js";
import { SIGN_REQUEST, upperCaseSignType } from "../signing/schema.js";
import type { SigningService } from "../signing/service.js";
import { toHex } from "../util/hex.js";

export interface Eth2Deps {
  keys: Pick<SigningKeys, "pubkeys">;
  service: SigningService;
}

const Identifier = Type.Object({ identifier: Type.String({ maxLength: 200 }) });

/** Web3Signer answers JSON when the client accepts JSON (or anything), plain hex otherwise. */
function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  // What clients send, answered without splitting the header on every request.
  if (accept === "application/json" || accept === "*/*") return true;
  return accept.split(",").some((part) => {
    const media = part.split(";")[0]!.trim().toLowerCase();
    return media === "application/json" || media === "*/*";
  });
}

/** The Web3Signer eth2 signing API: validates the request and hands it to the signing service. */
export const eth2Routes: FastifyPluginAsyncTypebox<Eth2Deps> = async (app, deps) => {
  app.get("/api/v1/eth2/publicKeys", { schema: { response: { 200: Type.Array(Type.String()) } } }, async () =>
    deps.keys.pubkeys(),
  );

  app.post(
    "/api/v1/eth2/sign/:identifier",
    { schema: { params: Identifier, body: SIGN_REQUEST }, preValidation: upperCaseSignType },
    async (request, reply) => {
      const signature = toHex(await deps.service.sign(request.params.identifier, request.body));
      if (wantsJson(request)) {
        return reply.type("application/json; charset=utf-8").serializer(JSON.stringify).send({ signature });
      }
      return reply.type("text/plain; charset=utf-8").send(signature);
    },
  );
};
