/**
 * What the signing domain derives from a Web3Signer sign request: the root to sign and, for the
 * slashable types, what slashing protection must check. The signing root is always computed here
 * from the message, never taken from the caller.
 */
import type { SlashingCheck } from "../slashing/guard.js";

export type { SlashingCheck };

export interface SigningPlan {
  /** The request's `type`, e.g. "BLOCK_V2". */
  type: string;
  signingRoot: Uint8Array;
  /** 0x-prefixed lower-case hex of fork_info.genesis_validators_root (zero for DEPOSIT and VALIDATOR_REGISTRATION requests without fork_info). */
  genesisValidatorsRoot: string;
  /** Present for BLOCK, BLOCK_V2 and ATTESTATION. */
  slashing?: SlashingCheck;
  /** For logs and metrics: slot or epoch the message concerns, when it has one. */
  slot?: number;
  epoch?: number;
}
