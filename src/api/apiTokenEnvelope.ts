import { encryptForSigner } from "../keys/transport.js";
import { writeSecretFile } from "../util/secretFile.js";
import { ensureApiToken } from "./apiToken.js";

/** The envelope purpose: a token envelope cannot pass for an import's, nor the other way round. */
export const API_TOKEN_PURPOSE = "operator/api-token";

/**
 * Where the API token lives in a directory the host cannot read (a Gramine encrypted mount), the
 * operator still needs it: it is written, encrypted to the operator's X25519 key with the transport
 * envelope (docs/transport-encryption.md), to `envelopeFile`, which the host may see but not open.
 */
export async function deliverApiToken(tokenFile: string, recipient: string, envelopeFile: string): Promise<void> {
  const token = await ensureApiToken(tokenFile);
  await writeSecretFile(envelopeFile, encryptForSigner(recipient, new TextEncoder().encode(token), API_TOKEN_PURPOSE));
}
