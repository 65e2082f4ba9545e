import { randomBytes } from "node:crypto";
import { InputError } from "../errors.js";
import { readOrCreateSecretFile } from "../util/secretFile.js";

/**
 * The bearer token of the privileged API. `serve` and `init` both make sure it exists, so it lives
 * here rather than in the route plugin that checks it.
 */

/** Reads the API token, creating it first (random, 0600, atomically) when the file does not exist. */
export async function ensureApiToken(tokenFile: string): Promise<string> {
  const token = (await readOrCreateSecretFile(tokenFile, () => randomBytes(32).toString("hex") + "\n")).toString("utf8").trim();
  if (token.length < 16) {
    throw new InputError("INVALID_INPUT", `${tokenFile} holds a token of ${token.length} characters; at least 16 are required`);
  }
  return token;
}
