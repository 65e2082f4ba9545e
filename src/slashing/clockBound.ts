import type { SignGuard, SlashingCheck } from "./guard.js";
import type { ChainClock } from "./clock.js";
import { GuardError } from "./errors.js";

/**
 * Refuses blocks and attestations more than `skewSlots` ahead of the clock. It makes "nothing was
 * signed above the clock plus the skew" true, which the restart floor relies on, and it keeps one
 * far-future request from raising a key's watermarks (or the continuity marks) so high that the
 * validator cannot sign again until the chain catches up.
 */
export function clockBoundGuard(clock: ChainClock, skewSlots: number): SignGuard {
  return {
    check(_pubkey: string, check: SlashingCheck) {
      const limitSlot = clock.currentSlot() + skewSlots;
      if (check.kind === "block" && check.slot > limitSlot) {
        throw new GuardError(
          "AHEAD_OF_CLOCK",
          `block at slot ${check.slot} refused: the clock is at slot ${limitSlot - skewSlots} and blocks are signed at most ${skewSlots} slots ahead (--clock-skew-slots)`,
          { slot: check.slot, limitSlot },
        );
      }
      const limitEpoch = Math.floor(limitSlot / clock.slotsPerEpoch);
      if (check.kind === "attestation" && check.targetEpoch > limitEpoch) {
        throw new GuardError(
          "AHEAD_OF_CLOCK",
          `attestation with target epoch ${check.targetEpoch} refused: the clock with its ${skewSlots}-slot skew allowance (--clock-skew-slots) is in epoch ${limitEpoch}`,
          { targetEpoch: check.targetEpoch, limitEpoch },
        );
      }
    },
  };
}
