/**
 * The property test of the rules, run against the real stores on both backends: random sequences
 * of blocks and attestations for a few keys, each decided by the store (committed, durable) and
 * compared with the reference model; no two allowed messages ever form a slashable pair.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { SlashingProtection } from "../../src/slashing/store.js";
import { GVR, pubkey, sqliteBackend, type Backend } from "../helpers/slashingBackends.js";
import { msgArb, referenceAllows, slashablePair, type Msg } from "../helpers/slashingModel.js";
import { postgresBackend } from "../helpers/slashingPostgres.js";

const backends: Backend[] = [sqliteBackend(), await postgresBackend()];
after(() => Promise.all(backends.map((b) => b.cleanup())));

async function allows(store: SlashingProtection, m: Msg): Promise<boolean> {
  try {
    const recorded =
      m.kind === "block"
        ? await store.checkAndRecordBlock({ pubkey: pubkey(m.key), genesisValidatorsRoot: GVR, slot: m.slot, signingRoot: m.root })
        : await store.checkAndRecordAttestation({
            pubkey: pubkey(m.key),
            genesisValidatorsRoot: GVR,
            sourceEpoch: m.source,
            targetEpoch: m.target,
            signingRoot: m.root,
          });
    await recorded.durable();
    return true;
  } catch (e) {
    if ((e as { domain?: string }).domain !== "slashing") throw e;
    return false;
  }
}

for (const backend of backends) {
  describe(`slashing store against the reference model (${backend.name})`, () => {
    it("decides every random sequence as the model does and never allows a slashable pair", async () => {
      let checked = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(msgArb, { maxLength: 40, size: "max" }), async (msgs) => {
          const store = await backend.fresh({ genesisValidatorsRoot: GVR });
          try {
            const allowed: Msg[] = [];
            for (const m of msgs) {
              const expected = referenceAllows(allowed, m);
              assert.equal(await allows(store, m), expected, `${JSON.stringify(m)} after ${JSON.stringify(allowed)}`);
              if (expected) {
                for (const a of allowed) assert.ok(!slashablePair(a, m), `${JSON.stringify(a)} and ${JSON.stringify(m)}`);
                allowed.push(m);
              }
              checked++;
            }
          } finally {
            await store.close();
          }
        }),
        { numRuns: 30 },
      );
      assert.ok(checked > 300, `only ${checked} messages checked`);
    });
  });
}
