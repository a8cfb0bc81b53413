import { GrowableByteBuffer } from "./growable-byte-buffer.js";

/** Entries after which a column chunk stops dictionary-encoding (indices then need 16 bits). */
const MAX_ENTRIES = 1 << 15;
/** PLAIN bytes after which a column chunk stops dictionary-encoding. */
const MAX_BYTES = 1 << 20;

/**
 * The dictionary of one string column chunk: distinct values in first-seen
 * order with their PLAIN encoding (the dictionary page body). Once it grows
 * past its limits it is `full`: already written indices stay valid, later
 * pages of the chunk fall back to PLAIN.
 */
export class StringDictionary {
  /** Index of each distinct value. */
  readonly indexes = new Map<string, number>();
  /** The PLAIN-encoded entries, in index order. */
  readonly plain = new GrowableByteBuffer(4096);
  /** True once no entry may be added. */
  full = false;

  /** Number of entries. */
  get size(): number {
    return this.indexes.size;
  }

  /** Adds a value not yet present; returns its index, or -1 (and becomes full) past the limits. */
  add(value: string): number {
    if (this.indexes.size >= MAX_ENTRIES || this.plain.length >= MAX_BYTES) {
      this.full = true;
      return -1;
    }
    const index = this.indexes.size;
    this.indexes.set(value, index);
    const plain = this.plain;
    plain.ensure(4);
    const at = plain.length;
    plain.length += 4;
    const written = plain.writeUtf8(value);
    plain.view.setUint32(at, written, true);
    return index;
  }
}

/** Bits needed for indices below `size` (at least 1, which every reader accepts). */
export function indexBitWidth(size: number): number {
  let width = 1;
  while (size - 1 >= 1 << width) width++;
  return width;
}

/**
 * Appends `count` little-endian int32 indices from `indices` as the
 * RLE/bit-packed hybrid of `width` bits: one bit-packed run, the last group
 * of eight padded with zeros. The caller writes the bit-width byte first.
 */
export function writeBitPackedIndices(out: GrowableByteBuffer, indices: DataView, count: number, width: number): void {
  const groups = (count + 7) >>> 3;
  out.writeVarint(groups * 2 + 1);
  out.ensure(groups * width);
  const bytes = out.bytes;
  let pos = out.length;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < count; i++) {
    acc |= indices.getInt32(i * 4, true) << bits;
    bits += width;
    while (bits >= 8) {
      bytes[pos++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  const end = out.length + groups * width;
  if (bits > 0) bytes[pos++] = acc & 0xff;
  while (pos < end) bytes[pos++] = 0;
  out.length = end;
}
