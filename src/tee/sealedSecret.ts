import { readOrCreateSecretFile, writeSecretFile } from "../util/secretFile.js";
import type { Platform } from "./platform.js";

/**
 * A secret made inside on first start and kept sealed in one file (transport key, instance
 * identity): created atomically, so concurrent starts agree on one secret; re-sealed when the
 * platform says the blob was sealed the old way. Throws a plain Error naming what failed, which the
 * caller words for its domain.
 */
export async function openSealedSecret(platform: Platform, path: string, context: string, length: number, make: () => Uint8Array): Promise<Uint8Array> {
  const sealed = await readOrCreateSecretFile(path, async () => {
    const fresh = make();
    try {
      return await platform.seal(fresh, context);
    } finally {
      fresh.fill(0);
    }
  });
  let secret: Uint8Array;
  try {
    secret = await platform.unseal(new Uint8Array(sealed), context);
  } catch (e) {
    throw new Error(`cannot unseal: ${(e as Error).message}`);
  }
  if (secret.length !== length) throw new Error(`must hold ${length} bytes, holds ${secret.length}`);
  if (platform.needsReseal?.(sealed)) await writeSecretFile(path, await platform.seal(secret, context));
  return secret;
}
