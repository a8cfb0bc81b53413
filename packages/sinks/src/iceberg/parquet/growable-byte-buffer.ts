/**
 * An append-only little-endian byte buffer that doubles its capacity when
 * full. Fields are public so hot loops can write through `view`/`bytes`
 * directly after one `ensure` per value, without a call per byte.
 */
export class GrowableByteBuffer {
  /** The backing bytes; only `[0, length)` is meaningful. Replaced on growth. */
  bytes: Uint8Array;
  /** A view over `bytes`; replaced together with it. */
  view: DataView;
  /** Bytes written so far. */
  length = 0;

  /** Creates a buffer with `capacity` bytes reserved (at least 64). */
  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(Math.max(64, capacity));
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `extra` more bytes after `length`. */
  ensure(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  /** Forgets the content, keeping the capacity. */
  reset(): void {
    this.length = 0;
  }

  /** Appends one byte. */
  writeByte(value: number): void {
    this.ensure(1);
    this.bytes[this.length++] = value;
  }

  /** Appends an unsigned LEB128 varint of a non-negative safe integer. */
  writeVarint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.length++] = v;
  }

  /** Appends a 32-bit little-endian unsigned integer. */
  writeUint32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  /** Appends raw bytes. */
  writeBytes(value: Uint8Array): void {
    this.ensure(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  /** Appends the UTF-8 bytes of a string; returns how many were written. */
  writeUtf8(value: string): number {
    const n = value.length;
    this.ensure(n * 3);
    const bytes = this.bytes;
    let pos = this.length;
    // ASCII is the common case and a loop beats a native call for short strings.
    let i = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[pos++] = c;
    }
    if (i < n) pos += textEncoder.encodeInto(value.slice(i), bytes.subarray(pos)).written;
    const written = pos - this.length;
    this.length = pos;
    return written;
  }

  /** A copy of the content. */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

const textEncoder = new TextEncoder();
