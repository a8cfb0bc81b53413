import { ZeroEtlError } from "@zero-etl/core";
import { compareIcebergValues, parseDecimalType } from "../iceberg-value-codec.js";
import type { IcebergValue } from "../iceberg-value-codec.js";
import { GrowableByteBuffer } from "./growable-byte-buffer.js";
import type { StringDictionary } from "./string-dictionary.js";
import { decimalBytes } from "./parquet-type-mapping.js";

/** How the values of one flat column are laid out (PLAIN encoding of its Parquet physical type). */
export type FlatColumnKind =
  | "boolean"
  | "int32"
  | "decimal32"
  | "int64"
  | "float"
  | "double"
  | "string"
  | "binary"
  | "fixed"
  | "decimalFixed";

/** Min/max/null/NaN counts of the values seen, in Iceberg value form. */
export interface ColumnStatistics {
  nulls: number;
  nans: number;
  min: IcebergValue | undefined;
  max: IcebergValue | undefined;
}

/** The values of one page: PLAIN bytes plus the presence bitmap (definition levels) of its rows. */
export interface FlatPage {
  /** PLAIN-encoded non-null values (booleans: packed bits, LSB first). */
  readonly values: GrowableByteBuffer;
  /** Bit `i` set when row `start + i` holds a value. */
  present: Uint8Array;
  /** Number of rows (values plus nulls) in the page. */
  rows: number;
  /** Number of nulls in the page. */
  nulls: number;
  /** Number of values (non-null rows) in the page. */
  count: number;
  /** True when `values` holds int32 dictionary indices rather than PLAIN values. */
  dictionary: boolean;
}

/** Creates an empty page with room for about `bytes` of values. */
export function createFlatPage(bytes: number): FlatPage {
  return { values: new GrowableByteBuffer(bytes), present: new Uint8Array(1024), rows: 0, nulls: 0, count: 0, dictionary: false };
}

/** Empties a page after it was written out, keeping its buffers. */
export function resetFlatPage(page: FlatPage): void {
  page.values.reset();
  page.present.fill(0, 0, Math.min(page.present.length, (page.rows >>> 3) + 1));
  page.rows = 0;
  page.nulls = 0;
  page.count = 0;
  page.dictionary = false;
}

/** A flat column being encoded page by page, accumulating statistics. */
export interface FlatColumnEncoder {
  readonly kind: FlatColumnKind;
  /** Byte width of FIXED_LEN_BYTE_ARRAY values, 0 otherwise. */
  readonly width: number;
  /**
   * Appends rows `[start, end)` of column `column` to `page`, stopping once
   * the page holds about `pageBytes` bytes (an empty page always takes at
   * least one row); returns the first row not appended, so a result below
   * `end` means the page is full. Updates `stats`. Throws a `ZeroEtlError`
   * naming the column and row when a value does not fit (never the value).
   */
  append(options: EncodePageOptions): number;
}

/** Arguments of {@link FlatColumnEncoder.encodePage}. */
export interface EncodePageOptions {
  readonly rows: readonly (readonly unknown[])[];
  readonly column: number;
  readonly start: number;
  readonly end: number;
  readonly pageBytes: number;
  readonly page: FlatPage;
  readonly stats: ColumnStatistics;
  /** The chunk's dictionary, for string columns that use one. */
  readonly dictionary?: StringDictionary | undefined;
}

/** The column kind of an Iceberg primitive type, or undefined for types this encoder does not handle. */
export function flatColumnKind(type: string): FlatColumnKind | undefined {
  switch (type) {
    case "boolean":
      return "boolean";
    case "int":
    case "date":
      return "int32";
    case "long":
    case "time":
    case "timestamp":
    case "timestamptz":
      return "int64";
    case "float":
      return "float";
    case "double":
      return "double";
    case "string":
      return "string";
    case "binary":
      return "binary";
    case "uuid":
      return "fixed";
    default: {
      const decimal = parseDecimalType(type);
      if (decimal === undefined) return undefined;
      return decimal.precision <= 9 ? "decimal32" : decimal.precision <= 18 ? "int64" : "decimalFixed";
    }
  }
}

/** Creates the encoder of a flat column named `name` (for error messages) of an Iceberg primitive type. */
export function createFlatColumnEncoder(name: string, type: string, required: boolean): FlatColumnEncoder {
  const kind = flatColumnKind(type);
  if (kind === undefined) throw new ZeroEtlError(`column ${name}: no flat parquet encoding for iceberg type ${type}`, { code: "schema-unsupported" });
  const decimal = parseDecimalType(type);
  const width = kind === "fixed" ? 16 : kind === "decimalFixed" && decimal !== undefined ? decimalBytes(decimal.precision) : 0;
  const reject = (reason: string, row: number): never => {
    throw new ZeroEtlError(`column ${name} (iceberg ${type}), row ${row} of the file: ${reason}`, { code: "record-rejected" });
  };
  const encodeValues = pickLoop(kind);
  return {
    kind,
    width,
    append(o: EncodePageOptions): number {
      const { page } = o;
      const needed = ((page.rows + o.end - o.start) >>> 3) + 1;
      if (page.present.length < needed) {
        const grown = new Uint8Array(Math.max(needed, page.present.length * 2));
        grown.set(page.present);
        page.present = grown;
      }
      let limit = o.end;
      const size = kind === "boolean" ? 0.125 : fixedSize(kind, width);
      if (size > 0) {
        let room = Math.floor((o.pageBytes - page.values.length) / size);
        if (kind === "boolean") room = o.pageBytes * 8 - page.count;
        if (page.rows === 0) room = Math.max(1, room);
        limit = Math.min(o.end, o.start + Math.max(0, room));
      }
      const next = encodeValues({ ...o, limit, width, required, reject });
      page.rows += next - o.start;
      return next;
    },
  };
}

function fixedSize(kind: FlatColumnKind, width: number): number {
  switch (kind) {
    case "int32":
    case "decimal32":
    case "float":
      return 4;
    case "int64":
    case "double":
      return 8;
    case "fixed":
    case "decimalFixed":
      return width;
    default:
      return 0;
  }
}

interface LoopContext extends EncodePageOptions {
  /** Last row (exclusive) the page has room for, for fixed-width kinds; `end` otherwise. */
  readonly limit: number;
  readonly width: number;
  readonly required: boolean;
  readonly reject: (reason: string, row: number) => never;
}

type ValueLoop = (c: LoopContext) => number;

function pickLoop(kind: FlatColumnKind): ValueLoop {
  switch (kind) {
    case "boolean":
      return encodeBooleans;
    case "int32":
      return encodeInt32s;
    case "decimal32":
      return encodeDecimal32s;
    case "int64":
      return encodeInt64s;
    case "float":
    case "double":
      return kind === "float" ? encodeFloats : encodeDoubles;
    case "string":
      return encodeStrings;
    case "binary":
      return encodeBinaries;
    case "fixed":
      return encodeFixed;
    case "decimalFixed":
      return encodeDecimalFixed;
  }
}

/**
 * Each loop below is the same shape specialised per physical type, so V8
 * sees one monomorphic loop per column: read the cell, count a null or set
 * the presence bit, write the PLAIN bytes, track min/max unboxed.
 */

function encodeBooleans(c: LoopContext): number {
  const { rows, column, start, page, stats } = c;
  const end = c.limit;
  const values = page.values;
  let count = page.count;
  const usedBytes = (count + 7) >>> 3;
  const endBytes = ((count + end - start) >>> 3) + 1;
  values.ensure(endBytes - values.length);
  const out = values.bytes;
  out.fill(0, usedBytes, endBytes);
  const present = page.present;
  const base = page.rows - start;
  let nulls = 0;
  let seenTrue = false;
  let seenFalse = false;
  for (let r = start; r < end; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (typeof v !== "boolean") c.reject(`a ${typeof v} where a boolean belongs`, r);
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    if (v) {
      out[count >>> 3] = (out[count >>> 3] as number) | (1 << (count & 7));
      seenTrue = true;
    } else seenFalse = true;
    count++;
  }
  values.length = (count + 7) >>> 3;
  page.count = count;
  page.nulls += nulls;
  stats.nulls += nulls;
  if (count > 0) {
    const min = !seenFalse;
    const max = seenTrue;
    if (stats.min === undefined || (stats.min === true && !min)) stats.min = min;
    if (stats.max === undefined || (stats.max === false && max)) stats.max = max;
  }
  return end;
}

function encodeInt32s(c: LoopContext): number {
  const { rows, column, start, page, stats } = c;
  const end = c.limit;
  const values = page.values;
  values.ensure((end - start) * 4);
  const view = values.view;
  const present = page.present;
  const base = page.rows - start;
  let pos = values.length;
  let nulls = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let r = start; r < end; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (typeof v !== "number" || (v | 0) !== v) c.reject("not a 32-bit integer", r);
    const n = v as number;
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    view.setInt32(pos, n, true);
    pos += 4;
    if (n < min) min = n;
    if (n > max) max = n;
  }
  values.length = pos;
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min <= max) mergeNumbers(stats, min, max);
  return end;
}

function encodeDecimal32s(c: LoopContext): number {
  const { rows, column, start, page, stats } = c;
  const end = c.limit;
  const values = page.values;
  values.ensure((end - start) * 4);
  const view = values.view;
  const present = page.present;
  const base = page.rows - start;
  let pos = values.length;
  let nulls = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let r = start; r < end; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    const n = typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : Number.NaN;
    if ((n | 0) !== n) c.reject("not an unscaled decimal of at most 9 digits", r);
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    view.setInt32(pos, n, true);
    pos += 4;
    if (n < min) min = n;
    if (n > max) max = n;
  }
  values.length = pos;
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min <= max) mergeBigInts(stats, BigInt(min), BigInt(max));
  return end;
}

function encodeInt64s(c: LoopContext): number {
  const { rows, column, start, page, stats } = c;
  const end = c.limit;
  const values = page.values;
  values.ensure((end - start) * 8);
  const view = values.view;
  const present = page.present;
  const base = page.rows - start;
  let pos = values.length;
  let nulls = 0;
  let min: bigint | undefined;
  let max: bigint | undefined;
  // safe integers (microsecond timestamps, short decimals' unscaled values) are written without a BigInt
  let numMin = Infinity;
  let numMax = -Infinity;
  for (let r = start; r < end; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    const i = r + base;
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) c.reject("not a 64-bit integer", r);
      present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
      view.setUint32(pos, v >>> 0, true);
      view.setInt32(pos + 4, Math.floor(v / 4294967296), true);
      pos += 8;
      if (v < numMin) numMin = v;
      if (v > numMax) numMax = v;
      continue;
    }
    if (typeof v !== "bigint") c.reject("not a 64-bit integer", r);
    const n = v as bigint;
    if (n > MAX_INT64 || n < MIN_INT64) c.reject("outside the 64-bit range", r);
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    view.setBigInt64(pos, n, true);
    pos += 8;
    if (min === undefined || max === undefined) {
      min = n;
      max = n;
    } else if (n < min) min = n;
    else if (n > max) max = n;
  }
  values.length = pos;
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min !== undefined && max !== undefined) mergeBigInts(stats, min, max);
  if (numMin <= numMax) mergeBigInts(stats, BigInt(numMin), BigInt(numMax));
  return end;
}

function encodeFloats(c: LoopContext): number {
  return encodeFloating(c, 4);
}

function encodeDoubles(c: LoopContext): number {
  return encodeFloating(c, 8);
}

function encodeFloating(c: LoopContext, size: 4 | 8): number {
  const { rows, column, start, page, stats } = c;
  const end = c.limit;
  const values = page.values;
  values.ensure((end - start) * size);
  const view = values.view;
  const present = page.present;
  const base = page.rows - start;
  let pos = values.length;
  let nulls = 0;
  let nans = 0;
  let min = Infinity;
  let max = -Infinity;
  let finite = 0;
  for (let r = start; r < end; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (typeof v !== "number") c.reject(`a ${typeof v} where a number belongs`, r);
    const n = v as number;
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    if (size === 8) view.setFloat64(pos, n, true);
    else view.setFloat32(pos, n, true);
    pos += size;
    if (n !== n) {
      nans++;
      continue;
    }
    finite++;
    if (n < min) min = n;
    if (n > max) max = n;
  }
  values.length = pos;
  page.nulls += nulls;
  stats.nulls += nulls;
  stats.nans += nans;
  if (finite > 0) {
    // Float32 rounding can move a bound: keep the stored (rounded) values.
    if (size === 4) mergeNumbers(stats, Math.fround(min), Math.fround(max));
    else mergeNumbers(stats, min, max);
  }
  return end;
}

function encodeStrings(c: LoopContext): number {
  const dictionary = c.dictionary;
  // A page is either all dictionary indices or all PLAIN; a full dictionary sends later pages to PLAIN.
  if (dictionary !== undefined && (c.page.rows === 0 ? !dictionary.full : c.page.dictionary)) return encodeStringIndexes(c, dictionary);
  const { rows, column, start, end, page, stats, pageBytes } = c;
  const values = page.values;
  const present = page.present;
  const base = page.rows - start;
  let nulls = 0;
  let min: string | undefined;
  let max: string | undefined;
  let r = start;
  for (; r < end && values.length < pageBytes; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (typeof v !== "string") c.reject(`a ${typeof v} where a string belongs`, r);
    const s = v as string;
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    values.ensure(4);
    const at = values.length;
    values.length += 4;
    const written = values.writeUtf8(s);
    values.view.setUint32(at, written, true);
    if (min === undefined || max === undefined) {
      min = s;
      max = s;
    } else if (s !== min && s !== max) {
      if (compareIcebergValues(s, min) < 0) min = s;
      else if (compareIcebergValues(s, max) > 0) max = s;
    }
  }
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min !== undefined && max !== undefined) mergeOrdered(stats, min, max);
  return r;
}

function encodeStringIndexes(c: LoopContext, dictionary: StringDictionary): number {
  const { rows, column, start, end, page, stats, pageBytes } = c;
  page.dictionary = true;
  const values = page.values;
  const present = page.present;
  const base = page.rows - start;
  const indexes = dictionary.indexes;
  let nulls = 0;
  let min = stats.min as string | undefined;
  let max = stats.max as string | undefined;
  let r = start;
  // room for every index this call can write, so the loop writes without a check per value
  values.ensure(Math.min(end - start, (Math.max(0, pageBytes - values.length) >>> 2) + 1) * 4);
  const view = values.view;
  let pos = values.length;
  for (; r < end && pos < pageBytes; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (typeof v !== "string") c.reject(`a ${typeof v} where a string belongs`, r);
    const s = v as string;
    let index = indexes.get(s);
    if (index === undefined) {
      index = dictionary.add(s);
      if (index < 0) break;
      // Only new entries can move the bounds, so the comparisons run once per distinct value.
      if (min === undefined || max === undefined) {
        min = s;
        max = s;
      } else if (compareIcebergValues(s, min) < 0) min = s;
      else if (compareIcebergValues(s, max) > 0) max = s;
    }
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    view.setInt32(pos, index, true);
    pos += 4;
  }
  values.length = pos;
  page.count = pos >>> 2;
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min !== undefined && max !== undefined) mergeOrdered(stats, min, max);
  return r;
}

function encodeBinaries(c: LoopContext): number {
  const { rows, column, start, end, page, stats, pageBytes } = c;
  const values = page.values;
  const present = page.present;
  const base = page.rows - start;
  let nulls = 0;
  let min: Uint8Array | undefined;
  let max: Uint8Array | undefined;
  let r = start;
  for (; r < end && values.length < pageBytes; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (!(v instanceof Uint8Array)) c.reject(`a ${typeof v} where bytes belong`, r);
    const b = v as Uint8Array;
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    values.writeUint32(b.length);
    values.writeBytes(b);
    if (min === undefined || max === undefined) {
      min = b;
      max = b;
    } else if (compareIcebergValues(b, min) < 0) min = b;
    else if (compareIcebergValues(b, max) > 0) max = b;
  }
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min !== undefined && max !== undefined) mergeOrdered(stats, min, max);
  return r;
}

function encodeFixed(c: LoopContext): number {
  const { rows, column, start, page, stats, width } = c;
  const end = c.limit;
  const values = page.values;
  values.ensure((end - start) * width);
  const out = values.bytes;
  const present = page.present;
  const base = page.rows - start;
  let pos = values.length;
  let nulls = 0;
  let min: Uint8Array | undefined;
  let max: Uint8Array | undefined;
  for (let r = start; r < end; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (!(v instanceof Uint8Array) || v.length !== width) c.reject(`not ${width} bytes`, r);
    const b = v as Uint8Array;
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    out.set(b, pos);
    pos += width;
    if (min === undefined || max === undefined) {
      min = b;
      max = b;
    } else if (compareIcebergValues(b, min) < 0) min = b;
    else if (compareIcebergValues(b, max) > 0) max = b;
  }
  values.length = pos;
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min !== undefined && max !== undefined) mergeOrdered(stats, min, max);
  return end;
}

function encodeDecimalFixed(c: LoopContext): number {
  const { rows, column, start, page, stats, width } = c;
  const end = c.limit;
  const values = page.values;
  values.ensure((end - start) * width);
  const out = values.bytes;
  const present = page.present;
  const base = page.rows - start;
  const limit = 1n << BigInt(8 * width - 1);
  let pos = values.length;
  let nulls = 0;
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (let r = start; r < end; r++) {
    const v = (rows[r] as readonly unknown[])[column];
    if (v === null || v === undefined) {
      if (c.required) c.reject("null in a required column", r);
      nulls++;
      continue;
    }
    if (typeof v !== "bigint" || v >= limit || v < -limit) c.reject(`not an unscaled decimal of ${width} bytes`, r);
    const n = v as bigint;
    const i = r + base;
    present[i >>> 3] = (present[i >>> 3] as number) | (1 << (i & 7));
    writeFixedBigInt(out, pos, n, width);
    pos += width;
    if (min === undefined || max === undefined) {
      min = n;
      max = n;
    } else if (n < min) min = n;
    else if (n > max) max = n;
  }
  values.length = pos;
  page.nulls += nulls;
  stats.nulls += nulls;
  if (min !== undefined && max !== undefined) mergeBigInts(stats, min, max);
  return end;
}

const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
const scratch = new DataView(new ArrayBuffer(16));
const scratchBytes = new Uint8Array(scratch.buffer);

/** Big-endian two's complement of `value` in `width` (at most 16) bytes at `pos`. */
export function writeFixedBigInt(out: Uint8Array, pos: number, value: bigint, width: number): void {
  scratch.setBigInt64(0, BigInt.asIntN(64, value >> 64n), false);
  scratch.setBigUint64(8, BigInt.asUintN(64, value), false);
  out.set(scratchBytes.subarray(16 - width), pos);
}

function mergeNumbers(stats: ColumnStatistics, min: number, max: number): void {
  if (stats.min === undefined || min < (stats.min as number)) stats.min = min;
  if (stats.max === undefined || max > (stats.max as number)) stats.max = max;
}

function mergeBigInts(stats: ColumnStatistics, min: bigint, max: bigint): void {
  if (stats.min === undefined || min < (stats.min as bigint)) stats.min = min;
  if (stats.max === undefined || max > (stats.max as bigint)) stats.max = max;
}

function mergeOrdered(stats: ColumnStatistics, min: IcebergValue, max: IcebergValue): void {
  if (stats.min === undefined || compareIcebergValues(min, stats.min) < 0) stats.min = min;
  if (stats.max === undefined || compareIcebergValues(max, stats.max) > 0) stats.max = max;
}
