import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "@sinclair/typebox";
import type { ChainForkConfig } from "@lodestar/config";
import type { SigningKeys } from "../bls/signingKeys.js";
import { InputError } from "../errors.js";
import type { SigningPlan } from "../signing/plan.js";
import { SIGN_REQUEST, type SignRequest } from "../signing/schema.js";
import { planSigning } from "../signing/signingRoot.js";
import type { Recorded, SlashingProtectionStore } from "../slashing/store.js";
import { BlsError } from "../bls/errors.js";
import { normalizePubkey, toHex, ZERO_ROOT_HEX } from "../util/hex.js";

/** What happened to one sign request, for the log line and metrics of the composition root. */
export interface SignOutcome {
  pubkey: string;
  type: string;
  slot?: number;
  epoch?: number;
  sourceEpoch?: number;
  targetEpoch?: number;
  outcome: "signed" | "refused" | "error";
  code?: string;
  durationMs: number;
}

export interface Eth2Deps {
  chain: ChainForkConfig;
  /** The network's genesis_validators_root when it is known: requests for another chain are refused. */
  genesisValidatorsRoot?: string;
  keys: SigningKeys;
  slashing: SlashingProtectionStore;
  /** Extra refusals before anything is recorded (the start-up rollback floor); throws to refuse. */
  preCheck?: (plan: SigningPlan) => void;
  onOutcome?: (outcome: SignOutcome) => void;
}

const Identifier = Type.Object({ identifier: Type.String({ maxLength: 200 }) });

/** Web3Signer answers JSON when the client accepts JSON (or anything), plain hex otherwise. */
function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const media = part.split(";")[0]!.trim().toLowerCase();
    return media === "application/json" || media === "*/*";
  });
}

function recordFor(deps: Eth2Deps, pubkey: string, plan: SigningPlan): Promise<Recorded> | undefined {
  const check = plan.slashing;
  if (!check) return undefined;
  const signingRoot = toHex(plan.signingRoot);
  const genesisValidatorsRoot = plan.genesisValidatorsRoot;
  if (check.kind === "block") {
    return deps.slashing.checkAndRecordBlock({ pubkey, genesisValidatorsRoot, slot: check.slot, signingRoot });
  }
  return deps.slashing.checkAndRecordAttestation({
    pubkey,
    genesisValidatorsRoot,
    sourceEpoch: check.sourceEpoch,
    targetEpoch: check.targetEpoch,
    signingRoot,
  });
}

/**
 * Check, record, sign, in that order, per request: the signing root is computed here from the
 * message; the slashing record is decided before the signature is computed and committed before it
 * is released (the signature is dropped if the commit fails).
 */
async function signWithProtection(
  deps: Eth2Deps,
  pubkey: string,
  body: SignRequest,
  onPlan?: (plan: SigningPlan) => void,
): Promise<Uint8Array> {
  if (!deps.keys.has(pubkey)) {
    throw new BlsError("KEY_NOT_LOADED", `no key loaded for public key ${pubkey}`);
  }
  const plan = planSigning(deps.chain, body);
  onPlan?.(plan);
  // Every message that names a chain (fork_info) must name this one; DEPOSIT and
  // VALIDATOR_REGISTRATION without fork_info are chain-independent and carry the zero root.
  if (deps.genesisValidatorsRoot && plan.genesisValidatorsRoot !== ZERO_ROOT_HEX && plan.genesisValidatorsRoot !== deps.genesisValidatorsRoot) {
    throw new InputError(
      "INVALID_INPUT",
      `fork_info.genesis_validators_root ${plan.genesisValidatorsRoot} is not this network's (${deps.genesisValidatorsRoot})`,
      { field: "fork_info.genesis_validators_root" },
    );
  }
  deps.preCheck?.(plan);
  const recorded = await recordFor(deps, pubkey, plan);
  const signature = await deps.keys.sign(pubkey, plan.signingRoot);
  if (recorded) await recorded.durable();
  return signature;
}

function describe(body: SignRequest, plan: SigningPlan | undefined): Pick<SignOutcome, "type" | "slot" | "epoch" | "sourceEpoch" | "targetEpoch"> {
  const out: ReturnType<typeof describe> = { type: String((body as { type?: unknown }).type) };
  if (plan?.slot !== undefined) out.slot = plan.slot;
  if (plan?.epoch !== undefined) out.epoch = plan.epoch;
  if (plan?.slashing?.kind === "attestation") {
    out.sourceEpoch = plan.slashing.sourceEpoch;
    out.targetEpoch = plan.slashing.targetEpoch;
  }
  return out;
}

export function registerEth2Routes(app: FastifyInstance, deps: Eth2Deps): void {
  app.get("/api/v1/eth2/publicKeys", { schema: { response: { 200: Type.Array(Type.String()) } } }, async () =>
    deps.keys.pubkeys(),
  );

  app.post(
    "/api/v1/eth2/sign/:identifier",
    { schema: { params: Identifier, body: SIGN_REQUEST } },
    async (request, reply) => {
      const started = performance.now();
      const { identifier } = request.params as { identifier: string };
      const body = request.body as SignRequest;
      let pubkey = identifier;
      let plan: SigningPlan | undefined;
      try {
        pubkey = normalizePubkey(identifier);
        const signature = toHex(await signWithProtection(deps, pubkey, body, (p) => (plan = p)));
        deps.onOutcome?.({ pubkey, ...describe(body, plan), outcome: "signed", durationMs: performance.now() - started });
        if (wantsJson(request)) {
          return reply.type("application/json; charset=utf-8").serializer(JSON.stringify).send({ signature });
        }
        return reply.type("text/plain; charset=utf-8").send(signature);
      } catch (e) {
        const code = (e as { code?: string }).code;
        deps.onOutcome?.({
          pubkey,
          ...describe(body, plan),
          outcome: (e as { domain?: string }).domain === "slashing" ? "refused" : "error",
          ...(code ? { code } : {}),
          durationMs: performance.now() - started,
        });
        throw e;
      }
    },
  );
}
