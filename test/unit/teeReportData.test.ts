import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkReportData, reportData, reportDataPreimage } from "../../src/tee/reportData.js";
import { TeeError } from "../../src/tee/errors.js";
import { toHex } from "../../src/util/hex.js";

const transportPublicKey = Uint8Array.from({ length: 32 }, (_, i) => i);
const kA = "0x" + "aa".repeat(48);
const kB = "0x" + "11".repeat(48);

describe("reportData", () => {
  // Known answer computed independently (Python hashlib/struct) from the layout in docs/tee-evidence.md.
  it("matches the documented known-answer vector", () => {
    const rd = reportData({ transportPublicKey, blsPubkeys: [kA, kB] });
    assert.equal(rd.length, 64);
    assert.equal(toHex(rd.subarray(0, 32)), "0xfedb57919e87904918a9145b2d877ba8b3ae84478a24435ab13cc90083e86b29");
    assert.deepEqual(rd.subarray(32), new Uint8Array(32));
    assert.equal(
      toHex(reportData({ transportPublicKey, blsPubkeys: [] }).subarray(0, 32)),
      "0x1ffb09e9e1243e157b6bf5142d1e9586da1aaf09f1d8b42dbbb75f12af461914",
    );
    assert.equal(
      toHex(reportDataPreimage({ transportPublicKey, blsPubkeys: [kA, kB] })),
      "0x7365637572652d7369676e65722f7265706f72742d64617461010020" +
        Buffer.from(transportPublicKey).toString("hex") +
        "00000002" +
        "11".repeat(48) +
        "aa".repeat(48),
    );
  });

  it("matches the documented known-answer vector of version 2 (transport and identity keys)", () => {
    const identityPublicKey = Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i);
    const claim = { transportPublicKey, identityPublicKey, blsPubkeys: [] };
    assert.equal(
      toHex(reportDataPreimage(claim)),
      "0x7365637572652d7369676e65722f7265706f72742d64617461020020" + Buffer.from(transportPublicKey).toString("hex") + "0020" + Buffer.from(identityPublicKey).toString("hex"),
    );
    assert.equal(toHex(reportData(claim).subarray(0, 32)), "0x9d34080fd58c99bfc112ae299a6bb32617dec2b3d18d5c44ba6d78da9c9d03e6");
    assert.throws(() => reportData({ ...claim, blsPubkeys: [kA] }), (e: unknown) => e instanceof TeeError && /binds a 32-byte identity key and no BLS keys/.test(e.message));
    assert.throws(() => reportData({ ...claim, identityPublicKey: new Uint8Array(31) }), (e: unknown) => e instanceof TeeError);
    // A v1 binding of the same transport key and no BLS keys is not a v2 binding.
    assert.equal(checkReportData(reportData({ transportPublicKey, blsPubkeys: [] }), claim).ok, false);
  });

  it("does not depend on the order or the case of the BLS keys", () => {
    const a = reportData({ transportPublicKey, blsPubkeys: [kA, kB] });
    const b = reportData({ transportPublicKey, blsPubkeys: [kB, kA.toUpperCase().replace("0X", "0x")] });
    assert.deepEqual(a, b);
  });

  it("changes when any bound value changes", () => {
    const base = toHex(reportData({ transportPublicKey, blsPubkeys: [kA, kB] }));
    const otherTransport = transportPublicKey.slice();
    otherTransport[31] = otherTransport[31]! ^ 1;
    const variants = [
      reportData({ transportPublicKey: otherTransport, blsPubkeys: [kA, kB] }),
      reportData({ transportPublicKey, blsPubkeys: [kA] }),
      reportData({ transportPublicKey, blsPubkeys: [kA, "0x" + "11".repeat(47) + "10"] }),
      // Length prefixes keep a key moved from the transport field into the list from colliding.
      reportData({ transportPublicKey: transportPublicKey.subarray(0, 31), blsPubkeys: [kA, kB] }),
    ];
    for (const v of variants) assert.notEqual(toHex(v), base);
  });

  it("puts the nonce in bytes 32..63", () => {
    const nonce = new Uint8Array(32).fill(7);
    const rd = reportData({ transportPublicKey, blsPubkeys: [kA], nonce });
    assert.deepEqual(rd.subarray(32), nonce);
    assert.deepEqual(rd.subarray(0, 32), reportData({ transportPublicKey, blsPubkeys: [kA] }).subarray(0, 32));
  });

  it("refuses duplicate keys, empty transport keys and short nonces", () => {
    assert.throws(() => reportData({ transportPublicKey, blsPubkeys: [kA, kA] }), (e: unknown) => e instanceof TeeError && /twice/.test(e.message));
    assert.throws(() => reportData({ transportPublicKey: new Uint8Array(0), blsPubkeys: [] }), TeeError);
    assert.throws(() => reportData({ transportPublicKey, blsPubkeys: [], nonce: new Uint8Array(31) }), TeeError);
  });
});

describe("checkReportData", () => {
  const claim = { transportPublicKey, blsPubkeys: [kA, kB] };

  it("accepts report data made from the same claim", () => {
    assert.deepEqual(checkReportData(reportData(claim), { ...claim, blsPubkeys: [kB, kA] }), { ok: true });
  });

  it("refuses a different key set, a flipped bit, a wrong nonce and a wrong length", () => {
    const rd = reportData(claim);
    const r1 = checkReportData(rd, { transportPublicKey, blsPubkeys: [kA] });
    assert.equal(r1.ok, false);
    assert.match((r1 as { reason: string }).reason, /does not bind the claimed transport key and 1 BLS key/);

    const flipped = rd.slice();
    flipped[5] = flipped[5]! ^ 0x80;
    assert.equal(checkReportData(flipped, claim).ok, false);

    const nonce = new Uint8Array(32).fill(1);
    const r3 = checkReportData(reportData({ ...claim, nonce }), claim);
    assert.equal(r3.ok, false);
    assert.match((r3 as { reason: string }).reason, /expected zero/);
    assert.deepEqual(checkReportData(reportData({ ...claim, nonce }), { ...claim, nonce }), { ok: true });

    assert.equal(checkReportData(rd.subarray(0, 32), claim).ok, false);
  });
});
