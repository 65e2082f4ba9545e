import { SecretKey } from "@chainsafe/blst";
import { InputError } from "../errors.js";
import type { KeyPair } from "./keyPair.js";
import type { SigningKeys } from "./signingKeys.js";

/**
 * SigningKeys on the calling thread. For the CLI's one-off signatures (deposit data, exits) and for
 * tests; the server signs through bls/pool.ts so that signing uses every core.
 */
export class LocalSigningKeys implements SigningKeys {
  private readonly keys = new Map<string, SecretKey>();

  async add({ pubkey, secretKey }: KeyPair): Promise<string> {
    if (!this.keys.has(pubkey)) this.keys.set(pubkey, SecretKey.fromBytes(secretKey));
    return pubkey;
  }

  async remove(pubkey: string): Promise<boolean> {
    return this.keys.delete(pubkey);
  }

  has(pubkey: string): boolean {
    return this.keys.has(pubkey);
  }

  pubkeys(): string[] {
    return [...this.keys.keys()];
  }

  async sign(pubkey: string, message: Uint8Array): Promise<Uint8Array> {
    const sk = this.keys.get(pubkey);
    if (!sk) throw new InputError("INVALID_INPUT", `no key loaded for ${pubkey}`);
    return sk.sign(message).toBytes();
  }

  async close(): Promise<void> {
    this.keys.clear();
  }
}
