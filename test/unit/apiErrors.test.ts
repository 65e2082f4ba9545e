import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { AuthError, ERROR_STATUS, registerErrorHandler } from "../../src/api/errors.js";
import { BlsError } from "../../src/bls/errors.js";
import { UsageError } from "../../src/cli/errors.js";
import { ConfigError } from "../../src/config/errors.js";
import { InputError, type ErrorCode, type SignerError } from "../../src/errors.js";
import { KeyError } from "../../src/keys/errors.js";
import { GuardError, IdentityError, InterchangeError, SlashingError, StorageError } from "../../src/slashing/errors.js";
import { TeeError } from "../../src/tee/errors.js";

type Make = (code: never, message: string) => SignerError;

/**
 * The contract a client sees, per domain, written out here and not read from the table: Web3Signer's
 * statuses (400 bad input, 404 unknown key, 412 refused, 503 retry later) and 500 for the signer's
 * own failures. A code added to a domain without a line here fails the first test.
 */
const CONTRACT: Array<{ make: Make; statuses: Partial<Record<ErrorCode, number>> }> = [
  { make: (c, m) => new InputError(c, m), statuses: { INVALID_INPUT: 400, SIGNING_ROOT_MISMATCH: 400, UNSUPPORTED: 400 } },
  {
    make: (c, m) => new SlashingError(c, m),
    statuses: {
      BLOCK_SLOT_NOT_ABOVE_WATERMARK: 412, DOUBLE_BLOCK: 412, DOUBLE_VOTE: 412, SURROUNDING_VOTE: 412, SURROUNDED_VOTE: 412,
      SOURCE_BELOW_WATERMARK: 412, TARGET_NOT_ABOVE_WATERMARK: 412, SOURCE_AFTER_TARGET: 412, GENESIS_VALIDATORS_ROOT_MISMATCH: 412,
    },
  },
  { make: (c, m) => new GuardError(c, m), statuses: { BELOW_STARTUP_FLOOR: 412, AHEAD_OF_CLOCK: 412, BELOW_RESERVATION: 412 } },
  { make: (c, m) => new InterchangeError(c, m), statuses: { INVALID_INTERCHANGE: 400, UNSUPPORTED_INTERCHANGE_VERSION: 400 } },
  {
    make: (c, m) => new StorageError(c, m),
    statuses: { DATABASE_UNAVAILABLE: 503, DATABASE_LOCKED: 503, COMMIT_FAILED: 503, STORE_CLOSED: 503, CONTINUITY_UNAVAILABLE: 503 },
  },
  { make: (c, m) => new IdentityError(c, m, { location: "db" }), statuses: { SLASHING_DB_MISSING: 503, SLASHING_DB_EMPTIED: 503, SLASHING_DB_MISMATCH: 503 } },
  {
    make: (c, m) => new TeeError(c, m),
    statuses: { UNSEAL_FAILED: 500, SEAL_FAILED: 500, EVIDENCE_FAILED: 500, NOT_ATTESTED: 500, PLATFORM_UNAVAILABLE: 503, INVALID_EVIDENCE: 400, NOT_ALLOWLISTED: 403, MIGRATION_DISABLED: 403, MIGRATION_REFUSED: 502 },
  },
  {
    make: (c, m) => new KeyError(c, m),
    statuses: {
      INVALID_KEYSTORE: 400, WRONG_PASSWORD: 400, MISSING_PASSWORD: 400, PUBKEY_MISMATCH: 400, INVALID_SECRET: 400,
      SEALED_FILE_INVALID: 500, INVALID_ENVELOPE: 400, DECRYPT_FAILED: 400, IO_FAILED: 500, DATA_DIR_IN_USE: 409,
    },
  },
  { make: (c, m) => new BlsError(c, m), statuses: { KEY_NOT_LOADED: 404, WORKER_FAILED: 500 } },
  { make: (c, m) => new ConfigError(c, m), statuses: { INVALID_CONFIG: 400 } },
  { make: (c, m) => new UsageError(c, m), statuses: { USAGE: 400 } },
  { make: (c, m) => new AuthError(c, m), statuses: { UNAUTHORIZED: 401, FORBIDDEN: 403 } },
];

describe("error → HTTP status", () => {
  it("the contract names every registered code", () => {
    const listed = CONTRACT.flatMap((d) => Object.keys(d.statuses)).sort();
    assert.deepEqual(listed, Object.keys(ERROR_STATUS).sort());
  });

  it("every code reaches its status through the one error handler, with the {code, message} body", async () => {
    const app = Fastify();
    registerErrorHandler(app);
    const cases = CONTRACT.flatMap((d) => Object.entries(d.statuses).map(([code, status]) => ({ error: d.make(code as never, `what was wrong: ${code}`), status: status! })));
    app.get("/throw/:i", async (request) => {
      throw cases[Number((request.params as { i: string }).i)]!.error;
    });
    // And what is not a domain error: schema validation is 400, anything else 500 without its message.
    app.get("/schema", { schema: { querystring: { type: "object", required: ["x"], properties: { x: { type: "string" } } } } }, async () => "ok");
    app.get("/bug", async () => {
      throw new TypeError("secret internals");
    });
    for (const [i, c] of cases.entries()) {
      const res = await app.inject({ method: "GET", url: `/throw/${i}` });
      assert.equal(res.statusCode, c.status, `${c.error.code}`);
      const body = res.json() as { code: number; message: string };
      assert.equal(body.code, c.status);
      // A 500 says nothing of internals; every other status says what was wrong.
      assert.equal(body.message, c.status === 500 ? "internal error" : `what was wrong: ${c.error.code}`);
    }
    // Not a domain error: schema validation is 400, anything else 500 without its message.
    assert.equal((await app.inject({ method: "GET", url: "/schema" })).statusCode, 400);
    const bug = await app.inject({ method: "GET", url: "/bug" });
    assert.equal(bug.statusCode, 500);
    assert.doesNotMatch(bug.body, /secret internals/);
  });
});
