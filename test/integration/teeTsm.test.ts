import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createTsmPlatform, vcekFromCertTable, type TsmPlatform } from "../../src/tee/tsm.js";
import { TeeError } from "../../src/tee/errors.js";
import { reportData } from "../../src/tee/reportData.js";
import { verifyEvidence } from "../../src/tee/verify/index.js";
import { serveTsmEntry, type FakeTsmOptions } from "../helpers/fakeConfigfsTsm.js";

const vectors = new URL("../../../shared/vectors/tee/", import.meta.url);
const load = (name: string) => new Uint8Array(readFileSync(new URL(name, vectors)));
const TDX_REPORT_DATA = 48 + 520;
const SNP_REPORT_DATA = 0x50;
const VCEK = load("sev-snp-milan.vcek.der");
const AT = new Date("2025-07-01T00:00:00Z");

/**
 * FAKE outblobs for these file-interface tests only (served by test/helpers/fakeConfigfsTsm.ts): a real quote or report with its report data
 * replaced, so it parses like the kernel's output but is no longer hardware-signed (asserted below).
 */
function fakeOutblob(kind: "tdx" | "sev-snp", rd: Uint8Array): Uint8Array {
  const file = load(kind === "tdx" ? "tdx-v4.quote" : "sev-snp-milan.report");
  // The published TDX file ends in 70 zero bytes after its quote, which the verifier refuses; a kernel returns the quote alone.
  const out = (kind === "tdx" ? file.subarray(0, 636 + Buffer.from(file).readUInt32LE(632)) : file).slice();
  out.set(rd, kind === "tdx" ? TDX_REPORT_DATA : SNP_REPORT_DATA);
  return out;
}

/** A GHCB certificate table: one VCEK entry, the all-zero terminator, then the certificate. */
function certTable(vcek: Uint8Array): Uint8Array {
  const header = Buffer.alloc(48);
  Buffer.from("63da758de6644564adc5f4b93be8accd", "hex").copy(header, 0);
  header.writeUInt32LE(48, 16);
  header.writeUInt32LE(vcek.length, 20);
  return new Uint8Array(Buffer.concat([header, vcek]));
}

function setup(): { root: string; keyFile: string } {
  const root = mkdtempSync(join(tmpdir(), "tsm-report-"));
  const keyFile = join(mkdtempSync(join(tmpdir(), "tsm-key-")), "sealing.key");
  writeFileSync(keyFile, randomBytes(32));
  return { root, keyFile };
}

const isTee = (code: string, re: RegExp) => (e: unknown) => e instanceof TeeError && e.code === code && re.test(e.message);
const rd = reportData({ transportPublicKey: new Uint8Array(32).fill(5), blsPubkeys: ["0x" + "bb".repeat(48)] });

describe("tsm platform: evidence through configfs-tsm files", () => {
  const served = (t: TestContext, p: TsmPlatform, opts: FakeTsmOptions) => {
    const fake = serveTsmEntry(p.entry, opts);
    t.after(() => fake.stop());
    return fake;
  };
  const tdx: FakeTsmOptions = { provider: "tdx_guest", report: (inblob) => fakeOutblob("tdx", inblob) };

  it("TDX: writes inblob to a new, unpredictable entry and returns outblob as a tdx quote", async (t) => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    const q = await createTsmPlatform({ root, sealing: { keyFile } });
    assert.ok(p.entry.startsWith(root) && existsSync(p.entry));
    assert.match(basename(p.entry), /^secure-signer-[0-9a-f]{32}$/);
    assert.notEqual(p.entry, q.entry, "two processes never share an entry");
    const fake = served(t, p, tdx);
    const ev = await p.evidence(rd);
    assert.deepEqual(fake.reports.map((r) => [r.inblob, r.privlevel, r.generation]), [[rd, undefined, 1]]);
    assert.equal(ev.platform, "tsm");
    assert.equal(ev.format, "tdx");
    assert.equal(ev.reportData, "0x" + Buffer.from(rd).toString("hex"));
    assert.equal(ev.vcek, undefined);
    const r = verifyEvidence(ev, { now: AT, anyMeasurement: true, noCollateral: true });
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.id), ["QUOTE_SIGNATURE"], "the fake is not hardware-signed");
    assert.equal((await p.evidence(rd)).format, "tdx");
    assert.equal(fake.reports.length, 2);
  });

  it("SEV-SNP: sets privlevel to privlevel_floor before the first report, returns the report and the VCEK from auxblob", async (t) => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    const fake = served(t, p, { provider: "sev_guest", privlevelFloor: 2, auxblob: certTable(VCEK), report: (inblob) => fakeOutblob("sev-snp", inblob) });
    const ev = await p.evidence(rd);
    assert.deepEqual(fake.reports.map((r) => r.privlevel), [2]);
    assert.equal(ev.format, "sev-snp");
    assert.deepEqual(new Uint8Array(Buffer.from(ev.vcek!, "base64")), VCEK);
    const r = verifyEvidence(ev, { now: AT, allowDebug: true, anyMeasurement: true });
    assert.ok(r.checks.some((c) => c.id === "VCEK_CHAIN" && c.ok), "the VCEK from auxblob chains to ARK-Milan");
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.id), ["REPORT_SIGNATURE"]);
  });

  it("leaves an existing entry alone: a foreign entry is never reused", async (t) => {
    const { root, keyFile } = setup();
    // What the old code reused after a restart: the entry named after this pid, made by someone else.
    const foreign = join(root, `secure-signer-${process.pid}`);
    mkdirSync(foreign);
    const theirs = serveTsmEntry(foreign, tdx);
    t.after(() => theirs.stop());
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    served(t, p, tdx);
    assert.notEqual(p.entry, foreign);
    assert.equal((await p.evidence(rd)).format, "tdx");
    assert.deepEqual(theirs.reports, []);
  });

  it("retries once when generation moves by more than our write, and gives up on the second", async (t) => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    const fake = served(t, p, tdx);
    fake.raceNext(1);
    assert.equal((await p.evidence(rd)).format, "tdx");
    assert.deepEqual(fake.reports.map((r) => r.generation), [2, 3]);
    fake.raceNext(2);
    await assert.rejects(p.evidence(rd), isTee("EVIDENCE_FAILED", /rewritten by another process during two reports in a row/));
    assert.equal((await p.evidence(rd)).format, "tdx", "the entry works again once the other writer is gone");
  });

  it("refuses a report over other data, an unknown provider and a malformed outblob", async (t) => {
    const cases: [FakeTsmOptions, RegExp][] = [
      [{ provider: "tdx_guest", report: () => fakeOutblob("tdx", new Uint8Array(64)) }, /not the requested/],
      [{ provider: "arm_cca_guest", report: (inblob) => fakeOutblob("tdx", inblob) }, /provider "arm_cca_guest" is not supported/],
      [{ provider: "sev_guest", privlevelFloor: 0, report: (inblob) => fakeOutblob("tdx", inblob) }, /unusable sev-snp report/],
    ];
    for (const [opts, re] of cases) {
      const { root, keyFile } = setup();
      const p = await createTsmPlatform({ root, sealing: { keyFile } });
      served(t, p, opts);
      await assert.rejects(p.evidence(rd), isTee("EVIDENCE_FAILED", re));
      await assert.rejects(p.evidence(rd.subarray(1)), isTee("EVIDENCE_FAILED", /must be 64 bytes/));
    }
  });

  it("removes its entry on close", async () => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    await p.close();
    assert.equal(existsSync(p.entry), false);
  });

  it("refuses to start without configfs-tsm or without a released sealing key", async () => {
    const { keyFile } = setup();
    await assert.rejects(createTsmPlatform({ root: join(tmpdir(), "no-such-tsm", "report"), sealing: { keyFile } }), isTee("PLATFORM_UNAVAILABLE", /cannot create configfs-tsm report entry/));
    const { root } = setup();
    await assert.rejects(createTsmPlatform({ root, sealing: { keyFile: join(root, "missing.key") } }), isTee("PLATFORM_UNAVAILABLE", /released sealing key/));
    const short = join(root, "short.key");
    writeFileSync(short, randomBytes(16));
    await assert.rejects(createTsmPlatform({ root, sealing: { keyFile: short } }), isTee("PLATFORM_UNAVAILABLE", /holds 16 bytes, need 32/));
  });
});

describe("tsm platform: sealing with the released key", () => {
  it("round-trips with the same key and refuses another key or context", async () => {
    const a = setup();
    const p = await createTsmPlatform({ root: a.root, sealing: { keyFile: a.keyFile } });
    const again = await createTsmPlatform({ root: setup().root, sealing: { keyFile: a.keyFile } });
    const other = await createTsmPlatform({ root: setup().root, sealing: { keyFile: setup().keyFile } });
    const secret = new Uint8Array([1, 2, 3]);
    const blob = await p.seal(secret, "bls-key:0x01");
    assert.deepEqual(await again.unseal(blob, "bls-key:0x01"), secret);
    await assert.rejects(other.unseal(blob, "bls-key:0x01"), isTee("UNSEAL_FAILED", /failed authentication/));
    await assert.rejects(p.unseal(blob, "bls-key:0x02"), isTee("UNSEAL_FAILED", /failed authentication/));
  });
});

describe("vcekFromCertTable", () => {
  it("finds the VCEK entry, ignores others, and refuses an entry past the end", () => {
    assert.deepEqual(vcekFromCertTable(certTable(VCEK)), VCEK);
    const askOnly = certTable(VCEK);
    askOnly[0] = 0x4a; // another GUID
    assert.equal(vcekFromCertTable(askOnly), undefined);
    assert.equal(vcekFromCertTable(new Uint8Array(24)), undefined);
    const truncated = certTable(VCEK).subarray(0, 100);
    assert.throws(() => vcekFromCertTable(truncated), isTee("EVIDENCE_FAILED", /past its 100 bytes/));
  });
});
