import { Type, type Static } from "@sinclair/typebox";
import { InputError } from "../errors.js";
import { buildInterchange } from "../slashing/interchange.js";
import { ZERO_ROOT_HEX } from "../util/hex.js";
import { decryptKeystores, serverWorkers, type DecryptJob } from "./decryptPool.js";
import { parseKeystoreJson } from "./keystore.js";
import type { KeyRegistry } from "./registry.js";
import type { SealedKeyStore } from "./sealedStore.js";
import type { ImportRequest } from "./transport.js";

/**
 * The key changes of the keymanager API (ethereum/keymanager-APIs, local keystores) as plain
 * functions: importing keystores and deleting keys, each with its slashing protection. Each takes
 * its collaborators as arguments and returns the per-key statuses the API answers with; none logs.
 * Each checks the loaded keys and then changes them, so callers run them one at a time, and not
 * alongside a keystore-directory reload (api/keymanager.ts runs them on the Exclusive it shares
 * with the reload).
 */

/** The slashing-protection operations the keymanager needs; the real store provides them. */
export interface KeymanagerSlashing {
  /** Merges an EIP-3076 document; rejects (changing nothing) when it is invalid or for another chain. */
  importInterchange(json: unknown): Promise<unknown>;
  /**
   * The interchange of what is on record for `pubkeys` (all keys when absent); keys without records
   * may be absent. Without a root, for the chain the database is bound to.
   */
  exportInterchange(genesisValidatorsRoot: string | undefined, pubkeys?: string[]): Promise<{ data: Array<{ pubkey: string }> }>;
}

/** The loaded keys the keymanager changes, and the files that keep them. */
export interface KeymanagerKeys {
  registry: KeyRegistry;
  sealedStore: SealedKeyStore;
}

/** The keymanager API's answer for each keystore of an import. */
export const ImportStatus = Type.Object({
  status: Type.Union([Type.Literal("imported"), Type.Literal("duplicate"), Type.Literal("error")]),
  message: Type.Optional(Type.String()),
});
export type ImportStatus = Static<typeof ImportStatus>;

/** The keymanager API's answer for each pubkey of a delete. */
export const DeleteStatus = Type.Object({
  status: Type.Union([Type.Literal("deleted"), Type.Literal("not_active"), Type.Literal("not_found"), Type.Literal("error")]),
  message: Type.Optional(Type.String()),
});
export type DeleteStatus = Static<typeof DeleteStatus>;

export interface ImportCollaborators extends KeymanagerKeys {
  slashing: Pick<KeymanagerSlashing, "importInterchange">;
  /** A keystore whose KDF costs more than this many times the standard is refused undecrypted (parseKeystore). */
  maxKdfCost: number;
}

/** What one import tells its caller while it runs, for the audit trail and progress. */
export interface ImportEvents {
  /** A keystore decrypted or refused: `done` of `total`, in completion order. */
  onDecrypted?(done: number, total: number): void;
  /** The key at `index` is sealed and signs from now on. */
  onImported?(index: number, pubkey: string): void;
}

/**
 * POST /eth/v1/keystores: the slashing protection first (a document that is not JSON, or that
 * `slashing` refuses, rejects the whole request with nothing imported), then each keystore
 * decrypted, sealed and added; one status per keystore, in request order. `passwords[i]` unlocks
 * `keystores[i]`: the caller has checked that the lengths match.
 */
export async function importKeystores(
  body: ImportRequest,
  { registry, sealedStore, slashing, maxKdfCost }: ImportCollaborators,
  events: ImportEvents = {},
): Promise<ImportStatus[]> {
  // Protection first: once a key is usable, everything it signed before must already be refused.
  if (body.slashing_protection) {
    let interchange: unknown;
    try {
      interchange = JSON.parse(body.slashing_protection);
    } catch (e) {
      throw new InputError("INVALID_INPUT", `slashing_protection is not valid JSON: ${(e as Error).message}`);
    }
    await slashing.importInterchange(interchange);
  }

  const statuses: ImportStatus[] = new Array(body.keystores.length);
  const jobs: (DecryptJob & { index: number })[] = [];
  body.keystores.forEach((text, index) => {
    const source = `keystores[${index}]`;
    try {
      jobs.push({ keystore: parseKeystoreJson(text, source, maxKdfCost), password: body.passwords[index]!, source, index });
    } catch (e) {
      statuses[index] = { status: "error", message: (e as Error).message };
    }
  });
  let decrypted = 0;
  const results = await decryptKeystores(jobs, {
    workers: serverWorkers(jobs.map((j) => j.keystore)),
    onResult: () => events.onDecrypted?.(++decrypted, jobs.length),
  });

  const seen = new Set<string>();
  for (const [i, result] of results.entries()) {
    const { index, keystore } = jobs[i]!;
    if (!result.ok) {
      statuses[index] = { status: "error", message: result.error.message };
      continue;
    }
    const { key } = result;
    try {
      if (seen.has(key.pubkey) || registry.has(key.pubkey)) {
        statuses[index] = { status: "duplicate" };
        continue;
      }
      seen.add(key.pubkey);
      // Sealed durably before it can sign, so a key that signed is never lost at restart; its
      // path is sealed with it, so GET lists it after a restart too; and "imported", which no
      // later step can turn into "generated".
      const { provenance } = await sealedStore.create(key.secretKey, { path: keystore.path, origin: "imported" });
      await registry.install([{ ...key, path: keystore.path, provenance }], "sealed");
      statuses[index] = { status: "imported" };
      events.onImported?.(index, key.pubkey);
    } catch (e) {
      statuses[index] = { status: "error", message: `keystores[${index}]: ${(e as Error).message}` };
    } finally {
      key.secretKey.fill(0);
    }
  }
  return statuses;
}

export interface DeleteCollaborators extends KeymanagerKeys {
  slashing: Pick<KeymanagerSlashing, "exportInterchange">;
  /** The network's, when known (see KeymanagerSlashing.exportInterchange). */
  genesisValidatorsRoot?: string;
  /** Told why the slashing-protection export failed; the statuses returned say that it did. */
  onExportFailed(error: unknown): void;
}

/**
 * DELETE /eth/v1/keystores, for `pubkeys` in canonical form (normalizePubkey).
 *
 * The keys are taken one by one, in request order, as the keymanager flows describe: a pubkey
 * repeated in the request finds its key already gone the second time, and is answered as any key
 * that is no longer there (not_active when the database holds records for it, which the
 * interchange then includes once, else not_found), as Lighthouse and Teku do.
 */
export async function deleteKeys(
  pubkeys: string[],
  { registry, sealedStore, slashing, genesisValidatorsRoot, onExportFailed }: DeleteCollaborators,
): Promise<{ data: DeleteStatus[]; slashing_protection: string }> {
  const sealed = new Set(await sealedStore.list());
  const data: DeleteStatus[] = [];
  const candidates = new Set<string>();
  // Requests for a key that neither signed nor had a file: their status depends on the export.
  const absent: number[] = [];
  for (const [i, pubkey] of pubkeys.entries()) {
    const active = registry.has(pubkey);
    const readOnlyBecause = active ? registry.readOnlyReason(pubkey, sealed) : undefined;
    if (readOnlyBecause !== undefined) {
      data.push({ status: "error", message: `${pubkey} ${readOnlyBecause} and is read-only` });
      continue;
    }
    try {
      // The key stops signing before anything else happens; only then is its file removed.
      if (active) await registry.remove(pubkey);
      const hadFile = sealed.has(pubkey);
      if (hadFile) {
        await sealedStore.delete(pubkey);
        sealed.delete(pubkey);
      }
      if (!active && !hadFile) absent.push(i);
      data.push({ status: active ? "deleted" : "not_active" });
      candidates.add(pubkey);
    } catch (e) {
      data.push({ status: "error", message: `${pubkey}: ${(e as Error).message}` });
    }
  }
  // Records are exported, never deleted: re-importing the key elsewhere must stay protected.
  let exported: Awaited<ReturnType<KeymanagerSlashing["exportInterchange"]>>;
  try {
    exported = await slashing.exportInterchange(genesisValidatorsRoot, [...candidates]);
  } catch (e) {
    // The keys no longer sign, but their records could not be read. As the keymanager flows
    // say: an error per key and an empty interchange; deleting again returns the records.
    onExportFailed(e);
    const message = `no longer signs, but its slashing protection data could not be exported (${(e as Error).message}); delete it again to get it`;
    return {
      data: data.map((d) => (d.status === "deleted" || d.status === "not_active" ? { status: "error", message } : d)),
      slashing_protection: JSON.stringify(buildInterchange(genesisValidatorsRoot ?? ZERO_ROOT_HEX, [])),
    };
  }
  const withRecords = new Set(exported.data.map((d) => d.pubkey.toLowerCase()));
  for (const i of absent) {
    if (!withRecords.has(pubkeys[i]!)) data[i] = { status: "not_found" };
  }
  return { data, slashing_protection: JSON.stringify(exported) };
}
