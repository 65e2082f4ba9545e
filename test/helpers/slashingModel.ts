/**
 * A reference model of the minimal (watermark) strategy plus the exact-repeat allowance, stated as
 * directly as possible over the list of messages allowed so far, and the generator of message
 * sequences the property tests feed to both the pure rules and the real stores.
 */
import fc from "fast-check";
import type { KeyHistory } from "../../src/slashing/rules.js";

export const R1 = "0x" + "11".repeat(32);
export const R2 = "0x" + "22".repeat(32);
export const ZERO = "0x" + "00".repeat(32);

export type Msg =
  | { kind: "block"; key: number; slot: number; root: string }
  | { kind: "att"; key: number; source: number; target: number; root: string };

const rootArb = fc.constantFrom(ZERO, R1, R2);
export const msgArb: fc.Arbitrary<Msg> = fc.oneof(
  fc.record({ kind: fc.constant("block" as const), key: fc.nat(2), slot: fc.nat(12), root: rootArb }),
  fc.record({ kind: fc.constant("att" as const), key: fc.nat(2), source: fc.nat(8), target: fc.nat(8), root: rootArb }),
);

/** The minimal strategy stated as directly as possible, over the list of messages allowed so far. */
export function referenceAllows(allowed: Msg[], m: Msg): boolean {
  const mine = allowed.filter((a) => a.key === m.key && a.kind === m.kind);
  const nonZero = m.root !== ZERO;
  if (m.kind === "block") {
    const blocks = mine as Extract<Msg, { kind: "block" }>[];
    if (nonZero && blocks.some((b) => b.slot === m.slot && b.root === m.root)) return true;
    return blocks.every((b) => m.slot > b.slot);
  }
  const atts = mine as Extract<Msg, { kind: "att" }>[];
  if (nonZero && atts.some((a) => a.source === m.source && a.target === m.target && a.root === m.root)) return true;
  return m.source <= m.target && atts.every((a) => m.source >= a.source && m.target > a.target);
}

export function slashablePair(a: Msg, b: Msg): boolean {
  if (a.key !== b.key || a.kind !== b.kind) return false;
  if (a.kind === "block" && b.kind === "block") return a.slot === b.slot && (a.root !== b.root || a.root === ZERO);
  if (a.kind === "att" && b.kind === "att") {
    const same = a.source === b.source && a.target === b.target && a.root === b.root && a.root !== ZERO;
    const double = a.target === b.target && !same;
    const surround = (x: typeof a, y: typeof a) => x.source < y.source && x.target > y.target;
    return double || surround(a, b) || surround(b, a);
  }
  return false;
}

/**
 * What the stores' prune keeps, on an in-memory history: the block at the highest slot and the
 * attestation at the highest target (so the most recent message can still be repeated). The
 * watermarks are untouched. The stores do this in SQL; this is its model for the rules' tests.
 */
export function pruneHistory(h: KeyHistory): { blocks: number; attestations: number } {
  let blocks = 0;
  let attestations = 0;
  for (const slot of h.blocks.keys()) {
    if (slot !== h.maxSlot) {
      h.blocks.delete(slot);
      blocks++;
    }
  }
  for (const target of h.attestations.keys()) {
    if (target !== h.maxTarget) {
      h.attestations.delete(target);
      attestations++;
    }
  }
  return { blocks, attestations };
}
