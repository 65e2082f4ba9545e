/**
 * Longest keystore `path` accepted. EIP-2334 paths are a few dozen characters; the path is sealed
 * with the key and listed by every GET /eth/v1/keystores, so a keystore may not make either large.
 */
export const MAX_DERIVATION_PATH_LENGTH = 256;

/**
 * The derivation path of each loaded key's keystore, which GET /eth/v1/keystores returns as
 * `derivation_path`. EIP-2335 writes "" for a key not derived from a seed: such keys, and keys
 * generated inside the signer, have none, and the field is left out for them.
 */
export class DerivationPaths {
  private readonly byPubkey = new Map<string, string>();

  /** Records the path of `pubkey`'s keystore; an empty or absent path forgets any earlier one. */
  set(pubkey: string, path: string | undefined): void {
    if (path) this.byPubkey.set(pubkey, path);
    else this.byPubkey.delete(pubkey);
  }

  get(pubkey: string): string | undefined {
    return this.byPubkey.get(pubkey);
  }

  delete(pubkey: string): void {
    this.byPubkey.delete(pubkey);
  }
}
