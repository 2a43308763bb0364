// A compact binary writer/reader for stored states and wire messages: varints, fixed and length-prefixed bytes.
// Every read is bounds-checked so that a truncated or hostile input fails with a CryptoError, never a RangeError.
import { type Bytes, fromUtf8, utf8 } from "./bytes";
import { CryptoError, type CryptoErrorCode } from "./errors";

export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.grow(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.grow(4);
    const b = this.buf;
    const o = this.len;
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    this.len += 4;
    return this;
  }

  /** Unsigned LEB128 for non-negative safe integers. */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new CryptoError("bad_state", "invalid varint");
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    return this.u8(v);
  }

  raw(b: Bytes): this {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  bytes(b: Bytes): this {
    return this.varint(b.length).raw(b);
  }

  str(s: string): this {
    return this.bytes(utf8(s));
  }

  optional<T>(v: T | undefined, write: (v: T) => void): this {
    if (v === undefined) return this.u8(0);
    this.u8(1);
    write(v);
    return this;
  }

  finish(): Bytes {
    return this.buf.slice(0, this.len);
  }
}

export class Reader {
  private off = 0;
  constructor(
    private readonly buf: Bytes,
    private readonly code: CryptoErrorCode = "bad_state",
  ) {}

  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new CryptoError(this.code, "truncated input");
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++];
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const o = this.off;
    this.off += 4;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      mul *= 0x80;
    }
    throw new CryptoError(this.code, "invalid varint");
  }

  raw(n: number): Bytes {
    this.need(n);
    const out = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return out;
  }

  bytes(max = 1 << 24): Bytes {
    const n = this.varint();
    if (n > max) throw new CryptoError(this.code, "field too long");
    return this.raw(n);
  }

  str(max = 1024): string {
    try {
      return fromUtf8(this.bytes(max));
    } catch (e) {
      if (e instanceof CryptoError) throw e;
      throw new CryptoError(this.code, "invalid utf-8", { cause: e });
    }
  }

  optional<T>(read: () => T): T | undefined {
    const flag = this.u8();
    if (flag === 0) return undefined;
    if (flag !== 1) throw new CryptoError(this.code, "invalid flag");
    return read();
  }

  rest(): Bytes {
    const out = this.buf.slice(this.off);
    this.off = this.buf.length;
    return out;
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  end(): void {
    if (this.off !== this.buf.length) throw new CryptoError(this.code, "trailing bytes");
  }
}
