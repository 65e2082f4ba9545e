import type { SlashingCheck, SigningPlan } from "../signing/plan.js";
import type { SignGuard } from "../signing/service.js";
import { GuardError } from "./errors.js";
import { slotAtTime } from "../signing/domain.js";

/**
 * The rollback guard. The slashing database lives on storage the host controls, so the host can
 * put back an older copy whose watermarks are below what this key already signed. Every message
 * the signer ever signed was for a slot no later than the clock's "now" (plus skew), so on each
 * start it refuses blocks and attestations up to now plus a margin: whatever an old copy forgot
 * lies below that floor. The price is the duties of the first `marginEpochs` + 1 epochs after a
 * restart, as with the consensus clients' doppelganger protection.
 */
export interface StartupFloor {
  /** Blocks at or below this slot are refused. */
  slot: number;
  /** Attestations whose target is at or below this epoch, or whose source is below it, are refused. */
  epoch: number;
}

export function startupFloor(params: {
  nowSeconds: number;
  genesisTime: number;
  secondsPerSlot: number;
  slotsPerEpoch: number;
  marginEpochs: number;
}): StartupFloor {
  const { nowSeconds, genesisTime, secondsPerSlot, slotsPerEpoch, marginEpochs } = params;
  const currentSlot = slotAtTime(nowSeconds, genesisTime, secondsPerSlot);
  const currentEpoch = Math.floor(currentSlot / slotsPerEpoch);
  return { slot: currentSlot + marginEpochs * slotsPerEpoch, epoch: currentEpoch + marginEpochs };
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
  // A forgotten vote (s, t) has s <= t <= the clock's epoch at start <= floor.epoch. A new vote
  // with source >= floor.epoch cannot surround it, and one with target > floor.epoch can neither
  // double it nor lie inside it: both bounds are needed.
  if (check.kind === "attestation" && (check.targetEpoch <= floor.epoch || check.sourceEpoch < floor.epoch)) {
    throw new GuardError(
      "BELOW_STARTUP_FLOOR",
      `attestation (source ${check.sourceEpoch}, target ${check.targetEpoch}) refused: since this start the signer signs attestations only with source at or above epoch ${floor.epoch} and target above it (rollback guard: an older copy of the slashing database may have forgotten earlier signatures)`,
      { sourceEpoch: check.sourceEpoch, targetEpoch: check.targetEpoch, floorEpoch: floor.epoch },
    );
  }
}

/** The floor as the signing service's guard. */
export function startupFloorGuard(floor: StartupFloor): SignGuard {
  return { check: (_pubkey: string, plan: SigningPlan) => plan.slashing && checkStartupFloor(floor, plan.slashing) };
}
