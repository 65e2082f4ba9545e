import { setHasher } from "@chainsafe/persistent-merkle-tree";

/**
 * SSZ hashing defaults to the pure-JS noble SHA-256, which made computing an attestation's signing
 * root cost ~65 µs; the native hashtree hasher (what Lodestar runs) brings it to ~20 µs. Roots are
 * identical whichever hasher runs, so this only changes speed; where the native module cannot load
 * (another platform), as-sha256 (WebAssembly) is next best.
 */
export async function useFastestHasher(): Promise<"hashtree" | "as-sha256"> {
  try {
    const { hasher } = await import("@chainsafe/persistent-merkle-tree/hasher/hashtree");
    setHasher(hasher);
    return "hashtree";
  } catch {
    const { hasher } = await import("@chainsafe/persistent-merkle-tree/hasher/as-sha256");
    setHasher(hasher);
    return "as-sha256";
  }
}
