import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdentityError } from "../../src/slashing/errors.js";
import { checkAfterOpen, checkBeforeOpen, type FileState, type IdentityMode } from "../../src/slashing/identity.js";

const A = "a".repeat(32);
const B = "b".repeat(32);

function before(recorded: string | undefined, file: FileState, mode: IdentityMode): string {
  try {
    checkBeforeOpen(recorded, file, mode, "db");
    return "open";
  } catch (e) {
    assert.ok(e instanceof IdentityError);
    return e.code;
  }
}

function after(recorded: string | undefined, id: string, created: boolean, mode: IdentityMode): string {
  try {
    return checkAfterOpen(recorded, { id, created }, mode, "db") ? "record" : "keep";
  } catch (e) {
    assert.ok(e instanceof IdentityError);
    return e.code;
  }
}

describe("database identity rules", () => {
  it("before opening: serve refuses an emptied file always and a missing one the directory recorded", () => {
    assert.equal(before(undefined, "absent", "strict"), "open", "a new data directory");
    assert.equal(before(A, "absent", "strict"), "SLASHING_DB_MISSING");
    assert.equal(before(undefined, "empty", "strict"), "SLASHING_DB_EMPTIED");
    assert.equal(before(A, "empty", "strict"), "SLASHING_DB_EMPTIED");
    assert.equal(before(A, "present", "strict"), "open");
    for (const mode of ["restore", "adopt"] as const) {
      for (const file of ["absent", "empty", "present"] as const) assert.equal(before(A, file, mode), "open", `${mode} ${file}`);
    }
  });

  it("once open: the recorded id or a first one is served; a new or different database is not", () => {
    assert.equal(after(A, A, false, "strict"), "keep");
    assert.equal(after(undefined, A, true, "strict"), "record", "a first database");
    assert.equal(after(undefined, A, false, "strict"), "record", "an older signer's directory");
    assert.equal(after(A, B, true, "strict"), "SLASHING_DB_MISSING", "a dropped PostgreSQL schema, created again by this open");
    assert.equal(after(A, B, false, "strict"), "SLASHING_DB_MISMATCH");
    assert.equal(after(A, B, true, "restore"), "record", "an import fills a missing database");
    assert.equal(after(A, B, false, "restore"), "SLASHING_DB_MISMATCH", "an import does not paper over a swap");
    assert.equal(after(A, B, false, "adopt"), "record");
    assert.equal(after(A, A, false, "adopt"), "keep");
  });
});
