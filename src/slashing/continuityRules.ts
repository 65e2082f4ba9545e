/**
 * Continuity reservations, as pure functions over plain data. The continuity store (a database the
 * host cannot roll back) keeps, per key and kind, the highest slot / target / source that any
 * instance of the signer may have signed with. Before signing above what it holds, an instance
 * reserves: it atomically raises those marks in the store and takes a grant. Safety:
 *
 * - A new grant starts strictly above everything reserved before it (slot > max_slot, target >
 *   max_target) with source >= max_source. A vote forgotten by a rolled-back local database lies
 *   in an earlier grant, so it has target <= the new grant's low target and source <= its low
 *   source: a new vote can neither double it (targets differ), be surrounded by it (its target is
 *   higher), nor surround it (its source is not lower).
 * - A holder extends its own grant (a higher target, a higher source) only while it is still the
 *   latest holder: once another instance (a clone, a restart) took a grant above, the old holder
 *   must take a new one above that, so two instances' grants never overlap.
 * - Within one grant, the instance's own slashing database decides, as without a continuity store.
 *
 * Because the source mark rises only when a vote with a higher source is signed, a chain that does
 * not justify keeps the source where it is, and a restarted signer attests again as soon as the
 * target passes the old grant (at most `windowEpochs` - 1 epochs): non-finality costs nothing more.
 */

/** The store's row for one key: its marks and who holds the latest grant of each kind. */
export interface ContinuityRow {
  blockHolder: string | null;
  blockFence: number;
  maxSlot: number | null;
  attHolder: string | null;
  attFence: number;
  maxTarget: number | null;
  maxSource: number | null;
}

export const EMPTY_ROW: ContinuityRow = {
  blockHolder: null,
  blockFence: 0,
  maxSlot: null,
  attHolder: null,
  attFence: 0,
  maxTarget: null,
  maxSource: null,
};

/** What an instance may sign for one key without asking the store again. Bounds are inclusive above, exclusive below for slots and targets. */
export interface BlockGrant {
  /** Blocks must be above this slot (what earlier grants may have signed); null: nothing reserved before. */
  lowSlot: number | null;
  highSlot: number;
  fence: number;
}

export interface AttestationGrant {
  /** Targets must be above this, sources at least `lowSource`: what earlier grants may have signed. */
  lowTarget: number | null;
  lowSource: number | null;
  highTarget: number;
  highSource: number;
  fence: number;
}

export type Refusal = { refused: string };

const above = (v: number, low: number | null): boolean => low === null || v > low;
const atLeast = (v: number, low: number | null): boolean => low === null || v >= low;

/** Whether `grant` already covers the block: no store round trip needed. */
export function blockCovered(grant: BlockGrant | undefined, slot: number): boolean {
  return grant !== undefined && above(slot, grant.lowSlot) && slot <= grant.highSlot;
}

/** Whether `grant` already covers the vote: no store round trip needed. */
export function attestationCovered(grant: AttestationGrant | undefined, source: number, target: number): boolean {
  return (
    grant !== undefined &&
    above(target, grant.lowTarget) &&
    atLeast(source, grant.lowSource) &&
    target <= grant.highTarget &&
    source <= grant.highSource
  );
}

/** A request the held grant can never cover, whatever the store says: below what earlier grants may have signed. */
export function belowBlockGrant(grant: BlockGrant | undefined, slot: number): Refusal | undefined {
  if (grant && !above(slot, grant.lowSlot)) {
    return { refused: `block at slot ${slot} is not above slot ${grant.lowSlot}, the highest an earlier instance or run of this signer may have signed (continuity reservation)` };
  }
  return undefined;
}

export function belowAttestationGrant(grant: AttestationGrant | undefined, source: number, target: number): Refusal | undefined {
  if (grant && !above(target, grant.lowTarget)) {
    return { refused: `attestation target ${target} is not above epoch ${grant.lowTarget}, the highest an earlier instance or run of this signer may have signed (continuity reservation)` };
  }
  if (grant && !atLeast(source, grant.lowSource)) {
    return { refused: `attestation source ${source} is below epoch ${grant.lowSource}, the highest source an earlier instance or run of this signer may have signed with (continuity reservation)` };
  }
  return undefined;
}

/**
 * The store's decision for a block reservation by `holder`, on the row as it is under lock:
 * the new row and the grant, or a refusal. `current` is the holder's grant, if it has one.
 */
export function reserveBlock(
  row: ContinuityRow,
  holder: string,
  current: BlockGrant | undefined,
  slot: number,
): { row: ContinuityRow; grant: BlockGrant } | Refusal {
  if (row.blockHolder === holder && current && current.fence === row.blockFence) {
    if (!above(slot, current.lowSlot)) return belowBlockGrant(current, slot)!;
    const highSlot = Math.max(row.maxSlot ?? slot, slot);
    return { row: { ...row, maxSlot: highSlot }, grant: { ...current, highSlot } };
  }
  if (!above(slot, row.maxSlot)) {
    return {
      refused: `block at slot ${slot} is not above slot ${row.maxSlot}, reserved by ${row.blockHolder === holder ? "an earlier grant" : "another instance or an earlier run"} of this signer (continuity store, fence ${row.blockFence})`,
    };
  }
  const fence = row.blockFence + 1;
  return { row: { ...row, blockHolder: holder, blockFence: fence, maxSlot: slot }, grant: { lowSlot: row.maxSlot, highSlot: slot, fence } };
}

/** As reserveBlock, for a vote; a new or extended grant reaches `windowEpochs` - 1 targets past the vote's. */
export function reserveAttestation(
  row: ContinuityRow,
  holder: string,
  current: AttestationGrant | undefined,
  source: number,
  target: number,
  windowEpochs: number,
): { row: ContinuityRow; grant: AttestationGrant } | Refusal {
  const reach = target + windowEpochs - 1;
  if (row.attHolder === holder && current && current.fence === row.attFence) {
    const below = belowAttestationGrant(current, source, target);
    if (below) return below;
    const highTarget = Math.max(row.maxTarget ?? reach, reach);
    const highSource = Math.max(row.maxSource ?? source, source);
    return { row: { ...row, maxTarget: highTarget, maxSource: highSource }, grant: { ...current, highTarget, highSource } };
  }
  if (!above(target, row.maxTarget) || !atLeast(source, row.maxSource)) {
    return {
      refused:
        `attestation (source ${source}, target ${target}) needs target above ${row.maxTarget} and source at least ${row.maxSource}, ` +
        `reserved by ${row.attHolder === holder ? "an earlier grant" : "another instance or an earlier run"} of this signer (continuity store, fence ${row.attFence})`,
    };
  }
  const fence = row.attFence + 1;
  return {
    row: { ...row, attHolder: holder, attFence: fence, maxTarget: reach, maxSource: source },
    grant: { lowTarget: row.maxTarget, lowSource: row.maxSource, highTarget: reach, highSource: source, fence },
  };
}
