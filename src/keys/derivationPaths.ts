/**
 * Longest keystore `path` accepted. EIP-2334 paths are a few dozen characters; the path is sealed
 * with the key and listed by every GET /eth/v1/keystores, so a keystore may not make either large.
 */
export const MAX_DERIVATION_PATH_LENGTH = 256;
