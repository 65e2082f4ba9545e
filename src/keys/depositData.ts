import { DOMAIN_DEPOSIT, MIN_ACTIVATION_BALANCE, MAX_EFFECTIVE_BALANCE_ELECTRA, MIN_DEPOSIT_AMOUNT } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import type { SigningKeys } from "../bls/signingKeys.js";
import { InputError } from "../errors.js";
import { computeDomain, computeSigningRoot } from "../signing/domain.js";
import { fromHex, normalizePubkey, toBareHex } from "../util/hex.js";

/**
 * One entry of the deposit_data-*.json that staking-deposit-cli writes and the Launchpad reads.
 * Hex fields are lower-case without 0x, as that tool writes them.
 */
export interface DepositDataJson {
  pubkey: string;
  withdrawal_credentials: string;
  amount: number;
  signature: string;
  deposit_message_root: string;
  deposit_data_root: string;
  fork_version: string;
  network_name: string;
  deposit_cli_version: string;
}

/**
 * The Launchpad refuses files without a deposit_cli_version it knows; this is the staking-deposit-cli
 * release whose output format these files follow.
 */
export const DEPOSIT_CLI_VERSION = "2.8.0";

export type WithdrawalType = "0x01" | "0x02";

/** 0x01 (execution address) or 0x02 (compounding, EIP-7251): prefix ‖ 11 zero bytes ‖ address. */
export function withdrawalCredentials(type: WithdrawalType, address: string): Uint8Array {
  const out = new Uint8Array(32);
  out[0] = type === "0x01" ? 0x01 : 0x02;
  out.set(fromHex(address, "withdrawal address", 20), 12);
  return out;
}

export interface DepositParams {
  /** What signs: the loaded keys, or keygen's one secret before it is installed. */
  keys: Pick<SigningKeys, "has" | "sign">;
  pubkey: string;
  withdrawalType: WithdrawalType;
  withdrawalAddress: string;
  /** Gwei. Default 32 ETH. 0x01 allows 1..32 ETH, 0x02 1..2048 ETH. */
  amountGwei?: number;
  /** From keyNetwork(), or any {name, genesisForkVersion} for a custom network. */
  network: { name: string; genesisForkVersion: Uint8Array };
}

/**
 * Signs a deposit as the deposit contract verifies it: DepositMessage under the DEPOSIT domain of
 * the genesis fork version with a zero genesis validators root (deposits must verify before genesis
 * and across forks).
 */
export async function createDepositData(params: DepositParams): Promise<DepositDataJson> {
  const { keys, withdrawalType, network } = params;
  const pubkey = normalizePubkey(params.pubkey);
  const amount = params.amountGwei ?? MIN_ACTIVATION_BALANCE;
  const max = withdrawalType === "0x01" ? MIN_ACTIVATION_BALANCE : MAX_EFFECTIVE_BALANCE_ELECTRA;
  if (!Number.isSafeInteger(amount) || amount < MIN_DEPOSIT_AMOUNT || amount > max) {
    throw new InputError(
      "INVALID_INPUT",
      `deposit amount must be whole gwei from ${MIN_DEPOSIT_AMOUNT} to ${max} for ${withdrawalType} credentials, got ${amount}`,
    );
  }
  if (network.genesisForkVersion.length !== 4) {
    throw new InputError("INVALID_INPUT", `genesis fork version must be 4 bytes, got ${network.genesisForkVersion.length}`);
  }
  if (!keys.has(pubkey)) throw new InputError("INVALID_INPUT", `no key loaded for ${pubkey}`);

  const message = {
    pubkey: fromHex(pubkey, "pubkey", 48),
    withdrawalCredentials: withdrawalCredentials(withdrawalType, params.withdrawalAddress),
    amount,
  };
  const messageRoot = ssz.phase0.DepositMessage.hashTreeRoot(message);
  const domain = computeDomain(DOMAIN_DEPOSIT, network.genesisForkVersion, new Uint8Array(32));
  const signature = await keys.sign(pubkey, computeSigningRoot(messageRoot, domain));
  const dataRoot = ssz.phase0.DepositData.hashTreeRoot({ ...message, signature });
  return {
    pubkey: toBareHex(message.pubkey),
    withdrawal_credentials: toBareHex(message.withdrawalCredentials),
    amount,
    signature: toBareHex(signature),
    deposit_message_root: toBareHex(messageRoot),
    deposit_data_root: toBareHex(dataRoot),
    fork_version: toBareHex(network.genesisForkVersion),
    network_name: network.name,
    deposit_cli_version: DEPOSIT_CLI_VERSION,
  };
}
