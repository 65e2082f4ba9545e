import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTsmPlatform, vcekFromCertTable, type TsmPlatform } from "../../src/tee/tsm.js";
import { TeeError } from "../../src/tee/errors.js";
import { reportData } from "../../src/tee/reportData.js";
import { verifyEvidence } from "../../src/tee/verify/index.js";

const vectors = new URL("../../../shared/vectors/tee/", import.meta.url);
const load = (name: string) => new Uint8Array(readFileSync(new URL(name, vectors)));
const TDX_REPORT_DATA = 48 + 520;
const SNP_REPORT_DATA = 0x50;
const VCEK = load("sev-snp-milan.vcek.der");
const AT = new Date("2025-07-01T00:00:00Z");

/**
 * FAKE outblobs for these file-interface tests only: a real quote or report with its report data
 * replaced, so it parses like the kernel's output but is no longer hardware-signed (asserted below).
 * The real configfs-tsm creates the entry's attribute files on mkdir and generates outblob on read;
 * here the test writes them into the entry the platform made.
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

function populate(p: TsmPlatform, provider: string, outblob: Uint8Array, auxblob?: Uint8Array): void {
  writeFileSync(join(p.entry, "provider"), provider + "\n");
  writeFileSync(join(p.entry, "generation"), "1\n");
  writeFileSync(join(p.entry, "outblob"), outblob);
  if (auxblob) writeFileSync(join(p.entry, "auxblob"), auxblob);
}

/**
 * Plays a second writer of the same configfs entry: waits until the platform is reading outblob
 * (a fresh FIFO, so the open pairs with exactly that read), bumps `generation` underneath it, and
 * hands it `now`, and leaves `next` (bytes, or a new FIFO to intervene again) at outblob for the retry.
 */
async function interveneWhileReading(entry: string, newGeneration: string, now: Uint8Array, next: Uint8Array | "fifo"): Promise<void> {
  const fifo = join(entry, "outblob");
  const writer = await open(fifo, "w");
  writeFileSync(join(entry, "generation"), newGeneration + "\n");
  rmSync(fifo);
  if (next === "fifo") execFileSync("mkfifo", [fifo]);
  else writeFileSync(fifo, next);
  await writer.write(now);
  await writer.close();
}

const isTee = (code: string, re: RegExp) => (e: unknown) => e instanceof TeeError && e.code === code && re.test(e.message);
const rd = reportData({ transportPublicKey: new Uint8Array(32).fill(5), blsPubkeys: ["0x" + "bb".repeat(48)] });

describe("tsm platform: evidence through configfs-tsm files", () => {
  it("TDX: writes inblob and returns outblob as a tdx quote", async () => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    assert.ok(p.entry.startsWith(root) && existsSync(p.entry));
    populate(p, "tdx_guest", fakeOutblob("tdx", rd));
    const ev = await p.evidence(rd);
    assert.deepEqual(new Uint8Array(readFileSync(join(p.entry, "inblob"))), rd);
    assert.equal(ev.platform, "tsm");
    assert.equal(ev.format, "tdx");
    assert.equal(ev.reportData, "0x" + Buffer.from(rd).toString("hex"));
    assert.equal(ev.vcek, undefined);
    const r = verifyEvidence(ev, { now: AT, anyMeasurement: true, noCollateral: true });
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.id), ["QUOTE_SIGNATURE"], "the fake is not hardware-signed");
  });

  it("SEV-SNP: returns the report and the VCEK from auxblob", async () => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    populate(p, "sev_guest", fakeOutblob("sev-snp", rd), certTable(VCEK));
    const ev = await p.evidence(rd);
    assert.equal(ev.format, "sev-snp");
    assert.deepEqual(new Uint8Array(Buffer.from(ev.vcek!, "base64")), VCEK);
    const r = verifyEvidence(ev, { now: AT, allowDebug: true, anyMeasurement: true });
    assert.ok(r.checks.some((c) => c.id === "VCEK_CHAIN" && c.ok), "the VCEK from auxblob chains to ARK-Milan");
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.id), ["REPORT_SIGNATURE"]);
  });

  it("retries once when generation changes underneath, and gives up on the second change", async () => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    populate(p, "tdx_guest", new Uint8Array(0));
    rmSync(join(p.entry, "outblob"));
    execFileSync("mkfifo", [join(p.entry, "outblob")]);
    const good = fakeOutblob("tdx", rd);
    // The report read while generation moved is over someone else's data; only the retry gives ours.
    const theirs = fakeOutblob("tdx", new Uint8Array(64).fill(0xee));
    const [ev] = await Promise.all([p.evidence(rd), interveneWhileReading(p.entry, "2", theirs, good)]);
    assert.equal(ev.format, "tdx");

    rmSync(join(p.entry, "outblob"));
    execFileSync("mkfifo", [join(p.entry, "outblob")]);
    const twice = Promise.all([
      p.evidence(rd),
      (async () => {
        await interveneWhileReading(p.entry, "3", theirs, "fifo");
        await interveneWhileReading(p.entry, "4", good, good);
      })(),
    ]);
    await assert.rejects(twice, isTee("EVIDENCE_FAILED", /rewritten by another process during two reports in a row/));
  });

  it("refuses a report over other data, an unknown provider and a malformed outblob", async () => {
    const { root, keyFile } = setup();
    const p = await createTsmPlatform({ root, sealing: { keyFile } });
    populate(p, "tdx_guest", fakeOutblob("tdx", new Uint8Array(64)));
    await assert.rejects(p.evidence(rd), isTee("EVIDENCE_FAILED", /not the requested/));
    populate(p, "arm_cca_guest", fakeOutblob("tdx", rd));
    await assert.rejects(p.evidence(rd), isTee("EVIDENCE_FAILED", /provider "arm_cca_guest" is not supported/));
    populate(p, "sev_guest", fakeOutblob("tdx", rd));
    await assert.rejects(p.evidence(rd), isTee("EVIDENCE_FAILED", /unusable sev-snp report/));
    await assert.rejects(p.evidence(rd.subarray(1)), isTee("EVIDENCE_FAILED", /must be 64 bytes/));
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
