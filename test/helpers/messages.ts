import * as blst from "@chainsafe/blst";
import { ssz } from "@lodestar/types";
import { computeDomain, computeSigningRoot, DOMAIN } from "./signingCases.js";

/** Minimal valid Web3Signer sign bodies for mainnet (Fulu fork_info), for protection and load tests. */
export const MAINNET_GVR = "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95";

export const FULU_FORK_INFO = {
  fork: { previous_version: "0x05000000", current_version: "0x06000000", epoch: "411392" },
  genesis_validators_root: MAINNET_GVR,
};

const root = (byte: number) => "0x" + byte.toString(16).padStart(2, "0").repeat(32);

/** An ATTESTATION; `variant` changes the beacon_block_root, so two variants are a double vote. */
export function attestationBody(source: number, target: number, variant = 0) {
  return {
    type: "ATTESTATION",
    fork_info: FULU_FORK_INFO,
    attestation: {
      slot: String(target * 32),
      index: "0",
      beacon_block_root: root(variant),
      source: { epoch: String(source), root: root(0xaa) },
      target: { epoch: String(target), root: root(0xbb) },
    },
  };
}

/** A BLOCK_V2 header; `variant` changes the body root, so two variants at one slot are a double proposal. */
export function blockBody(slot: number, variant = 0) {
  return {
    type: "BLOCK_V2",
    fork_info: FULU_FORK_INFO,
    beacon_block: {
      version: "FULU",
      block_header: {
        slot: String(slot),
        proposer_index: "7",
        parent_root: root(0x01),
        state_root: root(0x02),
        body_root: root(variant),
      },
    },
  };
}

export async function sign(
  url: string,
  pubkey: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; signature?: string; message?: string }> {
  const res = await fetch(`${url}/api/v1/eth2/sign/${pubkey}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { signature?: string; message?: string };
  return { status: res.status, ...json };
}

/**
 * Checks a signature the signer returned for one of the bodies above, by a path independent of
 * src/signing: the container's root from @lodestar/types, the domain written out as the spec
 * defines it (fork_info's previous version before its fork epoch), blst's verify.
 */
export function verifyReturned(pubkey: string, body: ReturnType<typeof attestationBody> | ReturnType<typeof blockBody>, signature: string): boolean {
  const fulu = Number(FULU_FORK_INFO.fork.epoch);
  let objectRoot: Uint8Array;
  let domainType: string;
  let epoch: number;
  if (body.type === "ATTESTATION") {
    const a = (body as ReturnType<typeof attestationBody>).attestation;
    objectRoot = ssz.phase0.AttestationData.hashTreeRoot(ssz.phase0.AttestationData.fromJson(a));
    domainType = DOMAIN.BEACON_ATTESTER;
    epoch = Number(a.target.epoch);
  } else {
    const h = (body as ReturnType<typeof blockBody>).beacon_block.block_header;
    objectRoot = ssz.phase0.BeaconBlockHeader.hashTreeRoot(ssz.phase0.BeaconBlockHeader.fromJson(h));
    domainType = DOMAIN.BEACON_PROPOSER;
    epoch = Math.floor(Number(h.slot) / 32);
  }
  const version = epoch < fulu ? FULU_FORK_INFO.fork.previous_version : FULU_FORK_INFO.fork.current_version;
  const root = computeSigningRoot(objectRoot, computeDomain(domainType, version, MAINNET_GVR));
  return blst.verify(root, blst.PublicKey.fromHex(pubkey), blst.Signature.fromHex(signature));
}
