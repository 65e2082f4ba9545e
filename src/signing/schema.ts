/**
 * Body of `POST /api/v1/eth2/sign/{identifier}` as Web3Signer's eth2 OpenAPI spec defines it
 * (Consensys/web3signer `openapi-specs/eth2/signing/schemas.yaml`, `paths/sign.yaml`).
 *
 * These schemas check the envelope: the `type`, which message field it needs, fork_info, integers
 * and fixed-length hex. Deep containers (a full block, an aggregate) are only required to be
 * objects here; planSigning parses them with the @lodestar/types SSZ types and names the field that
 * is wrong. planSigning re-checks everything it uses, so it is safe on a body that skipped this.
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";

/**
 * A uint64 as the API sends it: a decimal string, or a JSON number. Two JSON types in one schema
 * (rather than anyOf) so that fastify's type coercion leaves numbers alone and an error names the
 * field with one message, e.g. `body/attestation/slot must match pattern "^(0|[1-9][0-9]{0,19})$"`.
 * Needs ajv's `allowUnionTypes` (else strict mode logs a warning per use) and no `coerceTypes`.
 */
const Uint64 = Type.Unsafe<string | number>({
  type: ["string", "integer"],
  title: "a decimal uint64",
  pattern: "^(0|[1-9][0-9]{0,19})$",
  minimum: 0,
});

const hex = (bytes: number) => Type.String({ pattern: `^0x[0-9a-fA-F]{${2 * bytes}}$` });
const Bytes4 = hex(4);
const Bytes20 = hex(20);
const Bytes32 = hex(32);
const Bytes48 = hex(48);
const Bytes96 = hex(96);
/** SSZ bitlists/bitvectors travel as hex of their serialisation, length checked by the SSZ type. */
const HexBytes = Type.String({ pattern: "^0x([0-9a-fA-F]{2})*$", title: "0x and hex bytes" });
/** A container planSigning parses with its SSZ type; only its presence is checked here. */
const Deep = Type.Object({});

const FORK_INFO = Type.Object({
  fork: Type.Object({ previous_version: Bytes4, current_version: Bytes4, epoch: Uint64 }),
  genesis_validators_root: Bytes32,
});

/** Web3Signer reads `signing_root` and, as an alias, `signingRoot` (the name its spec documents). */
const signingRootFields = { signingRoot: Type.Optional(Bytes32), signing_root: Type.Optional(Bytes32) };
const withForkInfo = { fork_info: FORK_INFO, ...signingRootFields };

const Checkpoint = Type.Object({ epoch: Uint64, root: Bytes32 });
const AttestationData = Type.Object({
  slot: Uint64,
  index: Uint64,
  beacon_block_root: Bytes32,
  source: Checkpoint,
  target: Checkpoint,
});
const BeaconBlock = Type.Object({
  slot: Uint64,
  proposer_index: Uint64,
  parent_root: Bytes32,
  state_root: Bytes32,
  body: Deep,
});
const BeaconBlockHeader = Type.Object({
  slot: Uint64,
  proposer_index: Uint64,
  parent_root: Bytes32,
  state_root: Bytes32,
  body_root: Bytes32,
});
/** Checked by planSigning, which names the versions and the network's schedule in its message. */
const VersionSchema = Type.String();

/**
 * Either type's `aggregate_and_proof`: wrapped, `{version, data}`, or flat, the AggregateAndProof
 * itself (see aggregateMessage). From Electra on the aggregate also has committee_bits; the SSZ
 * type planSigning picks checks it.
 */
const AggregateAndProof = Type.Unsafe<Record<string, unknown>>({
  type: "object",
  if: { anyOf: [{ required: ["version"] }, { required: ["data"] }] },
  then: Type.Object({
    version: VersionSchema,
    data: Type.Object({ aggregator_index: Uint64, aggregate: Deep, selection_proof: Bytes96 }),
  }),
  else: Type.Object({
    aggregator_index: Uint64,
    aggregate: Type.Object({ aggregation_bits: HexBytes, data: AttestationData, signature: Bytes96 }),
    selection_proof: Bytes96,
  }),
});

/**
 * The `version` strings of BLOCK_V2 and AGGREGATE_AND_PROOF_V2 (Teku's SpecMilestone names), in
 * any letter case: Web3Signer reads enums case-insensitively, and Nimbus sends "electra".
 * planSigning refuses a version the network does not schedule: GLOAS is scheduled on no named
 * network yet; Lighthouse, Lodestar, Teku and Nimbus send it on devnets whose config file does.
 */
export const VERSIONS = ["PHASE0", "ALTAIR", "BELLATRIX", "CAPELLA", "DENEB", "ELECTRA", "FULU", "GLOAS"] as const;
export type Version = (typeof VERSIONS)[number];

const variants = {
  BLOCK: Type.Object({ type: Type.Literal("BLOCK"), ...withForkInfo, block: BeaconBlock }),
  BLOCK_V2: Type.Object({
    type: Type.Literal("BLOCK_V2"),
    ...withForkInfo,
    // Web3Signer takes `block` up to Altair and `block_header` from Bellatrix on; both give the same
    // root (a block's root is its header's), so either is accepted for every version, never both.
    beacon_block: Type.Object(
      { version: VersionSchema, block: Type.Optional(BeaconBlock), block_header: Type.Optional(BeaconBlockHeader) },
      { oneOf: [{ required: ["block"] }, { required: ["block_header"] }] },
    ),
  }),
  ATTESTATION: Type.Object({ type: Type.Literal("ATTESTATION"), ...withForkInfo, attestation: AttestationData }),
  AGGREGATION_SLOT: Type.Object({
    type: Type.Literal("AGGREGATION_SLOT"),
    ...withForkInfo,
    aggregation_slot: Type.Object({ slot: Uint64 }),
  }),
  AGGREGATE_AND_PROOF: Type.Object({
    type: Type.Literal("AGGREGATE_AND_PROOF"),
    ...withForkInfo,
    aggregate_and_proof: AggregateAndProof,
  }),
  AGGREGATE_AND_PROOF_V2: Type.Object({
    type: Type.Literal("AGGREGATE_AND_PROOF_V2"),
    ...withForkInfo,
    aggregate_and_proof: AggregateAndProof,
  }),
  RANDAO_REVEAL: Type.Object({
    type: Type.Literal("RANDAO_REVEAL"),
    ...withForkInfo,
    randao_reveal: Type.Object({ epoch: Uint64 }),
  }),
  VOLUNTARY_EXIT: Type.Object({
    type: Type.Literal("VOLUNTARY_EXIT"),
    ...withForkInfo,
    voluntary_exit: Type.Object({ epoch: Uint64, validator_index: Uint64 }),
  }),
  DEPOSIT: Type.Object({
    type: Type.Literal("DEPOSIT"),
    fork_info: Type.Optional(FORK_INFO),
    ...signingRootFields,
    deposit: Type.Object({
      pubkey: Bytes48,
      withdrawal_credentials: Bytes32,
      amount: Uint64,
      genesis_fork_version: Bytes4,
    }),
  }),
  SYNC_COMMITTEE_MESSAGE: Type.Object({
    type: Type.Literal("SYNC_COMMITTEE_MESSAGE"),
    ...withForkInfo,
    sync_committee_message: Type.Object({ beacon_block_root: Bytes32, slot: Uint64 }),
  }),
  SYNC_COMMITTEE_SELECTION_PROOF: Type.Object({
    type: Type.Literal("SYNC_COMMITTEE_SELECTION_PROOF"),
    ...withForkInfo,
    sync_aggregator_selection_data: Type.Object({ slot: Uint64, subcommittee_index: Uint64 }),
  }),
  SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF: Type.Object({
    type: Type.Literal("SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF"),
    ...withForkInfo,
    contribution_and_proof: Type.Object({
      aggregator_index: Uint64,
      selection_proof: Bytes96,
      contribution: Type.Object({
        slot: Uint64,
        beacon_block_root: Bytes32,
        subcommittee_index: Uint64,
        aggregation_bits: HexBytes,
        signature: Bytes96,
      }),
    }),
  }),
  VALIDATOR_REGISTRATION: Type.Object({
    type: Type.Literal("VALIDATOR_REGISTRATION"),
    fork_info: Type.Optional(FORK_INFO),
    ...signingRootFields,
    validator_registration: Type.Object({
      fee_recipient: Bytes20,
      gas_limit: Uint64,
      timestamp: Uint64,
      pubkey: Bytes48,
    }),
  }),
} satisfies Record<string, TSchema>;

export type SignType = keyof typeof variants;
export const SIGN_TYPES = Object.keys(variants) as SignType[];
export type SignRequestOf<T extends SignType> = Static<(typeof variants)[T]>;
export type SignRequest = { [T in SignType]: SignRequestOf<T> }[SignType];

/**
 * The sign request body schema for fastify: a union discriminated on `type` (ajv's OpenAPI
 * `discriminator`, which needs SIGN_REQUEST_AJV_OPTIONS), so that ajv validates only the branch the
 * `type` selects, and reports only that branch's errors: a message names the wrong field instead
 * of listing thirteen alternatives. The `type` is checked first against the list, so an unknown
 * one is named as such.
 */
export const SIGN_REQUEST = Type.Unsafe<SignRequest>({
  type: "object",
  required: ["type"],
  properties: { type: { type: "string", enum: SIGN_TYPES, title: "signing type" } },
  discriminator: { propertyName: "type" },
  oneOf: SIGN_TYPES.map((t) => variants[t]),
});

/** The ajv options of the server that validates SIGN_REQUEST (src/api/server.ts), and of its tests. */
export const SIGN_REQUEST_AJV_OPTIONS = {
  allErrors: false,
  coerceTypes: false,
  removeAdditional: false,
  // Uint64 is ["string", "integer"].
  allowUnionTypes: true,
  discriminator: true,
  // Error messages (src/api/validation.ts) quote the refused value and name it by the schema's title.
  verbose: true,
} as const;

/**
 * Web3Signer reads `type` case-insensitively, as it reads every enum; SIGN_REQUEST's discriminator
 * matches exact names, so the sign route upper-cases `type` before validation (as a fastify
 * preValidation hook). planSigning reads it case-insensitively on its own.
 */
export function upperCaseSignType(request: { body: unknown }, _reply: unknown, done: () => void): void {
  const body = request.body as { type?: unknown } | null;
  if (typeof body === "object" && body !== null && typeof body.type === "string") body.type = body.type.toUpperCase();
  done();
}
