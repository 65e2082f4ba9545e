import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { verifyEvidence } from "../../src/tee/verify/index.js";
import { TeeError } from "../../src/tee/errors.js";

const dir = new URL("../../../shared/vectors/tee/", import.meta.url);
const load = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const VCEK = load("sev-snp-milan.vcek.der");
const AT = new Date("2025-07-01T00:00:00Z");
const FILES = ["sgx-dcap-v3.quote", "tdx-v4.quote", "sev-snp-milan.report"] as const;

/** Where the evidence ends: bytes after the quote's signature data are padding, not quote. */
function evidenceEnd(bytes: Uint8Array): number {
  if (bytes.length === 0x4a0 && bytes[0] !== 3 && bytes[0] !== 4) return bytes.length;
  const body = bytes[4] === 0x81 ? 584 : 384;
  return 48 + body + 4 + Buffer.from(bytes).readUInt32LE(48 + body);
}

type Outcome = "invalid" | "refused" | string;

/**
 * The verifier reads attacker-supplied bytes: whatever is changed, it must refuse with reasons or
 * throw TeeError("INVALID_EVIDENCE") — never crash with another error. A change it accepts must
 * leave the whole result exactly as for the original: such bytes carry nothing that is verified
 * (padding after the quote, PEM whitespace, the embedded copy of the root — trust comes from the
 * pinned one — and the reserved, unsigned tail of a SEV-SNP report).
 */
function outcome(bytes: Uint8Array): Outcome {
  try {
    const r = verifyEvidence(bytes, { now: AT, vcek: VCEK, allowDebug: true, anyMeasurement: true, noCollateral: true, allowSeptVe: true });
    return r.ok ? JSON.stringify(r) : "refused";
  } catch (e) {
    if (e instanceof TeeError && e.code === "INVALID_EVIDENCE") return "invalid";
    throw e;
  }
}

describe("verifyEvidence on corrupted evidence", () => {
  for (const file of FILES) {
    const original = load(file);
    const end = evidenceEnd(original);
    const accepted = outcome(original);

    it(`${file}: a changed byte is refused unless it changes nothing verified`, () => {
      assert.notEqual(accepted, "refused");
      let runs = 0;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), (offset, xor) => {
          runs++;
          const copy = original.slice();
          copy[offset] = copy[offset]! ^ xor;
          const result = outcome(copy);
          return result === "refused" || result === "invalid" || result === accepted;
        }),
        { numRuns: 300, seed: 42 },
      );
      assert.equal(runs, 300);
    });

    it(`${file}: truncation inside the evidence is refused`, () => {
      let runs = 0;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: end - 1 }), (length) => {
          runs++;
          const result = outcome(original.subarray(0, length));
          return result === "refused" || result === "invalid";
        }),
        { numRuns: 200, seed: 7 },
      );
      assert.equal(runs, 200);
    });
  }
});

