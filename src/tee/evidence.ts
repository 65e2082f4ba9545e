import { normalizePubkey, toHex } from "../util/hex.js";
import type { InstanceIdentity } from "./identity.js";
import type { Evidence, Platform } from "./platform.js";
import { reportData } from "./reportData.js";
import type { KeyProvenance, KeyStatement } from "./statement.js";

/**
 * The evidence document the signer serves and keygen returns (docs/tee-evidence.md, version 2): the
 * platform's evidence over the transport and instance identity keys, plus one statement per BLS
 * key signed by that identity, so that `verify-evidence FILE` needs nothing else.
 */
export interface SignerEvidence extends Evidence {
  version: 2;
  transportPublicKey: string;
  identityPublicKey: string;
  /** Sorted by pubkey. */
  statements: KeyStatement[];
  nonce?: string;
  /** SEV-SNP, when the platform supplied the VCEK (base64 DER). */
  vcek?: string;
}

const STATEMENTS_PER_TURN = 16;

export interface AttestDeps {
  platform: Platform;
  identity: InstanceIdentity;
  transportPublicKey: Uint8Array;
}

/** Evidence for the keys given with their sealed provenance; `nonce` makes it fresh. */
export async function attest(deps: AttestDeps, keys: ReadonlyArray<{ pubkey: string; provenance: KeyProvenance }>, nonce?: Uint8Array): Promise<SignerEvidence> {
  const evidence = await deps.platform.evidence(
    reportData({ transportPublicKey: deps.transportPublicKey, identityPublicKey: deps.identity.publicKey, blsPubkeys: [], ...(nonce && { nonce }) }),
  );
  const statements: KeyStatement[] = [];
  for (const [i, { pubkey, provenance }] of keys.entries()) {
    // A statement not yet signed costs ~1 ms: the first request for 10,000 keys yields between
    // lots, so signing requests are answered meanwhile (later ones come from the identity's cache).
    if (i > 0 && i % STATEMENTS_PER_TURN === 0) await new Promise(setImmediate);
    statements.push(deps.identity.statement(normalizePubkey(pubkey), provenance));
  }
  statements.sort((a, b) => (a.pubkey < b.pubkey ? -1 : a.pubkey > b.pubkey ? 1 : 0));
  return {
    ...evidence,
    version: 2,
    transportPublicKey: toHex(deps.transportPublicKey),
    identityPublicKey: deps.identity.publicKeyHex,
    statements,
    ...(nonce !== undefined ? { nonce: toHex(nonce) } : {}),
  };
}
