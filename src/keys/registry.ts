import type { KeyPair } from "../bls/keyPair.js";
import type { SigningKeys } from "../bls/signingKeys.js";
import type { KeyProvenance } from "../tee/statement.js";
import { settledInLots } from "../util/lots.js";
import type { SealedKeyStore } from "./sealedStore.js";

/**
 * Where a loaded key comes from. "sealed": a file in the data directory (loaded at start, imported
 * through the keymanager API, generated); "keystore-dir": `--keystores-dir`, which a reload or
 * the next start brings back, so the API may not delete it. A key may have both.
 */
export type KeyOrigin = "sealed" | "keystore-dir";

/** A key to install, with the derivation path of the keystore it came from, when it had one. */
export interface InstallKey extends KeyPair {
  path?: string;
  /** From the sealed metadata; a key without (a keystore-directory key) is stated imported. */
  provenance?: KeyProvenance;
}

const UNRECORDED: KeyProvenance = { origin: "imported", counter: 0 };

/** GET /eth/v1/keystores's view of one loaded key. */
export interface ListedKey {
  pubkey: string;
  /** EIP-2335 writes "" for a key not derived from a seed: such keys, and generated ones, have none. */
  path?: string;
  readOnly: boolean;
}

interface Entry {
  origins: Set<KeyOrigin>;
  path?: string;
  provenance?: KeyProvenance;
}

/** Keys handed to the signing threads at once: one add at a time spent ~0.2 ms per key on round trips. */
const ADD_AHEAD = 64;

/**
 * The loaded keys, each with where it came from and its derivation path: the one place keys start
 * and stop signing. Start-up, keystore-directory reloads, keymanager imports, deletes and keygen
 * all go through install() and release()/remove(), which keep SigningKeys, the origins and the
 * paths in step. Callers serialise changes (the composition root's Exclusive).
 */
export class KeyRegistry {
  /** Insertion-ordered, as SigningKeys lists keys in load order. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly sealedStore: SealedKeyStore,
  ) {}

  has(pubkey: string): boolean {
    return this.entries.has(pubkey);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Makes each key sign, as coming from `origin`: a key loaded already gains the origin (and the
   * path, when it had none), one that is not is added to SigningKeys. Every secret is wiped,
   * installed or not. The first key that cannot be added fails the call; the keys before it, and
   * those added in the same lot, stay installed. Returns the public keys, in order.
   */
  async install(keys: readonly InstallKey[], origin: KeyOrigin): Promise<string[]> {
    const pubkeys: string[] = [];
    try {
      for await (const lot of settledInLots(keys, ADD_AHEAD, (key) => this.keys.add(key))) {
        // Every key of the lot that was added signs, so it is recorded before a failure is thrown.
        for (const [key, added] of lot) if (added.status === "fulfilled") this.record(key, origin);
        for (const [, added] of lot) {
          if (added.status === "rejected") throw added.reason;
          pubkeys.push(added.value);
        }
      }
    } finally {
      for (const key of keys) key.secretKey.fill(0);
    }
    return pubkeys;
  }

  private record({ pubkey, path, provenance }: InstallKey, origin: KeyOrigin): void {
    const entry = this.entries.get(pubkey);
    if (entry) {
      entry.origins.add(origin);
      if (path) entry.path ??= path;
      if (provenance) entry.provenance ??= provenance;
    } else {
      this.entries.set(pubkey, { origins: new Set([origin]), ...(path && { path }), ...(provenance && { provenance }) });
    }
  }

  /** Every loaded key with what its statement says, in load order (the evidence document's input). */
  provenances(): { pubkey: string; provenance: KeyProvenance }[] {
    return [...this.entries].map(([pubkey, e]) => ({ pubkey, provenance: e.provenance ?? UNRECORDED }));
  }

  /**
   * Takes `origin` from each key. A key left with no origin stops signing, unless a sealed file for
   * it appeared meanwhile (an offline `keys import`): the next start would load it, so it stays, as
   * sealed. Returns the keys that stopped signing.
   */
  async release(pubkeys: readonly string[], origin: KeyOrigin): Promise<string[]> {
    // Every origin goes before the first await: no reader sees one released key gone from
    // signing while another, released by the same call, still has the origin.
    const orphans = pubkeys.filter((pubkey) => {
      const entry = this.entries.get(pubkey);
      entry?.origins.delete(origin);
      return entry?.origins.size === 0;
    });
    if (orphans.length === 0) return [];
    const sealed = new Set(await this.sealedStore.list());
    const stopped: string[] = [];
    for (const pubkey of orphans) {
      if (sealed.has(pubkey)) this.entries.get(pubkey)?.origins.add("sealed");
      else if (await this.remove(pubkey)) stopped.push(pubkey);
    }
    return stopped;
  }

  /** Stops the key signing, whatever its origins; false when it was not loaded. */
  async remove(pubkey: string): Promise<boolean> {
    if (!this.entries.delete(pubkey)) return false;
    await this.keys.remove(pubkey);
    return true;
  }

  /**
   * Why the keymanager API may not delete a loaded key, worded to follow its pubkey; undefined when
   * it may. A key from a keystore directory would come back at the next start or reload. Every
   * other loaded key was sealed, so one with no file among `sealed` lost it while the signer ran
   * (removed by hand): it is no longer the API's to delete, and it stops signing at the next start.
   */
  readOnlyReason(pubkey: string, sealed: ReadonlySet<string>): string | undefined {
    if (this.entries.get(pubkey)?.origins.has("keystore-dir")) return "was loaded from a keystore directory";
    if (!sealed.has(pubkey)) return "has no sealed file in the data directory (removed while the signer ran; it signs until the next start)";
    return undefined;
  }

  /** Every loaded key, in load order. */
  async list(): Promise<ListedKey[]> {
    const sealed = new Set(await this.sealedStore.list());
    return [...this.entries].map(([pubkey, { path }]) => ({
      pubkey,
      ...(path !== undefined && { path }),
      readOnly: this.readOnlyReason(pubkey, sealed) !== undefined,
    }));
  }

  /**
   * Unseals every stored key and installs it (at start, or for the CLI's deposit-data and exit).
   * Files that fail are reported and skipped.
   */
  async loadSealed(): Promise<{ pubkeys: string[]; errors: { file: string; message: string }[] }> {
    const { keys, errors } = await this.sealedStore.loadAll();
    return { pubkeys: await this.install(keys, "sealed"), errors };
  }
}
