/**
 * The slashing-protection store contract, run against every backend on a real database: group
 * commit under concurrent conflicting requests, restart, interchange import/export, pruning.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { SlashingProtection } from "../../src/slashing/store.js";
import { ZERO_ROOT_HEX } from "../../src/util/hex.js";
import { GVR, OTHER_GVR, pubkey, root, sqliteBackend, type Backend } from "../helpers/slashingBackends.js";
import { postgresBackend } from "../helpers/slashingPostgres.js";

const backends: Backend[] = [sqliteBackend(), await postgresBackend()];
after(() => Promise.all(backends.map((b) => b.cleanup())));

type Outcome = "allowed" | string;

async function block(store: SlashingProtection, key: string, slot: number, r: string): Promise<Outcome> {
  try {
    const rec = await store.checkAndRecordBlock({ pubkey: key, genesisValidatorsRoot: GVR, slot, signingRoot: r });
    await rec.durable();
    return "allowed";
  } catch (e) {
    return (e as { code: string }).code;
  }
}

async function vote(store: SlashingProtection, key: string, source: number, target: number, r: string): Promise<Outcome> {
  try {
    const rec = await store.checkAndRecordAttestation({ pubkey: key, genesisValidatorsRoot: GVR, sourceEpoch: source, targetEpoch: target, signingRoot: r });
    await rec.durable();
    return "allowed";
  } catch (e) {
    return (e as { code: string }).code;
  }
}

function interchange(data: unknown[], gvr = GVR): unknown {
  return { metadata: { interchange_format_version: "5", genesis_validators_root: gvr }, data };
}

async function withStore(backend: Backend, fn: (s: SlashingProtection) => Promise<void>): Promise<void> {
  const store = await backend.fresh({ genesisValidatorsRoot: GVR });
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

for (const backend of backends) {
  describe(`slashing store (${backend.name})`, () => {
    it("allows exactly one of many concurrent conflicting requests for one key", async () => {
      await withStore(backend, async (s) => {
        const k = pubkey(1);
        const blocks = await Promise.all(Array.from({ length: 40 }, (_, i) => block(s, k, 100, root(i + 1))));
        assert.equal(blocks.filter((o) => o === "allowed").length, 1, blocks.join());
        assert.ok(blocks.every((o) => o === "allowed" || o === "DOUBLE_BLOCK"), blocks.join());

        const votes = await Promise.all(Array.from({ length: 40 }, (_, i) => vote(s, k, 5, 10, root(i + 1))));
        assert.equal(votes.filter((o) => o === "allowed").length, 1, votes.join());

        // Pairwise surrounding or double: (9-i, 11+i) all surround each other in a chain.
        const nested = await Promise.all(Array.from({ length: 9 }, (_, i) => vote(s, k, 9 - i, 11 + i, root(1))));
        assert.equal(nested.filter((o) => o === "allowed").length, 1, nested.join());
      });
    });

    it("decides different keys independently within one batch, and repeats without recording twice", async () => {
      await withStore(backend, async (s) => {
        // Keys in parallel, each key's votes in sequence: concurrent requests for one key have no
        // defined order on PostgreSQL, where separate connections race for the key's lock.
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, async (_, k) => {
            const mine = [];
            for (const target of [2, 3, 4]) mine.push(await vote(s, pubkey(100 + k), 1, target, root(7)));
            return mine;
          }),
        );
        assert.deepEqual(outcomes.flat(), Array(30).fill("allowed"));
        assert.equal(await vote(s, pubkey(100), 1, 4, root(7)), "allowed", "exact repeat");
        assert.equal(await vote(s, pubkey(100), 1, 4, root(8)), "DOUBLE_VOTE");
        const exported = (await s.exportInterchange(GVR, [pubkey(100)])) as { data: { signed_attestations: unknown[] }[] };
        assert.equal(exported.data[0]!.signed_attestations.length, 3);
        // A key named twice is listed once, and the keys in the same order on both backends.
        const twice = await s.exportInterchange(GVR, [pubkey(102), pubkey(100), pubkey(102).toUpperCase().replace("0X", "0x")]);
        assert.deepEqual(twice.data.map((d) => d.pubkey), [pubkey(100), pubkey(102)]);
      });
    });

    it("imports in the middle of a burst without deciding anything against what it brings", async () => {
      await withStore(backend, async (s) => {
        // Each key votes at targets 1..30 while a file says it already voted at 10..20 with other
        // roots. Every vote must come out allowed or refused by a rule: a vote decided against the
        // history from before the import would clash with its rows and fail to commit instead.
        const keys = [pubkey(300), pubkey(301), pubkey(302)];
        const file = interchange(
          keys.map((k) => ({
            pubkey: k,
            signed_blocks: [],
            signed_attestations: Array.from({ length: 11 }, (_, i) => ({ source_epoch: String(9 + i), target_epoch: String(10 + i), signing_root: root(99) })),
          })),
        );
        const votes = keys.flatMap((k) => Array.from({ length: 30 }, (_, t) => vote(s, k, t, t + 1, root(1))));
        const imported = s.importInterchange(file);
        const outcomes = await Promise.all(votes);
        await imported;
        const ruled = new Set(["allowed", "DOUBLE_VOTE", "SURROUNDING_VOTE", "SURROUNDED_VOTE", "SOURCE_BELOW_WATERMARK", "TARGET_NOT_ABOVE_WATERMARK"]);
        assert.ok(outcomes.every((o) => ruled.has(o)), outcomes.join());
        const exported = (await s.exportInterchange(GVR, keys)) as {
          data: { signed_attestations: { target_epoch: string; signing_root: string }[] }[];
        };
        for (const [i, k] of keys.entries()) {
          const targets = exported.data[i]!.signed_attestations.map((a) => a.target_epoch);
          assert.equal(new Set(targets).size, targets.length, `one record per target for ${k}`);
          // Every vote that was allowed is on record with its own root.
          const allowed = outcomes.slice(30 * i, 30 * i + 30).flatMap((o, t) => (o === "allowed" ? [String(t + 1)] : []));
          const mine = exported.data[i]!.signed_attestations.filter((a) => a.signing_root === root(1)).map((a) => a.target_epoch);
          assert.deepEqual(mine.sort(), allowed.sort());
        }
      });
    });

    it("records what it decided when the request arrived, whatever the caller does with its object later", async () => {
      await withStore(backend, async (s) => {
        const k = pubkey(1);
        const v = { pubkey: k, genesisValidatorsRoot: GVR, sourceEpoch: 1, targetEpoch: 2, signingRoot: root(1) };
        const b = { pubkey: k, genesisValidatorsRoot: GVR, slot: 5, signingRoot: root(1) };
        const pending = [s.checkAndRecordAttestation(v), s.checkAndRecordBlock(b)];
        Object.assign(v, { signingRoot: "0x00'); DROP TABLE signed_attestations; --", targetEpoch: 3, pubkey: pubkey(2) });
        Object.assign(b, { signingRoot: root(2), slot: 9 });
        for (const p of pending) await (await p).durable();
        const exported = await s.exportInterchange(GVR);
        assert.deepEqual(exported.data, [
          {
            pubkey: k,
            signed_blocks: [{ slot: "5", signing_root: root(1) }],
            signed_attestations: [{ source_epoch: "1", target_epoch: "2", signing_root: root(1) }],
          },
        ]);
        // The decision was made on the same values: slot 6 and target 3 are still free.
        assert.equal(await block(s, k, 6, root(3)), "allowed");
        assert.equal(await vote(s, k, 2, 3, root(3)), "allowed");
      });
    });

    it("decides one key's requests in the order they came, also while the first ones bind the chain", async () => {
      const store = await backend.fresh();
      try {
        const k = pubkey(1);
        const votes = await Promise.all(Array.from({ length: 12 }, (_, i) => vote(store, k, i, i + 1, root(1))));
        assert.deepEqual(votes, Array(12).fill("allowed"));
      } finally {
        await store.close();
      }
    });

    it("exports every record it has decided, also while its commit is still running", async () => {
      await withStore(backend, async (s) => {
        const k = pubkey(1);
        // Decided, signature possibly on its way, durable() not yet asked for: a key deleted now
        // must leave with this record in its interchange.
        const recorded = await s.checkAndRecordAttestation({ pubkey: k, genesisValidatorsRoot: GVR, sourceEpoch: 3, targetEpoch: 4, signingRoot: root(1) });
        const exported = await s.exportInterchange(GVR, [k]);
        assert.deepEqual(exported.data[0]?.signed_attestations, [{ source_epoch: "3", target_epoch: "4", signing_root: root(1) }]);
        await recorded.durable();
      });
    });

    it("refuses a sign request or import for another chain", async () => {
      await withStore(backend, async (s) => {
        await assert.rejects(
          s.checkAndRecordBlock({ pubkey: pubkey(1), genesisValidatorsRoot: OTHER_GVR, slot: 1, signingRoot: root(1) }),
          { code: "GENESIS_VALIDATORS_ROOT_MISMATCH" },
        );
        await assert.rejects(s.importInterchange(interchange([], OTHER_GVR)), { code: "GENESIS_VALIDATORS_ROOT_MISMATCH" });
        await assert.rejects(s.exportInterchange(OTHER_GVR), { code: "GENESIS_VALIDATORS_ROOT_MISMATCH" });
      });
    });

    it("exports for the chain it is bound to when no root is given", async () => {
      const s = await backend.fresh();
      try {
        const before = await s.exportInterchange(undefined);
        assert.equal(before.metadata.genesis_validators_root, ZERO_ROOT_HEX);
        assert.deepEqual(before.data, []);
        assert.equal(await block(s, pubkey(1), 10, root(1)), "allowed");
        const after = await s.exportInterchange(undefined);
        assert.equal(after.metadata.genesis_validators_root, GVR);
        assert.deepEqual(after.data.map((d) => [d.pubkey, d.signed_blocks.map((b) => b.slot)]), [[pubkey(1), ["10"]]]);
      } finally {
        await s.close();
      }
    });

    it("keeps every record and watermark across a restart", async () => {
      const s1 = await backend.fresh({ genesisValidatorsRoot: GVR });
      assert.equal(await block(s1, pubkey(1), 10, root(1)), "allowed");
      assert.equal(await vote(s1, pubkey(1), 3, 4, root(1)), "allowed");
      await s1.importInterchange(interchange([{ pubkey: pubkey(2), signed_blocks: [{ slot: "50" }], signed_attestations: [] }]));
      await s1.close();
      const s2 = await backend.reopen(s1);
      try {
        assert.equal(await block(s2, pubkey(1), 10, root(1)), "allowed", "repeat survives restart");
        assert.equal(await block(s2, pubkey(1), 10, root(2)), "DOUBLE_BLOCK");
        assert.equal(await block(s2, pubkey(1), 9, root(2)), "BLOCK_SLOT_NOT_ABOVE_WATERMARK");
        assert.equal(await vote(s2, pubkey(1), 2, 5, root(2)), "SURROUNDING_VOTE");
        assert.equal(await vote(s2, pubkey(1), 2, 3, root(2)), "SOURCE_BELOW_WATERMARK");
        assert.equal(await block(s2, pubkey(2), 50, root(2)), "DOUBLE_BLOCK");
        assert.equal(await block(s2, pubkey(2), 51, root(2)), "allowed");
        assert.equal(await block(s2, pubkey(1), 11, root(2)), "allowed");
        // The chain binding survives too.
        await assert.rejects(s2.importInterchange(interchange([], OTHER_GVR)), { code: "GENESIS_VALIDATORS_ROOT_MISMATCH" });
      } finally {
        await s2.close();
      }
    });

    it("round-trips an interchange file through import and export", async () => {
      const file = interchange([
        {
          pubkey: pubkey(1),
          signed_blocks: [{ slot: "3", signing_root: root(3) }, { slot: "7" }],
          signed_attestations: [
            { source_epoch: "0", target_epoch: "1", signing_root: root(1) },
            { source_epoch: "1", target_epoch: "2" },
          ],
        },
        { pubkey: pubkey(2), signed_blocks: [], signed_attestations: [{ source_epoch: "4", target_epoch: "9" }] },
      ]);
      await withStore(backend, async (s) => {
        assert.deepEqual(await s.importInterchange(file), { keys: 2, blocks: 2, attestations: 3, skipped: 0 });
        const out = await s.exportInterchange(GVR);
        assert.deepEqual(out, file);
        assert.deepEqual(await s.importInterchange(out), { keys: 2, blocks: 0, attestations: 0, skipped: 5 }, "idempotent");
        assert.deepEqual((await s.exportInterchange(GVR, [pubkey(2)])).data, [(file as { data: unknown[] }).data[1]]);
        assert.deepEqual((await s.exportInterchange(GVR, [pubkey(3)])).data, []);
        await withStore(backend, async (fresh) => {
          await fresh.importInterchange(out);
          assert.deepEqual(await fresh.exportInterchange(GVR), file);
        });
      });
    });

    it("imports around slashable data and keeps its watermarks", async () => {
      await withStore(backend, async (s) => {
        const summary = await s.importInterchange(
          interchange([
            {
              pubkey: pubkey(1),
              signed_blocks: [{ slot: "5", signing_root: root(1) }, { slot: "5", signing_root: root(2) }],
              signed_attestations: [
                { source_epoch: "8", target_epoch: "3" },
                { source_epoch: "1", target_epoch: "6", signing_root: root(1) },
                { source_epoch: "2", target_epoch: "6", signing_root: root(2) },
              ],
            },
          ]),
        );
        assert.deepEqual(summary, { keys: 1, blocks: 1, attestations: 1, skipped: 3 });
        assert.equal(await block(s, pubkey(1), 5, root(2)), "DOUBLE_BLOCK");
        assert.equal(await vote(s, pubkey(1), 7, 7, root(3)), "SOURCE_BELOW_WATERMARK");
        assert.equal(await vote(s, pubkey(1), 8, 7, root(3)), "SOURCE_AFTER_TARGET");
        assert.equal(await vote(s, pubkey(1), 8, 8, root(3)), "allowed");
        // The watermark that only imported-around data set still reaches the export.
        const out = await s.exportInterchange(GVR);
        assert.deepEqual(out.data[0]!.signed_attestations.at(-1), { source_epoch: "8", target_epoch: "8", signing_root: root(3) });
      });
    });

    it("rejects a malformed or unsupported file as a whole and changes nothing", async () => {
      await withStore(backend, async (s) => {
        assert.equal(await block(s, pubkey(1), 10, root(1)), "allowed");
        const before = await s.exportInterchange(GVR);
        const good = { pubkey: pubkey(2), signed_blocks: [{ slot: "100" }], signed_attestations: [] };
        const bad = [
          interchange([good, { pubkey: pubkey(3), signed_blocks: [{ slot: "-1" }], signed_attestations: [] }]),
          interchange([good, { pubkey: "0x1234", signed_blocks: [], signed_attestations: [] }]),
          interchange([good, { pubkey: pubkey(3), signed_blocks: [{ slot: "99999999999999999999" }], signed_attestations: [] }]),
          { metadata: { interchange_format_version: "4", genesis_validators_root: GVR }, data: [good] },
          { data: [good] },
          "not json",
        ];
        const codes = [];
        for (const f of bad) {
          codes.push(await s.importInterchange(f).then(() => "imported", (e: { code: string }) => e.code));
        }
        assert.deepEqual(codes, [
          "INVALID_INTERCHANGE",
          "INVALID_INTERCHANGE",
          "INVALID_INTERCHANGE",
          "UNSUPPORTED_INTERCHANGE_VERSION",
          "INVALID_INTERCHANGE",
          "INVALID_INTERCHANGE",
        ]);
        assert.deepEqual(await s.exportInterchange(GVR), before);
      });
    });

    it("prunes records below the watermarks without loosening any check", async () => {
      await withStore(backend, async (s) => {
        const k = pubkey(1);
        for (let i = 1; i <= 20; i++) {
          assert.equal(await block(s, k, i, root(i)), "allowed");
          assert.equal(await vote(s, k, i - 1, i, root(i)), "allowed");
        }
        const probes: [string, () => Promise<Outcome>][] = [
          ["old block, other root", () => block(s, k, 5, root(99))],
          ["old block below watermark", () => block(s, k, 19, root(99))],
          ["double vote", () => vote(s, k, 19, 20, root(99))],
          ["surrounding vote", () => vote(s, k, 0, 21, root(99))],
          ["old vote", () => vote(s, k, 3, 4, root(99))],
          ["latest block repeat", () => block(s, k, 20, root(20))],
          ["latest vote repeat", () => vote(s, k, 19, 20, root(20))],
        ];
        const before = await Promise.all(probes.map(([, p]) => p()));
        assert.deepEqual(await s.prune(), { blocks: 19, attestations: 19 });
        const afterPrune = await Promise.all(probes.map(([, p]) => p()));
        probes.forEach(([name], i) => {
          if (before[i] !== "allowed") assert.notEqual(afterPrune[i], "allowed", name);
        });
        assert.equal(afterPrune[5], "allowed", "the latest block can still be repeated");
        assert.equal(afterPrune[6], "allowed", "the latest vote can still be repeated");
        assert.deepEqual(await s.prune(), { blocks: 0, attestations: 0 });
        const out = await s.exportInterchange(GVR);
        assert.deepEqual(out.data[0]!.signed_blocks, [{ slot: "20", signing_root: root(20) }]);
        assert.deepEqual(out.data[0]!.signed_attestations, [{ source_epoch: "19", target_epoch: "20", signing_root: root(20) }]);
        assert.equal(await block(s, k, 21, root(21)), "allowed");
      });
    });

    it("refuses malformed sign requests before deciding anything", async () => {
      await withStore(backend, async (s) => {
        const ok = { pubkey: pubkey(1), genesisValidatorsRoot: GVR, signingRoot: root(1) };
        const codes = await Promise.all([
          block(s, pubkey(1).toUpperCase().replace("0X", "0x"), 1, root(1)),
          block(s, pubkey(1), -1, root(1)),
          block(s, pubkey(1), 2 ** 53, root(1)),
          block(s, pubkey(1), 1, "0x1234"),
          vote(s, pubkey(1), 1.5, 2, root(1)),
          s.checkAndRecordBlock({ ...ok, genesisValidatorsRoot: "0x00", slot: 1 }).then(
            () => "allowed",
            (e: { code: string }) => e.code,
          ),
        ]);
        assert.deepEqual(codes, Array(6).fill("INVALID_INPUT"));
        assert.equal(await block(s, pubkey(1), 1, root(1)), "allowed");
      });
    });

    it("reports health", async () => {
      await withStore(backend, async (s) => {
        assert.deepEqual(await s.health(), { status: "UP", data: { backend: backend.name } });
      });
    });
  });
}
