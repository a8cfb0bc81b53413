/**
 * Snappy raw-format compression (the block format Parquet's SNAPPY codec
 * uses: a varint length, then literals and back-references). Greedy
 * matching on 4-byte hashes inside independent 64 KiB blocks, so every copy
 * fits the 2-byte-offset form. Written for throughput in V8: one output
 * array sized for the worst case, an Int32Array hash table, no per-element
 * allocation.
 */
const BLOCK = 1 << 16;
const HASH_BITS = 14;
const HASH_SHIFT = 32 - HASH_BITS;
const MIN_TAIL = 15;

let table = new Int32Array(1 << HASH_BITS);
let scratch = new Uint8Array(0);

/** The largest compressed size of `n` input bytes (format bound plus the length varint). */
export function maxSnappyLength(n: number): number {
  return 32 + n + Math.ceil(n / 6);
}

/** Compresses `input` into a new array holding exactly the compressed bytes. */
export function compressSnappy(input: Uint8Array): Uint8Array {
  const bound = maxSnappyLength(input.length);
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const out = scratch;
  let op = 0;
  let n = input.length;
  while (n >= 0x80) {
    out[op++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[op++] = n;
  if (table.length !== 1 << HASH_BITS) table = new Int32Array(1 << HASH_BITS);
  for (let start = 0; start < input.length; start += BLOCK) {
    op = compressBlock(input, start, Math.min(input.length, start + BLOCK), out, op);
  }
  return out.slice(0, op);
}

function compressBlock(src: Uint8Array, start: number, end: number, out: Uint8Array, opIn: number): number {
  let op = opIn;
  if (end - start < MIN_TAIL) return emitLiteral(src, start, end, out, op);
  const t = table;
  // one unaligned little-endian load per 4 bytes (compiled to a single load), rather than four byte loads
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  // Positions are stored absolute; anything before `start` belongs to an older block and is ignored.
  t.fill(-1);
  const ipLimit = end - MIN_TAIL;
  let nextEmit = start;
  let ip = start + 1;
  outer: for (;;) {
    let skip = 32;
    let candidate: number;
    let cur = view.getInt32(ip, true);
    for (;;) {
      const h = Math.imul(cur, 0x1e35a7bd) >>> HASH_SHIFT;
      candidate = t[h] as number;
      t[h] = ip;
      if (candidate >= start && view.getInt32(candidate, true) === cur) break;
      ip += skip++ >> 5;
      if (ip > ipLimit) break outer;
      cur = view.getInt32(ip, true);
    }
    op = emitLiteral(src, nextEmit, ip, out, op);
    for (;;) {
      let len = 4;
      const max = end - ip;
      // four bytes at a time while they agree, then byte by byte
      while (len + 4 <= max && view.getInt32(candidate + len, true) === view.getInt32(ip + len, true)) len += 4;
      while (len < max && src[candidate + len] === src[ip + len]) len++;
      op = emitCopy(ip - candidate, len, out, op);
      ip += len;
      nextEmit = ip;
      if (ip >= ipLimit) break outer;
      t[Math.imul(view.getInt32(ip - 1, true), 0x1e35a7bd) >>> HASH_SHIFT] = ip - 1;
      cur = view.getInt32(ip, true);
      const h = Math.imul(cur, 0x1e35a7bd) >>> HASH_SHIFT;
      candidate = t[h] as number;
      t[h] = ip;
      if (candidate < start || view.getInt32(candidate, true) !== cur) break;
    }
    ip++;
    if (ip > ipLimit) break;
  }
  return nextEmit < end ? emitLiteral(src, nextEmit, end, out, op) : op;
}

function emitLiteral(src: Uint8Array, from: number, to: number, out: Uint8Array, opIn: number): number {
  let op = opIn;
  const len = to - from;
  if (len === 0) return op;
  const n = len - 1;
  if (n < 60) out[op++] = n << 2;
  else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else if (n < 0x10000) {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  } else if (n < 0x1000000) {
    out[op++] = 62 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = n >>> 16;
  } else {
    out[op++] = 63 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = (n >>> 16) & 0xff;
    out[op++] = n >>> 24;
  }
  if (len < 16) {
    for (let i = from; i < to; i++) out[op++] = src[i] as number;
    return op;
  }
  out.set(src.subarray(from, to), op);
  return op + len;
}

function emitCopy(offset: number, lengthIn: number, out: Uint8Array, opIn: number): number {
  let op = opIn;
  let len = lengthIn;
  while (len >= 68) {
    out[op++] = 2 | (63 << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    len -= 64;
  }
  if (len > 64) {
    out[op++] = 2 | (59 << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    out[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
  } else {
    out[op++] = 2 | ((len - 1) << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
  }
  return op;
}
