import { ed25519 } from "@noble/curves/ed25519.js";
import { join } from "node:path";
import { toHex } from "../util/hex.js";
import { TeeError } from "./errors.js";
import type { Platform } from "./platform.js";
import { openSealedSecret } from "./sealedSecret.js";
import { signStatement, statementMessage, type KeyProvenance, type KeyStatement } from "./statement.js";

const IDENTITY_FILE = "instance-identity.sealed";
const SEAL_CONTEXT = "instance-identity:ed25519:v1";
const KEY_LENGTH = 32;

/**
 * The instance identity: an Ed25519 key generated inside on first start and sealed like the
 * transport key, so it never exists outside this enclave (or its sealed successors). The quote binds
 * its public key once (report data v2); it signs one statement per BLS key (statement.ts).
 */
export class InstanceIdentity {
  private constructor(
    private readonly secretKey: Uint8Array,
    readonly publicKey: Uint8Array,
  ) {}

  get publicKeyHex(): string {
    return toHex(this.publicKey);
  }

  /** Opens `<dataDir>/instance-identity.sealed`, creating it atomically on first start. */
  static async open(platform: Platform, dataDir: string): Promise<InstanceIdentity> {
    const path = join(dataDir, IDENTITY_FILE);
    let secretKey: Uint8Array;
    try {
      secretKey = await openSealedSecret(platform, path, SEAL_CONTEXT, KEY_LENGTH, () => ed25519.utils.randomSecretKey());
    } catch (e) {
      throw new TeeError("UNSEAL_FAILED", `${path}: instance identity key: ${(e as Error).message}`);
    }
    return new InstanceIdentity(secretKey, ed25519.getPublicKey(secretKey));
  }

  /**
   * Statements already signed, by pubkey: each costs ~1 ms and GET /eth/v1/evidence, which needs no
   * token, states every loaded key. A key's provenance changes only if it is deleted and sealed
   * again: the signed bytes are compared, so a cached statement is only ever the same statement.
   */
  private readonly signed = new Map<string, { message: Buffer; statement: KeyStatement }>();

  /** The statement about `pubkey` from its sealed provenance. */
  statement(pubkey: string, provenance: KeyProvenance): KeyStatement {
    const message = Buffer.from(statementMessage(this.publicKey, pubkey, provenance));
    const cached = this.signed.get(pubkey);
    if (cached?.message.equals(message)) return cached.statement;
    const statement = signStatement(this.secretKey, pubkey, provenance, this.publicKey);
    this.signed.set(pubkey, { message, statement });
    return statement;
  }
}

