import { SecretKey } from "@chainsafe/blst";
import { randomBytes } from "node:crypto";
import { InputError } from "../errors.js";
import type { KeyProvenance } from "../tee/statement.js";
import { createDepositData, type DepositDataJson, type DepositParams } from "./depositData.js";
import type { KeyRegistry } from "./registry.js";
import { keyPairOf, type SealedKeyStore } from "./sealedStore.js";

/**
 * Keys generated inside are independent: 32 bytes of IKM from the OS CSPRNG through the BLS
 * KeyGen of the IETF BLS signature draft (HKDF-mod-r, as blst implements it).
 *
 * Why not EIP-2333 children of one sealed seed: a seed's only benefit is a mnemonic backup, and a
 * backup that can leave the enclave defeats keeping keys inside it; without one, the seed is just a
 * single secret whose compromise (one leaked sealed blob) yields every key, past and future. With
 * independent keys a leaked blob yields one key. Backup here means exporting a keystore, a decision
 * made per key.
 */
export function generateSecretKey(): Uint8Array {
  const ikm = randomBytes(32);
  try {
    return SecretKey.fromKeygen(ikm).toBytes();
  } finally {
    ikm.fill(0);
  }
}

export const MAX_KEYGEN_COUNT = 1000;

/** The deposit keygen signs for each new key, inside, before the key is sealed. */
export type KeygenDeposit = Omit<DepositParams, "keys" | "pubkey">;

export interface GeneratedKey {
  pubkey: string;
  /** As sealed: "generated", its creation counter and, when asked for, its deposit. */
  provenance: KeyProvenance;
  depositData?: DepositDataJson;
}

/**
 * What an operator can rely on to get a generated key back, said wherever keys are generated (CLI,
 * API response, log) so nobody learns it after the loss. There is no export: a copy that can leave
 * the enclave is what keeping keys inside rules out, and an export only under M-of-N operator
 * approval verified inside is not built (docs/tee.md, "Recovery of generated keys").
 */
export const KEYGEN_RECOVERY =
  "none: a generated key exists only sealed under this signer's state master key and is never exported; " +
  "it survives restarts and TCB recoveries, a new build only by migration of that key (docs/tee.md, \"Upgrades\"); if every enclave that can open it is lost, " +
  "the validator can only be exited from its withdrawal address (EIP-7002; deposit with 0x01/0x02 credentials). " +
  "Import EIP-2335 keystores instead for keys you must be able to restore (docs/tee.md)";

/**
 * Generates `count` keys; each is sealed (durably) with origin "generated", and with its deposit
 * when `deposit` is given, before it is installed in `registry`, so a key that could sign always
 * survives a restart. Returns the keys in generation order. The secrets never leave this function.
 */
export async function generateKeys(
  count: number,
  deps: { sealedStore: SealedKeyStore; registry?: KeyRegistry; deposit?: KeygenDeposit },
): Promise<GeneratedKey[]> {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_KEYGEN_COUNT) {
    throw new InputError("INVALID_INPUT", `count must be an integer from 1 to ${MAX_KEYGEN_COUNT}, got ${count}`);
  }
  const generated: GeneratedKey[] = [];
  for (let i = 0; i < count; i++) {
    const key = keyPairOf(generateSecretKey());
    try {
      const depositData = deps.deposit && (await createDepositData({ ...deps.deposit, pubkey: key.pubkey, keys: signerOf(key) }));
      const { provenance } = await deps.sealedStore.create(key.secretKey, {
        origin: "generated",
        ...(depositData && {
          deposit: {
            withdrawalCredentials: bare(depositData.withdrawal_credentials),
            amountGwei: depositData.amount,
            forkVersion: bare(depositData.fork_version),
            depositDataRoot: bare(depositData.deposit_data_root),
          },
        }),
      });
      await deps.registry?.install([{ ...key, provenance }], "sealed");
      generated.push({ pubkey: key.pubkey, provenance, ...(depositData && { depositData }) });
    } finally {
      key.secretKey.fill(0);
    }
  }
  return generated;
}

/** The one new key as the deposit signer sees keys: it signs with the secret directly, before install. */
function signerOf(key: { pubkey: string; secretKey: Uint8Array }): KeygenSigner {
  return {
    has: (pubkey) => pubkey === key.pubkey,
    sign: async (_pubkey, message) => SecretKey.fromBytes(key.secretKey).sign(message).toBytes(),
  };
}
type KeygenSigner = DepositParams["keys"];

/** Deposit data files write hex without 0x, as staking-deposit-cli does. */
const bare = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
