import type { SignGuard, SlashingCheck } from "./guard.js";
import type { ChainClock } from "./clock.js";
import { GuardError } from "./errors.js";

/**
 * The restart guard of local-only mode. The slashing database lives on storage the host controls,
 * so it can put back an older copy whose watermarks are below what a key already signed. The clock
 * bound (clockBound.ts) lets nothing be signed above the clock plus the skew, so with an honest
 * clock everything an older copy can have forgotten is at or below the clock's slot at this start
 * plus the skew (plus `marginEpochs`, for a clock stepped back a little between runs): this floor.
 *
 * Only targets are floored, not sources. A forgotten vote (s, t) has t <= the floor epoch, so a
 * new vote with target above it can neither double it nor be surrounded by it. It could surround it
 * only with a source below s, a source older than one the key already used after the copy was
 * taken; the database's source watermark still applies, and a consensus client never goes back to
 * an older justified checkpoint. Flooring sources too would refuse every attestation after a
 * restart while the chain does not justify, withholding the votes it needs. What this mode cannot
 * do against a host that also forges requests or moves the clock is in docs/tee.md; the continuity
 * store (continuity.ts) closes it.
 */
export interface StartupFloor {
  /** Blocks at or below this slot are refused. */
  slot: number;
  /** Attestations whose target is at or below this epoch are refused. */
  epoch: number;
}

export function startupFloor(clock: ChainClock, skewSlots: number, marginEpochs: number): StartupFloor {
  const limit = clock.currentSlot() + skewSlots;
  return { slot: limit + marginEpochs * clock.slotsPerEpoch, epoch: Math.floor(limit / clock.slotsPerEpoch) + marginEpochs };
}

/** Throws GuardError when a slashable message falls at or below the floor. */
export function checkStartupFloor(floor: StartupFloor, check: SlashingCheck): void {
  if (check.kind === "block" && check.slot <= floor.slot) {
    throw new GuardError(
      "BELOW_STARTUP_FLOOR",
      `block at slot ${check.slot} refused: since this start the signer signs blocks only above slot ${floor.slot} (rollback guard: an older copy of the slashing database may have forgotten earlier signatures)`,
      { slot: check.slot, floorSlot: floor.slot },
    );
  }
  if (check.kind === "attestation" && check.targetEpoch <= floor.epoch) {
    throw new GuardError(
      "BELOW_STARTUP_FLOOR",
      `attestation (source ${check.sourceEpoch}, target ${check.targetEpoch}) refused: since this start the signer signs attestations only with target above epoch ${floor.epoch} (rollback guard: an older copy of the slashing database may have forgotten earlier signatures)`,
      { sourceEpoch: check.sourceEpoch, targetEpoch: check.targetEpoch, floorEpoch: floor.epoch },
    );
  }
}

/** The floor as the signing service's guard. */
export function startupFloorGuard(floor: StartupFloor): SignGuard {
  return { check: (_pubkey: string, check: SlashingCheck) => checkStartupFloor(floor, check) };
}
