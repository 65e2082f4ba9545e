import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { firstSchemaError } from "../util/schema.js";
import { bareHex, fromHex, toHex } from "../util/hex.js";
import { createSealer } from "./aead.js";
import { TeeError } from "./errors.js";
import type { Evidence, Platform } from "./platform.js";
import type { StateKey } from "./stateKey.js";

/**
 * Moving the state master key from one enclave build to the next (an upgrade under either SGX
 * sealing policy, or a move after a TCB recovery the platform cannot bridge), over a mutually
 * attested channel:
 *
 *   successor                                   predecessor (holds the key)
 *   ephemeral X25519 key S; evidence over S  →  verifies it; the successor's measurement must be on
 *                                               the allowlist the release key signed
 *                                            ←  ephemeral key P, the master key encrypted to
 *                                               X25519(P, S), evidence over S ‖ P ‖ ciphertext
 *   verifies it (the predecessor must be on the same allowlist), decrypts, seals under its own platform
 *
 * The release key is the only authority: neither the host nor the operator can add a measurement,
 * and each side's evidence binds the ephemeral keys, so a relay in between learns nothing and
 * cannot splice two sessions.
 */

/** Checks evidence and returns what it measured and the 64 bytes of report data it binds (hex). */
export type EvidenceVerifier = (evidence: Evidence) => Promise<{ measurement: string; reportData: string }>;

const Hex32 = Type.String({ pattern: "^(0x)?[0-9a-fA-F]{64}$" });
const EvidenceSchema = Type.Object({
  platform: Type.String(),
  format: Type.String(),
  quote: Type.String(),
  reportData: Type.String(),
  /** SEV-SNP: the VCEK the platform found beside its report (tsm.ts), which its verifier needs. */
  vcek: Type.Optional(Type.String()),
});
/** The wire formats, exported for the HTTP route that carries them (api/stateMigration.ts). */
export const AllowlistSchema = Type.Object(
  {
    /** Names the list in the signed bytes, so a signature over anything else cannot pass for one. */
    kind: Type.Literal("secure-signer/release-allowlist/v1"),
    measurements: Type.Array(Hex32, { minItems: 1, maxItems: 1000 }),
    signature: Type.String({ pattern: "^0x[0-9a-fA-F]{128}$" }),
  },
  { additionalProperties: false },
);
export const RequestSchema = Type.Object({ publicKey: Hex32, evidence: EvidenceSchema }, { additionalProperties: false });
export const ResponseSchema = Type.Object({ publicKey: Hex32, ciphertext: Type.String({ minLength: 1 }), evidence: EvidenceSchema }, { additionalProperties: false });

export type SignedAllowlist = Static<typeof AllowlistSchema>;
export type MigrationRequest = Static<typeof RequestSchema>;
export type MigrationResponse = Static<typeof ResponseSchema>;

const utf8 = new TextEncoder();

function allowlistBytes(measurements: readonly string[]): Uint8Array {
  return utf8.encode(["secure-signer/release-allowlist/v1", ...measurements.map(bareHex)].join("\n"));
}

/** For release tooling: the allowlist of `measurements` signed with the release key's Ed25519 secret. */
export function signAllowlist(measurements: readonly string[], releaseSecretKey: Uint8Array): SignedAllowlist {
  return {
    kind: "secure-signer/release-allowlist/v1",
    measurements: measurements.map(bareHex),
    signature: toHex(ed25519.sign(allowlistBytes(measurements), releaseSecretKey)),
  };
}

/** The measurements of an allowlist whose signature is by `releaseKey` (Ed25519 public key); TeeError("NOT_ALLOWLISTED") otherwise. */
export function checkAllowlist(list: unknown, releaseKey: Uint8Array): Set<string> {
  if (!Value.Check(AllowlistSchema, list)) {
    throw new TeeError("NOT_ALLOWLISTED", `not a release allowlist: ${firstSchemaError(Value.Errors(AllowlistSchema, list)) ?? "invalid"}`);
  }
  if (!ed25519.verify(fromHex(list.signature.toLowerCase(), "signature", 64), allowlistBytes(list.measurements), releaseKey)) {
    throw new TeeError("NOT_ALLOWLISTED", "the allowlist is not signed by the release key");
  }
  return new Set(list.measurements.map(bareHex));
}

function bindingOf(label: string, ...parts: Uint8Array[]): string {
  return toHex(sha512(concatBytes(utf8.encode(`secure-signer/state-migration/${label}/v1`), ...parts)));
}

async function attested(evidence: Evidence, expectedReportData: string, allowed: Set<string>, verify: EvidenceVerifier, who: string): Promise<void> {
  let checked;
  try {
    checked = await verify(evidence);
  } catch (e) {
    throw new TeeError("INVALID_EVIDENCE", `the ${who}'s evidence does not verify: ${(e as Error).message}`);
  }
  if (checked.reportData.toLowerCase() !== expectedReportData) {
    throw new TeeError("INVALID_EVIDENCE", `the ${who}'s evidence does not bind this migration's keys`);
  }
  if (!allowed.has(bareHex(checked.measurement))) {
    throw new TeeError("NOT_ALLOWLISTED", `the ${who}'s measurement ${bareHex(checked.measurement)} is not on the release allowlist`, {
      measurement: bareHex(checked.measurement),
    });
  }
}

/** Both ends derive one key from their X25519 exchange, bound to the ordered pair of ephemeral keys. */
function channelSealer(ownSecret: Uint8Array, peer: Uint8Array, successor: Uint8Array, predecessor: Uint8Array) {
  const shared = x25519.getSharedSecret(ownSecret, peer);
  const key = hkdf(sha256, shared, undefined, concatBytes(utf8.encode("secure-signer/state-migration/key/v1"), successor, predecessor), 32);
  shared.fill(0);
  const sealer = createSealer(key, { magic: "SSMG", infoPrefix: "secure-signer/state-migration/v1/", platform: "migration" });
  key.fill(0);
  return sealer;
}

/** The successor's side: a request to send to the predecessor, and how to take its answer. */
export async function requestMigration(
  platform: Platform,
): Promise<{ request: MigrationRequest; accept(response: unknown, allowlist: unknown, releaseKey: Uint8Array, verify: EvidenceVerifier): Promise<Uint8Array> }> {
  const secret = x25519.utils.randomSecretKey();
  const publicKey = x25519.getPublicKey(secret);
  const evidence = await platform.evidence(fromHex(bindingOf("request", publicKey), "binding", 64));
  return {
    request: { publicKey: toHex(publicKey), evidence },
    async accept(response, allowlist, releaseKey, verify) {
      if (!Value.Check(ResponseSchema, response)) {
        throw new TeeError("INVALID_EVIDENCE", `not a migration response: ${firstSchemaError(Value.Errors(ResponseSchema, response)) ?? "invalid"}`);
      }
      const allowed = checkAllowlist(allowlist, releaseKey);
      const predecessor = fromHex(`0x${bareHex(response.publicKey)}`, "publicKey", 32);
      const ciphertext = new Uint8Array(Buffer.from(response.ciphertext, "base64"));
      await attested(response.evidence, bindingOf("response", publicKey, predecessor, ciphertext), allowed, verify, "predecessor");
      try {
        return channelSealer(secret, predecessor, publicKey, predecessor).unseal(ciphertext, "state-master-key");
      } finally {
        secret.fill(0);
      }
    },
  };
}

/**
 * The predecessor's side: answers a successor whose evidence verifies and whose measurement the
 * release key allowlisted, with the master key encrypted to it; refuses any other.
 */
export async function answerMigration(
  state: StateKey,
  request: unknown,
  allowlist: unknown,
  releaseKey: Uint8Array,
  verify: EvidenceVerifier,
): Promise<MigrationResponse> {
  if (!Value.Check(RequestSchema, request)) {
    throw new TeeError("INVALID_EVIDENCE", `not a migration request: ${firstSchemaError(Value.Errors(RequestSchema, request)) ?? "invalid"}`);
  }
  const allowed = checkAllowlist(allowlist, releaseKey);
  const successor = fromHex(`0x${bareHex(request.publicKey)}`, "publicKey", 32);
  await attested(request.evidence, bindingOf("request", successor), allowed, verify, "successor");
  const secret = x25519.utils.randomSecretKey();
  const publicKey = x25519.getPublicKey(secret);
  const master = state.exportForMigration();
  let ciphertext: Uint8Array;
  try {
    ciphertext = channelSealer(secret, successor, successor, publicKey).seal(master, "state-master-key");
  } finally {
    master.fill(0);
    secret.fill(0);
  }
  const evidence = await state.platform.evidence(fromHex(bindingOf("response", successor, publicKey, ciphertext), "binding", 64));
  return { publicKey: toHex(publicKey), ciphertext: Buffer.from(ciphertext).toString("base64"), evidence };
}
