import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { PublicKey, SecretKey, Signature, verify } from "@chainsafe/blst";
import { WorkerPoolSigningKeys } from "../../src/bls/pool.js";
import { fromHex } from "../../src/util/hex.js";

describe("bls worker pool", () => {
  const pool = new WorkerPoolSigningKeys(2);
  after(() => pool.close());

  it("signs with every loaded key on every worker, verifiable by blst", async () => {
    const secrets = Array.from({ length: 3 }, () => SecretKey.fromKeygen(randomBytes(32)));
    const pubkeys = await Promise.all(secrets.map((sk) => pool.add(sk.toBytes())));
    assert.deepEqual(pool.pubkeys(), pubkeys);
    // More requests than workers, so both workers sign for every key.
    const jobs = pubkeys.flatMap((pk) => Array.from({ length: 8 }, () => ({ pk, msg: randomBytes(32) })));
    const sigs = await Promise.all(jobs.map((j) => pool.sign(j.pk, j.msg)));
    assert.equal(sigs.length, 24);
    jobs.forEach((j, i) => {
      const ok = verify(j.msg, PublicKey.fromBytes(fromHex(j.pk, "pk", 48)), Signature.fromBytes(sigs[i]!));
      assert.ok(ok, `signature ${i} verifies`);
      const wrong = verify(randomBytes(32), PublicKey.fromBytes(fromHex(j.pk, "pk", 48)), Signature.fromBytes(sigs[i]!));
      assert.ok(!wrong, "signature does not verify another message");
    });
  });

  it("refuses unknown and removed keys", async () => {
    const pk = await pool.add(SecretKey.fromKeygen(randomBytes(32)).toBytes());
    assert.equal(await pool.remove(pk), true);
    assert.equal(await pool.remove(pk), false);
    await assert.rejects(pool.sign(pk, randomBytes(32)), /no key loaded/);
  });

  it("rejects a secret that is not a valid scalar", async () => {
    await assert.rejects(pool.add(new Uint8Array(32)), /not a valid BLS12-381 scalar/);
  });
});
