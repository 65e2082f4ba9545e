import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGraminePlatform } from "../../src/tee/gramine.js";
import { createDevPlatform } from "../../src/tee/dev.js";
import { TeeError } from "../../src/tee/errors.js";
import { reportData } from "../../src/tee/reportData.js";
import { verifyEvidence } from "../../src/tee/verify/index.js";

const realQuote = new Uint8Array(readFileSync(new URL("../../../shared/vectors/tee/sgx-dcap-v3.quote", import.meta.url)));
/** Offset of REPORTDATA in an SGX quote: header (48) + 320 into the enclave report. */
const QUOTE_REPORT_DATA = 48 + 320;

/**
 * A directory laid out like Gramine's /dev/attestation. Its `quote` is a FAKE for this file-interface
 * test only: the real vector quote with its report data replaced, so it parses like a quote but its
 * signature no longer verifies (asserted below). Real Gramine writes a fresh quote on every read.
 */
function fakeGramine(opts: { attestationType?: string; mrenclave?: Uint8Array; mrsigner?: Uint8Array } = {}): string {
  const root = mkdtempSync(join(tmpdir(), "gramine-attestation-"));
  mkdirSync(join(root, "keys"));
  writeFileSync(join(root, "attestation_type"), (opts.attestationType ?? "dcap") + "\n");
  writeFileSync(join(root, "keys", "_sgx_mrenclave"), opts.mrenclave ?? randomBytes(16));
  writeFileSync(join(root, "keys", "_sgx_mrsigner"), opts.mrsigner ?? randomBytes(16));
  return root;
}

function fakeQuoteOver(root: string, rd: Uint8Array): void {
  const q = realQuote.slice();
  q.set(rd, QUOTE_REPORT_DATA);
  writeFileSync(join(root, "quote"), q);
}

const isTee = (code: string, re: RegExp) => (e: unknown) => e instanceof TeeError && e.code === code && re.test(e.message);
const secret = new Uint8Array(32).fill(9);

describe("gramine-sgx platform: sealing", () => {
  it("round-trips under the same context and sealing key", async () => {
    const p = await createGraminePlatform({ root: fakeGramine() });
    assert.equal(p.name, "gramine-sgx");
    assert.equal(p.attested, true);
    const blob = await p.seal(secret, "bls-key:0xab");
    assert.ok(!Buffer.from(blob).includes(Buffer.from(secret)));
    assert.deepEqual(await p.unseal(blob, "bls-key:0xab"), secret);
  });

  it("refuses another context, a flipped bit, another enclave and the other policy", async () => {
    const mrenclave = randomBytes(16);
    const root = fakeGramine({ mrenclave });
    const p = await createGraminePlatform({ root });
    const blob = await p.seal(secret, "bls-key:0xab");
    await assert.rejects(p.unseal(blob, "bls-key:0xcd"), isTee("UNSEAL_FAILED", /failed authentication/));
    const flipped = blob.slice();
    flipped[blob.length - 1] = flipped[blob.length - 1]! ^ 1;
    await assert.rejects(p.unseal(flipped, "bls-key:0xab"), isTee("UNSEAL_FAILED", /failed authentication/));

    const otherEnclave = await createGraminePlatform({ root: fakeGramine() });
    await assert.rejects(otherEnclave.unseal(blob, "bls-key:0xab"), isTee("UNSEAL_FAILED", /failed authentication/));

    // Same bytes in both key files: only the policy in the HKDF info tells the keys apart.
    const same = fakeGramine({ mrenclave, mrsigner: mrenclave });
    const byEnclave = await createGraminePlatform({ root: same });
    const bySigner = await createGraminePlatform({ root: same, sealingKey: "mrsigner" });
    await assert.rejects(bySigner.unseal(await byEnclave.seal(secret, "c"), "c"), isTee("UNSEAL_FAILED", /failed authentication/));
  });

  it("uses the key file of the configured policy", async () => {
    const mrsigner = randomBytes(16);
    const a = await createGraminePlatform({ root: fakeGramine({ mrsigner }), sealingKey: "mrsigner" });
    const b = await createGraminePlatform({ root: fakeGramine({ mrsigner }), sealingKey: "mrsigner" });
    assert.deepEqual(await b.unseal(await a.seal(secret, "c"), "c"), secret);
  });

  it("does not open blobs sealed by the dev platform", async () => {
    const dev = await createDevPlatform(mkdtempSync(join(tmpdir(), "dev-")));
    const p = await createGraminePlatform({ root: fakeGramine() });
    await assert.rejects(p.unseal(await dev.seal(secret, "c"), "c"), isTee("UNSEAL_FAILED", /not a gramine-sgx-platform sealed blob/));
  });

  it("refuses to start outside Gramine, without DCAP, or with a malformed key", async () => {
    await assert.rejects(createGraminePlatform({ root: join(tmpdir(), "no-such-gramine") }), isTee("PLATFORM_UNAVAILABLE", /attestation_type/));
    await assert.rejects(createGraminePlatform({ root: fakeGramine({ attestationType: "none" }) }), isTee("PLATFORM_UNAVAILABLE", /"none", need "dcap"/));
    await assert.rejects(createGraminePlatform({ root: fakeGramine({ mrenclave: randomBytes(32) }) }), isTee("PLATFORM_UNAVAILABLE", /holds 32 bytes/));
  });
});

describe("gramine-sgx platform: evidence through the pseudo-files", () => {
  const rd = reportData({ transportPublicKey: new Uint8Array(32).fill(3), blsPubkeys: ["0x" + "aa".repeat(48)] });

  it("writes user_report_data and returns the quote read back", async () => {
    const root = fakeGramine();
    fakeQuoteOver(root, rd);
    const p = await createGraminePlatform({ root });
    const ev = await p.evidence(rd);
    assert.deepEqual(new Uint8Array(readFileSync(join(root, "user_report_data"))), rd);
    assert.equal(ev.platform, "gramine-sgx");
    assert.equal(ev.format, "sgx-dcap");
    assert.equal(ev.reportData, "0x" + Buffer.from(rd).toString("hex"));
    assert.deepEqual(new Uint8Array(Buffer.from(ev.quote, "base64")), new Uint8Array(readFileSync(join(root, "quote"))));

    // The fake quote carries the binding but is not hardware-signed, and the verifier says so.
    const r = verifyEvidence(ev, { now: new Date("2025-07-01T00:00:00Z"), anyMeasurement: true, noCollateral: true });
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.id), ["QUOTE_SIGNATURE"]);
  });

  it("refuses a quote over other report data, a non-quote, and report data of the wrong size", async () => {
    const root = fakeGramine();
    const p = await createGraminePlatform({ root });
    fakeQuoteOver(root, new Uint8Array(64));
    await assert.rejects(p.evidence(rd), isTee("EVIDENCE_FAILED", /not the requested/));
    writeFileSync(join(root, "quote"), "garbage");
    await assert.rejects(p.evidence(rd), isTee("EVIDENCE_FAILED", /unusable quote/));
    await assert.rejects(p.evidence(rd.subarray(0, 32)), isTee("EVIDENCE_FAILED", /must be 64 bytes/));
  });
});
