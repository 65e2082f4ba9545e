import { TeeError } from "../errors.js";

/** Bounds-checked little-endian reader: every short or overlong field becomes INVALID_EVIDENCE naming it. */
export class Reader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.pos;
  }

  bytes(n: number, field: string): Uint8Array {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new TeeError(
        "INVALID_EVIDENCE",
        `${this.what} is truncated: ${field} needs ${n} bytes at offset ${this.pos}, only ${this.buf.length - this.pos} left`,
        { field, offset: this.pos },
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Refuses bytes left over: whatever a length field did not account for was not meant to be there. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new TeeError("INVALID_EVIDENCE", `${this.what} has ${this.buf.length - this.pos} trailing bytes after offset ${this.pos}`, {
        offset: this.pos,
      });
    }
  }

  u16(field: string): number {
    const b = this.bytes(2, field);
    return b[0]! | (b[1]! << 8);
  }

  u32(field: string): number {
    const b = this.bytes(4, field);
    return Buffer.from(b).readUInt32LE(0);
  }
}

export function u64le(b: Uint8Array, offset: number): bigint {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(offset);
}

export { toBareHex as hex } from "../../util/hex.js";
