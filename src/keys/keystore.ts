import { decrypt as decryptEip2335, type IKeystore } from "@chainsafe/bls-keystore";
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { MAX_DERIVATION_PATH_LENGTH } from "./derivationPaths.js";
import { KeyError } from "./errors.js";
import type { KeyPair } from "../bls/keyPair.js";
import { keyPairOf } from "./sealedStore.js";
import { firstSchemaError } from "../util/schema.js";

const Hex = (bytes?: number) =>
  Type.String({ pattern: bytes === undefined ? "^([0-9a-fA-F]{2})*$" : `^[0-9a-fA-F]{${bytes * 2}}$` });

// dklen 32 is what EIP-2335 prescribes: the cipher key is DK[0:16] and the checksum uses DK[16:32].
const Pbkdf2Kdf = Type.Object({
  function: Type.Literal("pbkdf2"),
  params: Type.Object({
    dklen: Type.Literal(32),
    c: Type.Integer({ minimum: 1, maximum: 1 << 24 }),
    prf: Type.Literal("hmac-sha256"),
    salt: Hex(),
  }),
  message: Type.Literal(""),
});

const ScryptKdf = Type.Object({
  function: Type.Literal("scrypt"),
  params: Type.Object({
    dklen: Type.Literal(32),
    n: Type.Integer({ minimum: 2, maximum: 1 << 20 }),
    r: Type.Integer({ minimum: 1, maximum: 32 }),
    p: Type.Integer({ minimum: 1, maximum: 16 }),
    salt: Hex(),
  }),
  message: Type.Literal(""),
});

/** EIP-2335 version 4 keystore. Unknown extra fields (e.g. `name` from some tools) are tolerated. */
export const KeystoreSchema = Type.Object({
  version: Type.Literal(4),
  uuid: Type.String(),
  description: Type.Optional(Type.String()),
  // Listed by GET /eth/v1/keystores and sealed with an imported key, hence bounded.
  path: Type.String({ maxLength: MAX_DERIVATION_PATH_LENGTH }),
  // Optional in practice (some tools write ""): an absent pubkey is derived instead of compared.
  // EIP-2335 writes bare hex; the keymanager spec's own example keystore and some tools add 0x,
  // which Web3Signer accepts, so parseKeystore strips it. One pattern, not a union, so that a
  // refusal quotes the form expected.
  pubkey: Type.Optional(Type.String({ pattern: "^((0x)?[0-9a-fA-F]{96})?$" })),
  crypto: Type.Object({
    kdf: Type.Union([Pbkdf2Kdf, ScryptKdf]),
    checksum: Type.Object({ function: Type.Literal("sha256"), params: Type.Object({}), message: Hex(32) }),
    cipher: Type.Object({
      function: Type.Literal("aes-128-ctr"),
      params: Type.Object({ iv: Hex(16) }),
      message: Hex(32),
    }),
  }),
});
export type Keystore = Static<typeof KeystoreSchema>;

const keystoreCheck = TypeCompiler.Compile(KeystoreSchema);

/**
 * staking-deposit-cli's KDF parameters, which nearly every validator keystore carries. A keystore
 * is untrusted input (the keymanager API takes 1,000 in one request), and its KDF runs before the
 * password is checked: a keystore may cost at most `--max-keystore-kdf-cost` times these.
 */
export const STANDARD_KDF = { scrypt: { n: 2 ** 18, r: 8, p: 1 }, pbkdf2: { c: 262_144 } } as const;

type Kdf = Keystore["crypto"]["kdf"];

/** The KDF's work as a multiple of STANDARD_KDF's: scrypt's grows as n·r·p, pbkdf2's as c. */
export function kdfCost(kdf: Kdf): number {
  if (kdf.function === "pbkdf2") return kdf.params.c / STANDARD_KDF.pbkdf2.c;
  const { n, r, p } = STANDARD_KDF.scrypt;
  return (kdf.params.n * kdf.params.r * kdf.params.p) / (n * r * p);
}

/** Bytes the KDF allocates while it runs: scrypt's V (128·n·r) and B (128·r·p); pbkdf2 next to none. */
export function kdfMemory(kdf: Kdf): number {
  return kdf.function === "scrypt" ? 128 * kdf.params.r * (kdf.params.n + kdf.params.p) : 0;
}

const describeKdf = (kdf: Kdf): string =>
  kdf.function === "scrypt" ? `scrypt n=${kdf.params.n}, r=${kdf.params.r}, p=${kdf.params.p}` : `pbkdf2 c=${kdf.params.c}`;

/**
 * Validates a parsed keystore object; `source` names it in the error (a file name or list index).
 * A KDF costing more than `maxKdfCost` times STANDARD_KDF's is refused here, before any of it runs.
 * The result's `pubkey`, when there is one, is in EIP-2335 form: bare lower-case hex.
 */
export function parseKeystore(value: unknown, source: string, maxKdfCost: number): Keystore {
  if (!keystoreCheck.Check(value)) {
    const where = firstSchemaError(keystoreCheck.Errors(value)) ?? "not an object";
    throw new KeyError("INVALID_KEYSTORE", `${source} is not a valid EIP-2335 keystore (${where})`, { source });
  }
  const kdf = value.crypto.kdf;
  if (kdf.function === "scrypt" && (kdf.params.n & (kdf.params.n - 1)) !== 0) {
    throw new KeyError("INVALID_KEYSTORE", `${source}: scrypt n must be a power of two, got ${kdf.params.n}`, { source });
  }
  const cost = kdfCost(kdf);
  if (cost > maxKdfCost) {
    const { scrypt, pbkdf2 } = STANDARD_KDF;
    // Rounded up, so that a cost just above the bound never reads as equal to it.
    const shown = Math.ceil(cost * 100) / 100;
    throw new KeyError(
      "INVALID_KEYSTORE",
      `${source}: ${describeKdf(kdf)} costs ${shown}× staking-deposit-cli's (scrypt n=${scrypt.n}, r=${scrypt.r}, p=${scrypt.p}; ` +
        `pbkdf2 c=${pbkdf2.c}); at most ${maxKdfCost}× is accepted (--max-keystore-kdf-cost)`,
      { source, kdfCost: cost, maxKdfCost },
    );
  }
  return value.pubkey ? { ...value, pubkey: value.pubkey.replace(/^0x/, "").toLowerCase() } : value;
}

/** Parses JSON text and validates it as a keystore (parseKeystore). */
export function parseKeystoreJson(text: string, source: string, maxKdfCost: number): Keystore {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new KeyError("INVALID_KEYSTORE", `${source} is not valid JSON: ${(e as Error).message}`, { source });
  }
  return parseKeystore(value, source, maxKdfCost);
}

/** The decrypted secret with the public key derived from it. */
export type DecryptedKey = KeyPair;

/**
 * Decrypts a validated keystore and checks that the secret is a valid BLS scalar whose public key
 * equals the keystore's `pubkey` (when it has one). The password is passed as a string because
 * bls-keystore normalises strings per EIP-2335 (NFKD, control codes removed) but mangles bytes.
 */
export async function decryptKeystore(keystore: Keystore, password: string, source: string): Promise<DecryptedKey> {
  let secret: Uint8Array;
  try {
    secret = await decryptEip2335(keystore as IKeystore, password);
  } catch (e) {
    if ((e as Error).message === "Invalid password") {
      throw new KeyError("WRONG_PASSWORD", `${source}: checksum mismatch, the password is wrong`, { source });
    }
    throw new KeyError("INVALID_KEYSTORE", `${source}: cannot decrypt: ${(e as Error).message}`, { source });
  }
  let key: KeyPair;
  try {
    key = keyPairOf(secret);
  } catch {
    secret.fill(0);
    throw new KeyError("INVALID_SECRET", `${source}: decrypted secret is not a valid BLS12-381 secret key`, {
      source,
    });
  }
  if (keystore.pubkey && key.pubkey !== "0x" + keystore.pubkey) {
    secret.fill(0);
    throw new KeyError(
      "PUBKEY_MISMATCH",
      `${source}: keystore pubkey 0x${keystore.pubkey} does not match the decrypted secret's ${key.pubkey}`,
      { source },
    );
  }
  return key;
}
