/**
 * Every EIP-3076 interchange test of eth-clients/slashing-protection-interchange-tests, against
 * every backend. Which expectation applies: this signer uses the minimal (watermark) strategy, plus
 * it allows an exact repeat of something on record (same slot, or same source and target, with the
 * same non-zero signing root). So an attempt that is such a repeat is held to
 * `should_succeed_complete`, every other attempt to `should_succeed`.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { sqliteBackend, type Backend } from "../helpers/slashingBackends.js";
import { postgresBackend } from "../helpers/slashingPostgres.js";

interface Attempt {
  pubkey: string;
  signing_root?: string;
  should_succeed: boolean;
  should_succeed_complete: boolean;
}
interface BlockAttempt extends Attempt {
  slot: string;
}
interface AttestationAttempt extends Attempt {
  source_epoch: string;
  target_epoch: string;
}
interface Step {
  should_succeed: boolean;
  contains_slashable_data: boolean;
  interchange: {
    metadata: { genesis_validators_root: string };
    data: {
      pubkey: string;
      signed_blocks: { slot: string; signing_root?: string }[];
      signed_attestations: { source_epoch: string; target_epoch: string; signing_root?: string }[];
    }[];
  };
  blocks: BlockAttempt[];
  attestations: AttestationAttempt[];
}
interface VectorTest {
  name: string;
  genesis_validators_root: string;
  steps: Step[];
}

const dir = new URL("../../../shared/vectors/eip3076-interchange/tests/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
const tests = files.map((f) => JSON.parse(readFileSync(new URL(f, dir), "utf8")) as VectorTest);
const ZERO = "0x" + "00".repeat(32);
const isZero = (r: string | undefined): boolean => r === undefined || /^0x0*$/.test(r);

/** What the test file says is on record, to tell exact repeats apart. */
class OnRecord {
  private readonly entries = new Set<string>();
  block(pubkey: string, slot: string, root: string | undefined): void {
    if (!isZero(root)) this.entries.add(`b ${pubkey.toLowerCase()} ${slot} ${root!.toLowerCase()}`);
  }
  attestation(pubkey: string, source: string, target: string, root: string | undefined): void {
    if (!isZero(root)) this.entries.add(`a ${pubkey.toLowerCase()} ${source} ${target} ${root!.toLowerCase()}`);
  }
  hasBlock(pubkey: string, slot: string, root: string | undefined): boolean {
    return !isZero(root) && this.entries.has(`b ${pubkey.toLowerCase()} ${slot} ${root!.toLowerCase()}`);
  }
  hasAttestation(pubkey: string, source: string, target: string, root: string | undefined): boolean {
    return !isZero(root) && this.entries.has(`a ${pubkey.toLowerCase()} ${source} ${target} ${root!.toLowerCase()}`);
  }
}

async function runVector(backend: Backend, t: VectorTest): Promise<number> {
  const store = await backend.fresh({ genesisValidatorsRoot: t.genesis_validators_root });
  const record = new OnRecord();
  let attempts = 0;
  try {
    for (const [i, step] of t.steps.entries()) {
      let imported = true;
      try {
        await store.importInterchange(step.interchange);
      } catch (e) {
        imported = false;
        assert.equal(step.should_succeed, false, `step ${i}: import failed: ${(e as Error).message}`);
      }
      assert.equal(imported, step.should_succeed, `step ${i}: import should ${step.should_succeed ? "succeed" : "fail"}`);
      if (imported) {
        for (const d of step.interchange.data) {
          for (const b of d.signed_blocks) record.block(d.pubkey, b.slot, b.signing_root);
          for (const a of d.signed_attestations) record.attestation(d.pubkey, a.source_epoch, a.target_epoch, a.signing_root);
        }
      }
      for (const b of step.blocks) {
        const repeat = record.hasBlock(b.pubkey, b.slot, b.signing_root);
        const expected = repeat ? b.should_succeed_complete : b.should_succeed;
        const outcome = await store
          .checkAndRecordBlock({
            pubkey: b.pubkey.toLowerCase(),
            genesisValidatorsRoot: t.genesis_validators_root,
            slot: Number(b.slot),
            signingRoot: b.signing_root?.toLowerCase() ?? ZERO,
          })
          .then(async (r) => (await r.durable(), "allowed"), (e: Error) => `refused: ${e.message}`);
        assert.equal(outcome === "allowed", expected, `step ${i} block slot ${b.slot}${repeat ? " (repeat)" : ""}: ${outcome}`);
        if (expected) record.block(b.pubkey, b.slot, b.signing_root);
        attempts++;
      }
      for (const a of step.attestations) {
        const repeat = record.hasAttestation(a.pubkey, a.source_epoch, a.target_epoch, a.signing_root);
        const expected = repeat ? a.should_succeed_complete : a.should_succeed;
        const outcome = await store
          .checkAndRecordAttestation({
            pubkey: a.pubkey.toLowerCase(),
            genesisValidatorsRoot: t.genesis_validators_root,
            sourceEpoch: Number(a.source_epoch),
            targetEpoch: Number(a.target_epoch),
            signingRoot: a.signing_root?.toLowerCase() ?? ZERO,
          })
          .then(async (r) => (await r.durable(), "allowed"), (e: Error) => `refused: ${e.message}`);
        assert.equal(
          outcome === "allowed",
          expected,
          `step ${i} attestation ${a.source_epoch}->${a.target_epoch}${repeat ? " (repeat)" : ""}: ${outcome}`,
        );
        if (expected) record.attestation(a.pubkey, a.source_epoch, a.target_epoch, a.signing_root);
        attempts++;
      }
    }
  } finally {
    await store.close();
  }
  return attempts;
}

const backends: Backend[] = [sqliteBackend(), await postgresBackend()];
after(() => Promise.all(backends.map((b) => b.cleanup())));

for (const backend of backends) {
  describe(`EIP-3076 interchange vectors (${backend.name})`, () => {
    let attempts = 0;
    for (const t of tests) {
      it(t.name, async () => {
        attempts += await runVector(backend, t);
      });
    }
    it("ran every vector file and attempt", () => {
      console.log(`${backend.name}: ${tests.length} vector files, ${attempts} sign attempts`);
      assert.equal(tests.length, 38);
      assert.equal(attempts, 150);
    });
  });
}
