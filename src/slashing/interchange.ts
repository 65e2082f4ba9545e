/**
 * EIP-3076 interchange format, version 5: schema, parsing into normalised records, and building the
 * complete form for export. Storage-independent; the backends merge the parsed result.
 */
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { InterchangeError } from "./errors.js";
import type { AttestationRecord, BlockRecord } from "./rules.js";
import { firstSchemaError } from "../util/schema.js";

const Uint64 = Type.String({ pattern: "^[0-9]{1,20}$", description: "decimal uint64" });
const Root = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });
const Pubkey = Type.String({ pattern: "^0x[0-9a-fA-F]{96}$" });

export const InterchangeSchema = Type.Object({
  metadata: Type.Object({
    interchange_format_version: Type.String(),
    genesis_validators_root: Root,
  }),
  data: Type.Array(
    Type.Object({
      pubkey: Pubkey,
      signed_blocks: Type.Array(Type.Object({ slot: Uint64, signing_root: Type.Optional(Root) })),
      signed_attestations: Type.Array(
        Type.Object({ source_epoch: Uint64, target_epoch: Uint64, signing_root: Type.Optional(Root) }),
      ),
    }),
  ),
});

export type Interchange = Static<typeof InterchangeSchema>;

const checker = TypeCompiler.Compile(InterchangeSchema);

export const INTERCHANGE_FORMAT_VERSION = "5";

/** One key's share of an interchange file, deduplicated, with the watermarks it implies. */
export interface ImportedKey {
  pubkey: string;
  /** At most one per slot (the first in the file wins). */
  blocks: BlockRecord[];
  /** At most one per target, none with source after target (the first sensible one wins). */
  attestations: AttestationRecord[];
  /** Maxima over every entry in the file for this key, including entries not kept as records. */
  maxSlot: number | null;
  maxSource: number | null;
  maxTarget: number | null;
  /** Entries not kept as records: duplicates of a slot or target, or source after target. */
  skipped: number;
}

export interface ParsedInterchange {
  genesisValidatorsRoot: string;
  keys: ImportedKey[];
}

function toSafeInt(value: string, where: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new InterchangeError("INVALID_INTERCHANGE", `${where} is ${value}, beyond what this signer can store (2^53 - 1)`);
  }
  return n;
}

const hi = (a: number | null, b: number): number => (a === null || b > a ? b : a);

/**
 * Validates the whole document before anything is derived from it. Entries for the same pubkey
 * are merged. Slashable data inside the file is imported "around": each slot and target keeps its
 * first record, and every entry still raises the watermarks, so whatever was signed stays refused.
 */
export function parseInterchange(json: unknown): ParsedInterchange {
  if (!checker.Check(json)) {
    const where = firstSchemaError(checker.Errors(json)) ?? "unknown error";
    throw new InterchangeError("INVALID_INTERCHANGE", `interchange file does not match the EIP-3076 schema at ${where}`);
  }
  const version = json.metadata.interchange_format_version;
  if (version !== INTERCHANGE_FORMAT_VERSION) {
    throw new InterchangeError(
      "UNSUPPORTED_INTERCHANGE_VERSION",
      `interchange_format_version is "${version}", only "${INTERCHANGE_FORMAT_VERSION}" is supported`,
    );
  }
  const keys = new Map<string, ImportedKey & { slots: Set<number>; targets: Set<number> }>();
  json.data.forEach((entry, i) => {
    const pubkey = entry.pubkey.toLowerCase();
    let k = keys.get(pubkey);
    if (!k) {
      k = { pubkey, blocks: [], attestations: [], maxSlot: null, maxSource: null, maxTarget: null, skipped: 0, slots: new Set(), targets: new Set() };
      keys.set(pubkey, k);
    }
    entry.signed_blocks.forEach((b, j) => {
      const slot = toSafeInt(b.slot, `data[${i}].signed_blocks[${j}].slot`);
      k.maxSlot = hi(k.maxSlot, slot);
      if (k.slots.has(slot)) {
        k.skipped++;
        return;
      }
      k.slots.add(slot);
      k.blocks.push({ slot, signingRoot: b.signing_root?.toLowerCase() ?? null });
    });
    entry.signed_attestations.forEach((a, j) => {
      const sourceEpoch = toSafeInt(a.source_epoch, `data[${i}].signed_attestations[${j}].source_epoch`);
      const targetEpoch = toSafeInt(a.target_epoch, `data[${i}].signed_attestations[${j}].target_epoch`);
      k.maxSource = hi(k.maxSource, sourceEpoch);
      k.maxTarget = hi(k.maxTarget, targetEpoch);
      if (sourceEpoch > targetEpoch || k.targets.has(targetEpoch)) {
        k.skipped++;
        return;
      }
      k.targets.add(targetEpoch);
      k.attestations.push({ sourceEpoch, targetEpoch, signingRoot: a.signing_root?.toLowerCase() ?? null });
    });
  });
  return {
    genesisValidatorsRoot: json.metadata.genesis_validators_root.toLowerCase(),
    keys: [...keys.values()].map(({ slots: _s, targets: _t, ...k }) => k),
  };
}

/** One key's state as a backend holds it, for export. */
export interface KeyState {
  pubkey: string;
  maxSlot: number | null;
  maxSource: number | null;
  maxTarget: number | null;
  blocks: BlockRecord[];
  attestations: AttestationRecord[];
}

/**
 * The complete form of what is on record. Where pruning or imported slashable data left a
 * watermark above every record, one extra entry without signing_root carries it, so that an
 * importer ends up with watermarks at least as high as ours.
 */
export function buildInterchange(genesisValidatorsRoot: string, keys: KeyState[]): Interchange {
  return {
    metadata: { interchange_format_version: INTERCHANGE_FORMAT_VERSION, genesis_validators_root: genesisValidatorsRoot },
    data: keys.map((k) => {
      const signed_blocks: Interchange["data"][number]["signed_blocks"] = k.blocks.map((b) =>
        b.signingRoot === null ? { slot: String(b.slot) } : { slot: String(b.slot), signing_root: b.signingRoot },
      );
      if (k.maxSlot !== null && !k.blocks.some((b) => b.slot === k.maxSlot)) {
        signed_blocks.push({ slot: String(k.maxSlot) });
      }
      const signed_attestations: Interchange["data"][number]["signed_attestations"] = k.attestations.map((a) => {
        const e = { source_epoch: String(a.sourceEpoch), target_epoch: String(a.targetEpoch) };
        return a.signingRoot === null ? e : { ...e, signing_root: a.signingRoot };
      });
      if (k.maxSource !== null && k.maxTarget !== null) {
        const covered =
          k.attestations.some((a) => a.sourceEpoch === k.maxSource) &&
          k.attestations.some((a) => a.targetEpoch === k.maxTarget);
        if (!covered) signed_attestations.push({ source_epoch: String(k.maxSource), target_epoch: String(k.maxTarget) });
      }
      return { pubkey: k.pubkey, signed_blocks, signed_attestations };
    }),
  };
}
