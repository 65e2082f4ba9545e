import { SlashingError } from "../../src/slashing/errors.js";
import { buildInterchange, parseInterchange, type KeyState } from "../../src/slashing/interchange.js";
import type { KeymanagerSlashing } from "../../src/keys/keymanagerOps.js";

/**
 * A small but real slashing-protection record for keymanager tests: it parses interchange files
 * with the project's parser, refuses another chain's file, merges records, refuses a block at or
 * below the highest slot, and exports what it holds.
 */
export class InMemorySlashing implements KeymanagerSlashing {
  readonly states = new Map<string, KeyState>();

  constructor(readonly genesisValidatorsRoot: string) {}

  private state(pubkey: string): KeyState {
    let s = this.states.get(pubkey);
    if (!s) {
      s = { pubkey, maxSlot: null, maxSource: null, maxTarget: null, blocks: [], attestations: [] };
      this.states.set(pubkey, s);
    }
    return s;
  }

  async importInterchange(json: unknown) {
    const parsed = parseInterchange(json);
    if (parsed.genesisValidatorsRoot !== this.genesisValidatorsRoot) {
      throw new SlashingError("GENESIS_VALIDATORS_ROOT_MISMATCH", `interchange is for ${parsed.genesisValidatorsRoot}`);
    }
    for (const k of parsed.keys) {
      const s = this.state(k.pubkey);
      for (const b of k.blocks) if (!s.blocks.some((x) => x.slot === b.slot)) s.blocks.push(b);
      for (const a of k.attestations) if (!s.attestations.some((x) => x.targetEpoch === a.targetEpoch)) s.attestations.push(a);
      const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
      s.maxSlot = max(s.maxSlot, k.maxSlot);
      s.maxSource = max(s.maxSource, k.maxSource);
      s.maxTarget = max(s.maxTarget, k.maxTarget);
    }
    return { keys: parsed.keys.length };
  }

  /** What a sign request does first: refuse a slot at or below the watermark, else record it. */
  recordBlock(pubkey: string, slot: number, signingRoot: string): void {
    const s = this.state(pubkey);
    if (s.maxSlot !== null && slot <= s.maxSlot) {
      throw new SlashingError("BLOCK_SLOT_NOT_ABOVE_WATERMARK", `block at slot ${slot} is at or below ${s.maxSlot}`);
    }
    s.blocks.push({ slot, signingRoot });
    s.maxSlot = slot;
  }

  async exportInterchange(genesisValidatorsRoot: string, pubkeys: string[]) {
    const states = pubkeys.map((p) => this.states.get(p)).filter((s): s is KeyState => s !== undefined);
    return buildInterchange(genesisValidatorsRoot, states);
  }
}
