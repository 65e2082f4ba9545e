import type { ChainForkConfig } from "@lodestar/config";
import { BlsError } from "../bls/errors.js";
import type { SigningKeys } from "../bls/signingKeys.js";
import { InputError, SignerError } from "../errors.js";
import type { SignGuard } from "../slashing/guard.js";
import { signProtected, type SlashableRequest } from "../slashing/protect.js";
import type { SlashingProtectionStore } from "../slashing/store.js";
import { normalizePubkey, toHex, ZERO_ROOT_HEX } from "../util/hex.js";
import type { SigningPlan } from "./plan.js";
import type { SignRequest } from "./schema.js";
import { planSigning } from "./signingRoot.js";

/**
 * How a sign request ended, in the terms an operator alerts on: `refused` is slashing protection or
 * a guard doing its job, `invalid` and `unknown_key` are the caller's mistakes, `unavailable` is the
 * slashing database or continuity store being unreachable (retry), `error` the signer's own fault.
 */
export type SignOutcomeKind = "signed" | "refused" | "invalid" | "unknown_key" | "unavailable" | "error";

export const SIGN_OUTCOMES: readonly SignOutcomeKind[] = ["signed", "refused", "invalid", "unknown_key", "unavailable", "error"];

/** The one event a sign request emits, for the log line and the metrics; nothing in it is secret. */
export interface SignEvent {
  pubkey: string;
  type: string;
  slot?: number;
  epoch?: number;
  sourceEpoch?: number;
  targetEpoch?: number;
  outcome: SignOutcomeKind;
  /** The error's code when not signed (DOUBLE_VOTE, AHEAD_OF_CLOCK, DATABASE_UNAVAILABLE …). */
  code?: string;
  /** The error's message when not signed: what was wrong, for the audit trail. */
  message?: string;
  /** The error's structured detail (the conflicting record, the offending field). */
  context?: Readonly<Record<string, unknown>>;
  durationMs: number;
  /** For slashable requests that reached the slashing database: what was recorded and how long it waited on it. */
  db?: { kind: "block" | "attestation"; ms: number };
}

export interface SigningServiceDeps {
  chain: ChainForkConfig;
  /** The network's genesis_validators_root: messages for another chain are refused. */
  genesisValidatorsRoot: string;
  keys: SigningKeys;
  slashing: SlashingProtectionStore;
  guards?: readonly SignGuard[];
  observe?: (event: SignEvent) => void;
}

function outcomeOf(e: unknown): SignOutcomeKind {
  if (!(e instanceof SignerError)) return "error";
  if (e.code === "KEY_NOT_LOADED") return "unknown_key";
  switch (e.domain) {
    case "slashing":
    case "guard":
      return "refused";
    case "input":
      return "invalid";
    case "slashing-storage":
      return "unavailable";
    default:
      return "error";
  }
}

/**
 * The event for `outcome`, built field by field into one object: spreading the plan's parts (whose
 * shape differs by message type) into it costs V8's slow generic copy on every request.
 */
function eventOf(pubkey: string, request: SignRequest, plan: SigningPlan | undefined, outcome: SignOutcomeKind, started: number, db: SignEvent["db"]): SignEvent {
  const event: SignEvent = { pubkey, type: plan?.type ?? String((request as { type?: unknown }).type), outcome, durationMs: performance.now() - started };
  if (plan?.slot !== undefined) event.slot = plan.slot;
  if (plan?.epoch !== undefined) event.epoch = plan.epoch;
  if (plan?.slashing?.kind === "attestation") {
    event.sourceEpoch = plan.slashing.sourceEpoch;
    event.targetEpoch = plan.slashing.targetEpoch;
  }
  if (db) event.db = db;
  return event;
}

/**
 * The whole sign path, top-down, as Lodestar's ValidatorStore owns it: key lookup, signing root
 * from the message, chain check, guards, then for slashable messages the check-and-record, the
 * signature and the durable commit in the one store call that releases the signature only after
 * the commit. The HTTP route, the CLI and metrics only call this or observe its event.
 */
export class SigningService {
  constructor(private readonly deps: SigningServiceDeps) {}

  /** `identifier` is the public key as the caller wrote it (the route's path parameter). */
  async sign(identifier: string, request: SignRequest): Promise<Uint8Array> {
    const started = performance.now();
    const { keys, slashing, observe } = this.deps;
    let pubkey = identifier;
    let plan: SigningPlan | undefined;
    let db: SignEvent["db"];
    try {
      pubkey = normalizePubkey(identifier);
      if (!keys.has(pubkey)) throw new BlsError("KEY_NOT_LOADED", `no key loaded for public key ${pubkey}`);
      plan = planSigning(this.deps.chain, request);
      this.checkChain(plan);
      const { signingRoot, slashing: check, genesisValidatorsRoot } = plan;
      if (check) {
        for (const guard of this.deps.guards ?? []) {
          const waiting = guard.check(pubkey, check);
          if (waiting) await waiting;
        }
      }
      let signature: Uint8Array;
      if (check) {
        const root = toHex(signingRoot);
        // Built by kind rather than by spreading `check`, whose two shapes make the copy generic and slow.
        const request: SlashableRequest =
          check.kind === "block"
            ? { kind: "block", pubkey, genesisValidatorsRoot, slot: check.slot, signingRoot: root }
            : { kind: "attestation", pubkey, genesisValidatorsRoot, sourceEpoch: check.sourceEpoch, targetEpoch: check.targetEpoch, signingRoot: root };
        const asked = performance.now();
        let decided = false;
        const sign = () => {
          decided = true;
          return keys.sign(pubkey, signingRoot);
        };
        try {
          const signed = await signProtected(slashing, request, sign);
          signature = signed.signature;
          db = { kind: check.kind, ms: signed.dbMs };
        } catch (e) {
          // A refusal or an outage before the decision: all of that time was the database's.
          if (!decided) db = { kind: check.kind, ms: performance.now() - asked };
          throw e;
        }
      } else {
        signature = await keys.sign(pubkey, signingRoot);
      }
      observe?.(eventOf(pubkey, request, plan, "signed", started, db));
      return signature;
    } catch (e) {
      if (observe) {
        const event = eventOf(pubkey, request, plan, outcomeOf(e), started, db);
        if (e instanceof SignerError) {
          event.code = e.code;
          event.message = e.message;
          if (Object.keys(e.context).length > 0) event.context = e.context;
        }
        observe(event);
      }
      throw e;
    }
  }

  /**
   * Every message that names a chain (fork_info) must name this one; DEPOSIT and
   * VALIDATOR_REGISTRATION without fork_info are chain-independent and carry the zero root.
   */
  private checkChain(plan: SigningPlan): void {
    const expected = this.deps.genesisValidatorsRoot;
    if (plan.genesisValidatorsRoot !== ZERO_ROOT_HEX && plan.genesisValidatorsRoot !== expected) {
      throw new InputError(
        "INVALID_INPUT",
        `fork_info.genesis_validators_root ${plan.genesisValidatorsRoot} is not this network's (${expected})`,
        { field: "fork_info.genesis_validators_root" },
      );
    }
  }
}
