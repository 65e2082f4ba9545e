import { randomBytes } from "node:crypto";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toHex } from "../util/hex.js";
import { createSealer, type Sealer } from "./aead.js";
import { TeeError } from "./errors.js";
import { Exclusive } from "../util/exclusive.js";
import type { Evidence, Platform } from "./platform.js";
import { assertReportDataLength } from "./reportData.js";
import { parseIntelQuote } from "./verify/intelQuote.js";
import { parseSnpReport } from "./verify/sevSnp.js";

export interface TsmOptions {
  /** Linux configfs-tsm report directory; tests point it at a directory laid out the same way. */
  root?: string;
  /**
   * Confidential VMs have no SGX-style sealing that Node can reach (TDX has none; the SEV-SNP derived
   * key needs an ioctl on /dev/sev-guest). Sealing therefore uses a 32-byte key that a key-release
   * step put in guest memory after attesting this VM (docs/tee.md, "Sealing in a confidential VM").
   */
  sealing: { keyFile: string };
}

export interface TsmEvidence extends Evidence {
  /** SEV-SNP only: the VCEK (base64 DER) when the host supplied it in auxblob. */
  vcek?: string;
}

export interface TsmPlatform extends Platform {
  /** The configfs entry this process uses for every report. */
  readonly entry: string;
  evidence(reportData: Uint8Array): Promise<TsmEvidence>;
  /** Removes the configfs entry. */
  close(): Promise<void>;
}

const SEALING_KEY_BYTES = 32;
const PROVIDERS: Record<string, "tdx" | "sev-snp"> = { tdx_guest: "tdx", sev_guest: "sev-snp" };
/** GHCB certificate table GUID of the VCEK, in the byte order AMD's tools store it (uuid_parse). */
const VCEK_GUID = Buffer.from("63da758de6644564adc5f4b93be8accd", "hex");

/** The VCEK from a SEV-SNP certificate table (GHCB spec §4.1.8.1): {guid, offset, length}… ended by zeros. */
export function vcekFromCertTable(table: Uint8Array): Uint8Array | undefined {
  const b = Buffer.from(table.buffer, table.byteOffset, table.byteLength);
  for (let o = 0; o + 24 <= b.length; o += 24) {
    const guid = b.subarray(o, o + 16);
    if (guid.every((x) => x === 0)) return undefined;
    if (guid.equals(VCEK_GUID)) {
      const offset = b.readUInt32LE(o + 16);
      const length = b.readUInt32LE(o + 20);
      if (offset + length > b.length) {
        throw new TeeError("EVIDENCE_FAILED", `SEV-SNP certificate table puts the VCEK at ${offset}+${length}, past its ${b.length} bytes`);
      }
      return table.subarray(offset, offset + length);
    }
  }
  return undefined;
}

async function readSealingKey(path: string): Promise<Sealer> {
  let key: Uint8Array;
  try {
    key = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `cannot read the released sealing key ${path}: ${(e as Error).message}`, { path });
  }
  if (key.length !== SEALING_KEY_BYTES) {
    throw new TeeError("PLATFORM_UNAVAILABLE", `sealing key ${path} holds ${key.length} bytes, need ${SEALING_KEY_BYTES}`, { path });
  }
  const sealer = createSealer(key, { magic: "SSTK", infoPrefix: "secure-signer/tsm-seal/v1/", platform: "tsm" });
  key.fill(0);
  return sealer;
}

async function text(path: string): Promise<string> {
  return Buffer.from(await readFile(path)).toString("utf8").trim();
}

/**
 * The configfs-tsm platform for Intel TDX and AMD SEV-SNP guests, used as the kernel's ABI
 * (Documentation/ABI/testing/configfs-tsm-report) says. One report entry per process, made at start
 * under an unpredictable name (so a missing configfs-tsm fails start-up, not the first request) and
 * never one that already exists: an entry someone else made may carry their options. Every write to
 * an entry bumps its `generation`, so a report is ours only if `generation` read before writing
 * inblob is exactly one less than after reading outblob; otherwise another writer raced us and the
 * report is retried once, then refused. For SEV-SNP the privilege level (VMPL) is set to
 * `privlevel_floor`, the level this guest runs at, before the first report.
 */
export async function createTsmPlatform(opts: TsmOptions): Promise<TsmPlatform> {
  const root = opts.root ?? "/sys/kernel/config/tsm/report";
  const sealer = await readSealingKey(opts.sealing.keyFile);
  const entry = join(root, `secure-signer-${randomBytes(16).toString("hex")}`);
  try {
    await mkdir(entry);
  } catch (e) {
    const exists = (e as NodeJS.ErrnoException).code === "EEXIST";
    throw new TeeError(
      "PLATFORM_UNAVAILABLE",
      exists
        ? `configfs-tsm report entry ${entry} already exists: it is not ours to use`
        : `cannot create configfs-tsm report entry ${entry}: ${(e as Error).message}; is configfs mounted and is this a TDX or SEV-SNP guest?`,
      { path: entry },
    );
  }
  const exclusive = new Exclusive();
  let provider: string | undefined;

  /** Reads the provider once and, for SEV-SNP, sets privlevel from privlevel_floor (a write, so before any report's generation). */
  async function configure(): Promise<string> {
    if (provider !== undefined) return provider;
    const name = await text(join(entry, "provider"));
    if (name === "sev_guest") {
      const floor = Number(await text(join(entry, "privlevel_floor")));
      if (!Number.isInteger(floor) || floor < 0 || floor > 3) {
        throw new Error(`privlevel_floor is not a privilege level from 0 to 3`);
      }
      await writeFile(join(entry, "privlevel"), `${floor}\n`);
    }
    return (provider = name);
  }

  async function attempt(reportData: Uint8Array) {
    const before = Number(await text(join(entry, "generation")));
    await writeFile(join(entry, "inblob"), reportData);
    const outblob = new Uint8Array(await readFile(join(entry, "outblob")));
    let auxblob: Uint8Array | undefined;
    if (provider === "sev_guest") {
      try {
        auxblob = new Uint8Array(await readFile(join(entry, "auxblob")));
      } catch (e) {
        // Hosts that do not supply certificates leave auxblob absent or empty; the verifier then needs the VCEK from AMD KDS.
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
    }
    const after = Number(await text(join(entry, "generation")));
    return { stable: Number.isInteger(before) && after === before + 1, outblob, provider: provider!, auxblob };
  }

  async function evidence(reportData: Uint8Array): Promise<TsmEvidence> {
    assertReportDataLength(reportData);
    return exclusive.run(async () => {
      let got;
      try {
        await configure();
        got = await attempt(reportData);
        if (!got.stable) got = await attempt(reportData);
      } catch (e) {
        throw new TeeError("EVIDENCE_FAILED", `configfs-tsm report via ${entry} failed: ${(e as Error).message}`);
      }
      if (!got.stable) {
        throw new TeeError("EVIDENCE_FAILED", `configfs-tsm entry ${entry} was rewritten by another process during two reports in a row`);
      }
      const format = PROVIDERS[got.provider];
      if (!format) {
        throw new TeeError("EVIDENCE_FAILED", `configfs-tsm provider "${got.provider}" is not supported (tdx_guest, sev_guest are)`);
      }
      let bound: Uint8Array;
      try {
        bound = format === "tdx" ? parseIntelQuote(got.outblob).reportData : parseSnpReport(got.outblob).reportData;
      } catch (e) {
        throw new TeeError("EVIDENCE_FAILED", `configfs-tsm provider ${got.provider} returned an unusable ${format} report: ${(e as Error).message}`);
      }
      if (!Buffer.from(bound).equals(reportData)) {
        throw new TeeError("EVIDENCE_FAILED", `configfs-tsm returned a report over ${toHex(bound)}, not the requested ${toHex(reportData)}`);
      }
      const vcek = got.auxblob && got.auxblob.length > 0 ? vcekFromCertTable(got.auxblob) : undefined;
      return {
        platform: "tsm",
        format,
        quote: Buffer.from(got.outblob).toString("base64"),
        reportData: toHex(reportData),
        ...(vcek ? { vcek: Buffer.from(vcek).toString("base64") } : {}),
      };
    });
  }

  return {
    name: "tsm",
    attested: true,
    entry,
    async seal(plaintext, context) {
      return sealer.seal(plaintext, context);
    },
    async unseal(blob, context) {
      return sealer.unseal(blob, context);
    },
    evidence,
    async close() {
      await exclusive.run(() => rmdir(entry));
    },
  };
}
