/**
 * Entry-point checks of sign requests, shared by both backends. The API validates first; these
 * keep a caller that skipped it from storing something the rules were not written for (an
 * unsafe integer, a root in another case that would never match as a repeat).
 */
import { InputError } from "../errors.js";
import type { AttestationVote, BlockProposal } from "./store.js";

const ROOT_RE = /^0x[0-9a-f]{64}$/;
const PUBKEY_RE = /^0x[0-9a-f]{96}$/;

function check(ok: boolean, field: string, what: string): void {
  if (!ok) throw new InputError("INVALID_INPUT", `${field} must be ${what}`, { field });
}

function common(r: { pubkey: string; genesisValidatorsRoot: string; signingRoot: string }): void {
  check(PUBKEY_RE.test(r.pubkey), "pubkey", "48 bytes of lower-case 0x-prefixed hex");
  check(ROOT_RE.test(r.genesisValidatorsRoot), "genesisValidatorsRoot", "32 bytes of lower-case 0x-prefixed hex");
  check(ROOT_RE.test(r.signingRoot), "signingRoot", "32 bytes of lower-case 0x-prefixed hex");
}

const uint = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

export function validateProposal(p: BlockProposal): void {
  common(p);
  check(uint(p.slot), "slot", "a non-negative safe integer");
}

export function validateVote(v: AttestationVote): void {
  common(v);
  check(uint(v.sourceEpoch), "sourceEpoch", "a non-negative safe integer");
  check(uint(v.targetEpoch), "targetEpoch", "a non-negative safe integer");
}
