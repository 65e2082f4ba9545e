import { ed25519 } from "@noble/curves/ed25519.js";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { fromHex, normalizePubkey, toHex } from "../util/hex.js";
import { firstSchemaError } from "../util/schema.js";
import { TeeError } from "./errors.js";

/**
 * Key statements (evidence v2, docs/tee-evidence.md): what the instance identity key, which lives
 * only inside the enclave and is bound once in the quote's report data, says about one BLS key.
 * The origin comes from the key's sealed metadata, which only keygen writes as "generated".
 *
 *   message = "secure-signer/key-statement" ‖ u8 version = 1 ‖ identity public key (32)
 *           ‖ BLS pubkey (48) ‖ u8 origin (1 generated, 2 imported) ‖ u64be counter
 *           ‖ u8 0                                                         (no deposit)
 *           | u8 1 ‖ withdrawal credentials (32) ‖ u64be amount (gwei) ‖ fork version (4) ‖ deposit data root (32)
 *   signature = Ed25519(identity key, message)
 *
 * The identity public key is in the message so that a statement cannot be presented for another
 * instance, the BLS pubkey so that it cannot be presented for another key.
 */
export const STATEMENT_VERSION = 1;
const DOMAIN = Buffer.from("secure-signer/key-statement", "ascii");
const ORIGIN_BYTE = { generated: 1, imported: 2 } as const;

export type KeyOriginKind = keyof typeof ORIGIN_BYTE;

/** The deposit signed inside at keygen, by the fields a relying party compares with the deposit data file. */
export interface StatementDeposit {
  withdrawalCredentials: Uint8Array;
  amountGwei: number;
  forkVersion: Uint8Array;
  depositDataRoot: Uint8Array;
}

/** Where a key came from, as kept in its sealed metadata; keys with none are "imported" with counter 0. */
export interface KeyProvenance {
  origin: KeyOriginKind;
  /** The sealed store's creation counter when the key was sealed; 0 for keys sealed before it existed. */
  counter: number;
  deposit?: StatementDeposit;
}

const Hex = (bytes: number) => Type.String({ pattern: `^0x[0-9a-f]{${bytes * 2}}$` });
export const KeyStatementSchema = Type.Object(
  {
    pubkey: Hex(48),
    origin: Type.Union([Type.Literal("generated"), Type.Literal("imported")]),
    counter: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    deposit: Type.Optional(
      Type.Object(
        {
          withdrawal_credentials: Hex(32),
          amount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
          fork_version: Hex(4),
          deposit_data_root: Hex(32),
        },
        { additionalProperties: false },
      ),
    ),
    signature: Hex(64),
  },
  { additionalProperties: false },
);
export type KeyStatement = Static<typeof KeyStatementSchema>;

function u64be(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function sized(bytes: Uint8Array, length: number, what: string): Buffer {
  if (bytes.length !== length) throw new TeeError("INVALID_EVIDENCE", `${what} must be ${length} bytes, got ${bytes.length}`);
  return Buffer.from(bytes);
}

/** The signed bytes of a statement about `pubkey` by the identity `identityPublicKey`. */
export function statementMessage(identityPublicKey: Uint8Array, pubkey: string, p: KeyProvenance): Uint8Array {
  if (identityPublicKey.length !== 32) throw new TeeError("INVALID_EVIDENCE", "instance identity key must be 32 bytes (Ed25519)");
  if (p.deposit && p.origin !== "generated") throw new TeeError("INVALID_EVIDENCE", "only a generated key's statement carries a deposit");
  const parts = [
    DOMAIN,
    Buffer.from([STATEMENT_VERSION]),
    Buffer.from(identityPublicKey),
    Buffer.from(fromHex(pubkey, "pubkey", 48)),
    Buffer.from([ORIGIN_BYTE[p.origin]]),
    u64be(p.counter),
  ];
  if (!p.deposit) {
    parts.push(Buffer.from([0]));
  } else {
    const d = p.deposit;
    parts.push(
      Buffer.from([1]),
      sized(d.withdrawalCredentials, 32, "withdrawal credentials"),
      u64be(d.amountGwei),
      sized(d.forkVersion, 4, "fork version"),
      sized(d.depositDataRoot, 32, "deposit data root"),
    );
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Signs the statement about one key; Ed25519 is deterministic, so the same key always gets the same statement. */
export function signStatement(identitySecretKey: Uint8Array, pubkey: string, p: KeyProvenance, identityPublicKey: Uint8Array = ed25519.getPublicKey(identitySecretKey)): KeyStatement {
  const canonical = normalizePubkey(pubkey);
  const signature = ed25519.sign(statementMessage(identityPublicKey, canonical, p), identitySecretKey);
  return {
    pubkey: canonical,
    origin: p.origin,
    counter: p.counter,
    ...(p.deposit && {
      deposit: {
        withdrawal_credentials: toHex(p.deposit.withdrawalCredentials),
        amount: p.deposit.amountGwei,
        fork_version: toHex(p.deposit.forkVersion),
        deposit_data_root: toHex(p.deposit.depositDataRoot),
      },
    }),
    signature: toHex(signature),
  };
}

/** What a verified statement says. */
export type VerifiedStatement = { pubkey: string } & KeyProvenance;

/**
 * The statement's content when it is well-formed and signed by `identityPublicKey`; TeeError
 * INVALID_EVIDENCE otherwise, naming the key, so that one bad statement is never read as a good one.
 */
export function verifyStatement(identityPublicKey: Uint8Array, statement: unknown): VerifiedStatement {
  if (!Value.Check(KeyStatementSchema, statement)) {
    throw new TeeError("INVALID_EVIDENCE", `key statement is not valid: ${firstSchemaError(Value.Errors(KeyStatementSchema, statement)) ?? "wrong shape"}`);
  }
  const s = statement;
  const provenance: KeyProvenance = {
    origin: s.origin,
    counter: s.counter,
    ...(s.deposit && {
      deposit: {
        withdrawalCredentials: fromHex(s.deposit.withdrawal_credentials, "withdrawal_credentials", 32),
        amountGwei: s.deposit.amount,
        forkVersion: fromHex(s.deposit.fork_version, "fork_version", 4),
        depositDataRoot: fromHex(s.deposit.deposit_data_root, "deposit_data_root", 32),
      },
    }),
  };
  const message = statementMessage(identityPublicKey, s.pubkey, provenance);
  let ok: boolean;
  try {
    ok = ed25519.verify(fromHex(s.signature, "signature", 64), message, identityPublicKey);
  } catch {
    ok = false;
  }
  if (!ok) throw new TeeError("INVALID_EVIDENCE", `key statement for ${s.pubkey} is not signed by the instance identity key ${toHex(identityPublicKey)}`);
  return { pubkey: s.pubkey, ...provenance };
}
