/**
 * The EIP-3076 decision, as pure functions over plain data. Storage backends gather the evidence
 * (watermarks and the few records that matter), call these, and make the outcome atomic.
 *
 * Safety rests on the watermarks alone: a new block must be above the highest slot ever signed or
 * imported, a new vote must have source >= highest source and target > highest target. Records
 * below the watermarks only serve two purposes: recognising an exact repeat (which is allowed,
 * since re-signing an identical message creates nothing new) and naming the precise conflict in a
 * refusal. Dropping records can therefore only turn an allowance into a refusal, never the reverse.
 */

export interface BlockRecord {
  slot: number;
  signingRoot: string | null;
}

export interface AttestationRecord {
  sourceEpoch: number;
  targetEpoch: number;
  signingRoot: string | null;
}

export type RuleCode =
  | "BLOCK_SLOT_NOT_ABOVE_WATERMARK"
  | "DOUBLE_BLOCK"
  | "DOUBLE_VOTE"
  | "SURROUNDING_VOTE"
  | "SURROUNDED_VOTE"
  | "SOURCE_BELOW_WATERMARK"
  | "TARGET_NOT_ABOVE_WATERMARK"
  | "SOURCE_AFTER_TARGET";

export type Decision =
  | { allow: true; repeat: boolean }
  | { allow: false; code: RuleCode; message: string; conflicting?: BlockRecord | AttestationRecord };

/** What the block rule needs to know about one key. */
export interface BlockEvidence {
  /** Highest slot ever signed or imported; null when the key never proposed. */
  maxSlot: number | null;
  sameSlot?: BlockRecord;
}

/** What the attestation rule needs to know about one key. */
export interface AttestationEvidence {
  maxSource: number | null;
  maxTarget: number | null;
  sameTarget?: AttestationRecord;
  /** A record the requested vote would surround (only needed to name a refusal). */
  surrounded?: AttestationRecord;
  /** A record that surrounds the requested vote (only needed to name a refusal). */
  surrounding?: AttestationRecord;
}

const ZERO_ROOT_RE = /^0x0*$/;

/** A zero or missing root proves nothing about what was signed, so it never makes a repeat. */
function sameMessage(recorded: string | null, requested: string | null): boolean {
  return recorded !== null && requested !== null && !ZERO_ROOT_RE.test(requested) && recorded === requested;
}

const ALLOW: Decision = { allow: true, repeat: false };
const REPEAT: Decision = { allow: true, repeat: true };

export function decideBlock(ev: BlockEvidence, slot: number, signingRoot: string | null): Decision {
  if (ev.sameSlot) {
    if (sameMessage(ev.sameSlot.signingRoot, signingRoot)) return REPEAT;
    return {
      allow: false,
      code: "DOUBLE_BLOCK",
      message: `a block at slot ${slot} is already on record with a different or unknown signing root`,
      conflicting: ev.sameSlot,
    };
  }
  if (ev.maxSlot !== null && slot <= ev.maxSlot) {
    return {
      allow: false,
      code: "BLOCK_SLOT_NOT_ABOVE_WATERMARK",
      message: `block slot ${slot} is not above the highest slot already signed (${ev.maxSlot})`,
    };
  }
  return ALLOW;
}

export function decideAttestation(
  ev: AttestationEvidence,
  sourceEpoch: number,
  targetEpoch: number,
  signingRoot: string | null,
): Decision {
  if (sourceEpoch > targetEpoch) {
    return {
      allow: false,
      code: "SOURCE_AFTER_TARGET",
      message: `source epoch ${sourceEpoch} is after target epoch ${targetEpoch}`,
    };
  }
  const same = ev.sameTarget;
  if (same) {
    if (same.sourceEpoch === sourceEpoch && sameMessage(same.signingRoot, signingRoot)) return REPEAT;
    return {
      allow: false,
      code: "DOUBLE_VOTE",
      message: `an attestation with target epoch ${targetEpoch} is already on record (source ${same.sourceEpoch}) with a different or unknown signing root`,
      conflicting: same,
    };
  }
  if (ev.surrounded) {
    return {
      allow: false,
      code: "SURROUNDING_VOTE",
      message: `attestation ${sourceEpoch}->${targetEpoch} would surround the recorded attestation ${ev.surrounded.sourceEpoch}->${ev.surrounded.targetEpoch}`,
      conflicting: ev.surrounded,
    };
  }
  if (ev.surrounding) {
    return {
      allow: false,
      code: "SURROUNDED_VOTE",
      message: `attestation ${sourceEpoch}->${targetEpoch} would be surrounded by the recorded attestation ${ev.surrounding.sourceEpoch}->${ev.surrounding.targetEpoch}`,
      conflicting: ev.surrounding,
    };
  }
  if (ev.maxSource !== null && sourceEpoch < ev.maxSource) {
    return {
      allow: false,
      code: "SOURCE_BELOW_WATERMARK",
      message: `source epoch ${sourceEpoch} is below the highest source epoch already signed (${ev.maxSource})`,
    };
  }
  if (ev.maxTarget !== null && targetEpoch <= ev.maxTarget) {
    return {
      allow: false,
      code: "TARGET_NOT_ABOVE_WATERMARK",
      message: `target epoch ${targetEpoch} is not above the highest target epoch already signed (${ev.maxTarget})`,
    };
  }
  return ALLOW;
}

/**
 * The complete in-memory history of one key under one genesis_validators_root: watermarks plus the
 * records still on record. Invariant: every record is at or below the watermarks.
 */
export interface KeyHistory {
  maxSlot: number | null;
  maxSource: number | null;
  maxTarget: number | null;
  /** slot → signing root */
  blocks: Map<number, string | null>;
  /** target epoch → record */
  attestations: Map<number, AttestationRecord>;
}

export function emptyHistory(): KeyHistory {
  return { maxSlot: null, maxSource: null, maxTarget: null, blocks: new Map(), attestations: new Map() };
}

export function blockEvidence(h: KeyHistory, slot: number): BlockEvidence {
  const root = h.blocks.get(slot);
  return root === undefined ? { maxSlot: h.maxSlot } : { maxSlot: h.maxSlot, sameSlot: { slot, signingRoot: root } };
}

export function attestationEvidence(h: KeyHistory, sourceEpoch: number, targetEpoch: number): AttestationEvidence {
  const ev: AttestationEvidence = { maxSource: h.maxSource, maxTarget: h.maxTarget };
  const same = h.attestations.get(targetEpoch);
  if (same) ev.sameTarget = same;
  // A vote that clears both watermarks cannot surround or be surrounded by anything at or below
  // them, so the linear scan is only paid on the way to a refusal, to name it precisely.
  const clearsWatermarks =
    (h.maxSource === null || sourceEpoch >= h.maxSource) && (h.maxTarget === null || targetEpoch > h.maxTarget);
  if (!clearsWatermarks) {
    for (const r of h.attestations.values()) {
      if (!ev.surrounded && r.sourceEpoch > sourceEpoch && r.targetEpoch < targetEpoch) ev.surrounded = r;
      if (!ev.surrounding && r.sourceEpoch < sourceEpoch && r.targetEpoch > targetEpoch) ev.surrounding = r;
    }
  }
  return ev;
}

const max = (a: number | null, b: number): number => (a === null || b > a ? b : a);

/** Raises watermarks that no record carries: pruned history, or imported entries kept only as watermarks. */
export function raiseWatermarks(
  h: KeyHistory,
  w: { maxSlot: number | null; maxSource: number | null; maxTarget: number | null },
): void {
  if (w.maxSlot !== null) h.maxSlot = max(h.maxSlot, w.maxSlot);
  if (w.maxSource !== null) h.maxSource = max(h.maxSource, w.maxSource);
  if (w.maxTarget !== null) h.maxTarget = max(h.maxTarget, w.maxTarget);
}

/** Raises the watermark and keeps the record unless one is already on record at that slot. */
export function recordBlock(h: KeyHistory, slot: number, signingRoot: string | null): void {
  h.maxSlot = max(h.maxSlot, slot);
  if (!h.blocks.has(slot)) h.blocks.set(slot, signingRoot);
}

/**
 * Raises the watermarks and keeps the record unless one is already on record at that target or the
 * record is nonsensical (source after target, possible only in imported data): the watermarks
 * alone then carry its weight.
 */
export function recordAttestation(h: KeyHistory, sourceEpoch: number, targetEpoch: number, signingRoot: string | null): void {
  h.maxSource = max(h.maxSource, sourceEpoch);
  h.maxTarget = max(h.maxTarget, targetEpoch);
  if (sourceEpoch <= targetEpoch && !h.attestations.has(targetEpoch)) {
    h.attestations.set(targetEpoch, { sourceEpoch, targetEpoch, signingRoot });
  }
}

/** Decides a block request against `h` and, when it is new and allowed, records it in `h`. */
export function checkAndApplyBlock(h: KeyHistory, slot: number, signingRoot: string | null): Decision {
  const d = decideBlock(blockEvidence(h, slot), slot, signingRoot);
  if (d.allow && !d.repeat) recordBlock(h, slot, signingRoot);
  return d;
}

/** Decides an attestation request against `h` and, when it is new and allowed, records it in `h`. */
export function checkAndApplyAttestation(
  h: KeyHistory,
  sourceEpoch: number,
  targetEpoch: number,
  signingRoot: string | null,
): Decision {
  const d = decideAttestation(attestationEvidence(h, sourceEpoch, targetEpoch), sourceEpoch, targetEpoch, signingRoot);
  if (d.allow && !d.repeat) recordAttestation(h, sourceEpoch, targetEpoch, signingRoot);
  return d;
}
