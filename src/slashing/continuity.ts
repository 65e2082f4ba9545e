import type { SignGuard, SlashingCheck } from "./guard.js";
import { GuardError } from "./errors.js";
import {
  attestationCovered,
  belowAttestationGrant,
  belowBlockGrant,
  blockCovered,
  type AttestationGrant,
  type BlockGrant,
  type Refusal,
} from "./continuityRules.js";
import type { StoreHealth } from "./store.js";

export type ReservationRequest =
  | { pubkey: string; kind: "block"; slot: number; current: BlockGrant | undefined }
  | { pubkey: string; kind: "attestation"; source: number; target: number; current: AttestationGrant | undefined };

export type ReservationResult = { grant: BlockGrant | AttestationGrant } | Refusal;

/**
 * A database the host cannot roll back, holding every key's continuity marks (continuityRules.ts).
 * `reserve` decides a batch in one transaction, in order, and resolves once it is committed; it
 * rejects with StorageError("CONTINUITY_UNAVAILABLE") when the store cannot be reached.
 */
export interface ContinuityStore {
  /** This instance's holder id: random per start, so a restart is a new holder. */
  readonly holder: string;
  reserve(batch: readonly ReservationRequest[]): Promise<ReservationResult[]>;
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

interface Held {
  block?: BlockGrant;
  attestation?: AttestationGrant;
}

interface Pending {
  request: ReservationRequest;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * The continuity guard of the signing service: a request its held grant covers passes at once;
 * one below it is refused; any other waits for a reservation, and requests that arrive while one
 * batch is in the store go together in the next, so a slot's burst costs one transaction.
 */
export class ContinuityGuard implements SignGuard {
  private readonly held = new Map<string, Held>();
  private queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly store: ContinuityStore) {}

  check(pubkey: string, check: SlashingCheck): void | Promise<void> {
    const held = this.held.get(pubkey);
    if (check.kind === "block") {
      if (blockCovered(held?.block, check.slot)) return;
      const below = belowBlockGrant(held?.block, check.slot);
      if (below) throw new GuardError("BELOW_RESERVATION", below.refused, { slot: check.slot });
      return this.enqueue({ pubkey, kind: "block", slot: check.slot, current: held?.block });
    }
    const { sourceEpoch: source, targetEpoch: target } = check;
    if (attestationCovered(held?.attestation, source, target)) return;
    const below = belowAttestationGrant(held?.attestation, source, target);
    if (below) throw new GuardError("BELOW_RESERVATION", below.refused, { sourceEpoch: source, targetEpoch: target });
    return this.enqueue({ pubkey, kind: "attestation", source, target, current: held?.attestation });
  }

  /** What this instance holds for a key, for logs and tests. */
  grants(pubkey: string): Readonly<Held> | undefined {
    return this.held.get(pubkey);
  }

  private enqueue(request: ReservationRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      // Requests decided in one batch see each other's grants: the store applies them in order.
      let results: ReservationResult[];
      try {
        results = await this.store.reserve(batch.map((p) => p.request));
      } catch (e) {
        for (const p of batch) p.reject(e as Error);
        continue;
      }
      batch.forEach((p, i) => {
        const result = results[i]!;
        if ("refused" in result) {
          p.reject(new GuardError("BELOW_RESERVATION", result.refused, { pubkey: p.request.pubkey }));
          return;
        }
        // Results come in batch order, and a later one for the same key builds on the earlier.
        const held = this.held.get(p.request.pubkey) ?? {};
        if (p.request.kind === "block") held.block = result.grant as BlockGrant;
        else held.attestation = result.grant as AttestationGrant;
        this.held.set(p.request.pubkey, held);
        p.resolve();
      });
    }
    this.flushing = false;
  }
}
