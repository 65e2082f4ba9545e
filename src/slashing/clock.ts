/**
 * The chain's clock as the guards read it: wall-clock seconds turned into slots. The host sets the
 * wall clock, so nothing that must hold against a hostile host may rest on it alone (docs/tee.md).
 */
export interface ChainClock {
  currentSlot(): number;
  readonly slotsPerEpoch: number;
}

export function chainClock(params: { genesisTime: number; secondsPerSlot: number; slotsPerEpoch: number; now?: () => number }): ChainClock {
  const now = params.now ?? Date.now;
  return {
    slotsPerEpoch: params.slotsPerEpoch,
    // Before genesis the chain is at slot 0.
    currentSlot: () => Math.max(0, Math.floor((now() / 1000 - params.genesisTime) / params.secondsPerSlot)),
  };
}
