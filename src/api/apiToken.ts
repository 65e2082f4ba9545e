import { randomBytes } from "node:crypto";
import { InputError } from "../errors.js";
import { readOrCreateSecretFile } from "../util/secretFile.js";

/**
 * The bearer tokens of the API (the API token, the optional signing token). `serve` and `init`
 * both make sure the API token exists, so this lives here rather than in the route plugin that
 * checks it.
 */

/**
 * A token must carry 256 bits, as the generated ones do: 64 hex digits, or 43 characters of
 * RFC 6750's b64token alphabet (base64url, base64), at 6 bits each. A token's length is all that
 * can be checked, so a hex token is held to the hex count.
 */
export const MIN_HEX_TOKEN = 64;
export const MIN_OTHER_TOKEN = 43;
// What `Authorization: Bearer` may carry (RFC 6750 b64token): any other character cannot be sent.
const B64TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

function checkToken(tokenFile: string, token: string): void {
  const requirement = `a token of at least 256 bits: ${MIN_HEX_TOKEN} hex digits or ${MIN_OTHER_TOKEN} base64url characters (openssl rand -hex 32 makes one)`;
  if (!B64TOKEN.test(token)) {
    throw new InputError("INVALID_INPUT", `${tokenFile} must hold ${requirement}; it holds characters a bearer token cannot carry`);
  }
  const hex = /^[0-9a-fA-F]+$/.test(token);
  if (token.length < (hex ? MIN_HEX_TOKEN : MIN_OTHER_TOKEN)) {
    throw new InputError("INVALID_INPUT", `${tokenFile} must hold ${requirement}; it holds ${token.length} ${hex ? "hex digits" : "characters"}`);
  }
}

/** Reads a token file, creating it first (random, 256 bits, 0600, atomically) when it does not exist. */
export async function ensureApiToken(tokenFile: string): Promise<string> {
  const token = (await readOrCreateSecretFile(tokenFile, () => randomBytes(32).toString("hex") + "\n")).toString("utf8").trim();
  checkToken(tokenFile, token);
  return token;
}
