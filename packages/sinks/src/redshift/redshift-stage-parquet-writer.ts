import type { IcebergField } from "../iceberg/iceberg-schema.js";
import { compareIcebergValues } from "../iceberg/iceberg-value-codec.js";
import type { IcebergValue } from "../iceberg/iceberg-value-codec.js";
import { CODEC_IDS, dictionaryPageHeader, ENCODING_PLAIN, ENCODING_RLE_DICTIONARY, MAGIC, pageHeader, writeDefinitionLevels, writeFooter } from "../iceberg/parquet/columnar-parquet-encoder.js";
import type { ChunkMeta, RowGroupMeta } from "../iceberg/parquet/columnar-parquet-encoder.js";
import { createFlatColumnEncoder, createFlatPage, resetFlatPage, writeFixedBigInt } from "../iceberg/parquet/flat-column-encoder.js";
import type { ColumnStatistics, FlatPage } from "../iceberg/parquet/flat-column-encoder.js";
import { GrowableByteBuffer } from "../iceberg/parquet/growable-byte-buffer.js";
import { decimalBytes } from "../iceberg/parquet/parquet-type-mapping.js";
import { compressSnappy } from "../iceberg/parquet/snappy-compressor.js";
import { indexBitWidth, StringDictionary, writeBitPackedIndices } from "../iceberg/parquet/string-dictionary.js";
import type { StageColumnBuffer } from "./redshift-stage-column-buffer.js";
import { StageSlot } from "./redshift-stage-column-buffer.js";

/** Rows per row group (as the Iceberg writer's default: one group for a typical batch). */
const ROW_GROUP_ROWS = 1_000_000;
const CREATED_BY = "zero-etl redshift sink";

/**
 * Writes the rows `selection` (indices into the column buffers, in file
 * order) as one Parquet file in the layout of the Iceberg sink's columnar
 * encoder: every column optional, PLAIN values (strings
 * dictionary-encoded until the dictionary is full), definition levels as
 * one RLE or bit-packed run, data pages v1 of about 1 MiB (less for wide
 * tables) compressed with Snappy, min/max/null-count statistics per column
 * chunk. Values are read column by column from the typed arrays: no row
 * object is built.
 */
export function writeStageParquet(buffers: readonly StageColumnBuffer[], selection: Int32Array): Uint8Array {
  const fields: IcebergField[] = buffers.map((b, i) => ({ id: i + 1, name: b.column.name, required: false, type: b.parquetType }));
  const encoders = fields.map((f) => createFlatColumnEncoder(f.name, f.type as string, false));
  const pageBytes = Math.max(64 << 10, Math.min(1 << 20, Math.floor((16 << 20) / Math.max(1, fields.length))));
  const writer: ChunkWriter = { parts: [MAGIC], offset: MAGIC.length, page: createFlatPage(Math.min(pageBytes, 1 << 16) + 64), body: new GrowableByteBuffer(64 << 10), pageBytes };
  const groups: RowGroupMeta[] = [];
  for (let from = 0; from < selection.length; from += ROW_GROUP_ROWS) {
    const to = Math.min(selection.length, from + ROW_GROUP_ROWS);
    const chunks: ChunkMeta[] = [];
    for (let f = 0; f < buffers.length; f++) chunks.push(writeChunk(writer, f, buffers[f] as StageColumnBuffer, selection, from, to));
    groups.push({ rows: to - from, chunks });
  }
  const footer = writeFooter({ fields, encoders, shredders: fields.map(() => undefined), groups, codec: CODEC_IDS.snappy, numRows: selection.length, createdBy: CREATED_BY, keyValueMetadata: undefined });
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(MAGIC, 4);
  writer.parts.push(footer, tail);
  const bytes = new Uint8Array(writer.offset + footer.length + tail.length);
  let at = 0;
  for (const p of writer.parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

interface ChunkWriter {
  readonly parts: Uint8Array[];
  offset: number;
  /** The page being filled, reused for every page of every column. */
  readonly page: FlatPage;
  /** A page's uncompressed body, reused. */
  readonly body: GrowableByteBuffer;
  readonly pageBytes: number;
}

/** Context of one page fill: the rows `[start, end)` of the selection at most. */
interface Fill {
  readonly b: StageColumnBuffer;
  readonly selection: Int32Array;
  readonly start: number;
  readonly end: number;
  readonly page: FlatPage;
  readonly stats: ColumnStatistics;
  readonly pageBytes: number;
}

function writeChunk(w: ChunkWriter, field: number, b: StageColumnBuffer, selection: Int32Array, from: number, to: number): ChunkMeta {
  const stats: ColumnStatistics = { nulls: 0, nans: 0, min: undefined, max: undefined };
  const dictionary = b.slot === StageSlot.text ? new StringDictionary() : undefined;
  const width = b.slot === StageSlot.wideDecimal ? decimalBytes(Number(/^decimal\((\d+),/.exec(b.parquetType)?.[1] ?? 38)) : 0;
  const pages: Uint8Array[] = [];
  let uncompressed = 0;
  let compressed = 0;
  let plainPages = false;
  const page = w.page;
  for (let r = from; r < to; ) {
    const rowsPerPage = rowsPerPageOf(b.slot, width, w.pageBytes);
    const end = Math.min(to, r + rowsPerPage);
    const needed = ((end - r) >>> 3) + 1;
    if (page.present.length < needed) page.present = new Uint8Array(needed);
    const fill: Fill = { b, selection, start: r, end, page, stats, pageBytes: w.pageBytes };
    r = fillPage(fill, dictionary, width);
    // a dictionary that filled up at the page's first value: the next page is PLAIN
    if (page.rows === 0) {
      resetFlatPage(page);
      continue;
    }
    const body = w.body;
    body.reset();
    writeDefinitionLevels(body, page);
    const indexed = page.dictionary && dictionary !== undefined && dictionary.size > 0;
    if (indexed) {
      const bits = indexBitWidth(dictionary.size);
      body.writeByte(bits);
      writeBitPackedIndices(body, page.values.view, page.count, bits);
    } else {
      plainPages = true;
      body.writeBytes(page.values.bytes.subarray(0, page.values.length));
    }
    const raw = body.bytes.subarray(0, body.length);
    const data = compressSnappy(raw);
    const header = pageHeader(page.rows, raw.length, data.length, indexed ? ENCODING_RLE_DICTIONARY : ENCODING_PLAIN);
    pages.push(header, data);
    uncompressed += header.length + raw.length;
    compressed += header.length + data.length;
    resetFlatPage(page);
  }
  const offset = w.offset;
  let dictionaryPageBytes = 0;
  if (dictionary !== undefined && dictionary.size > 0) {
    // the dictionary page leads the chunk; it was complete only after the data pages that index into it
    const raw = dictionary.plain.bytes.subarray(0, dictionary.plain.length);
    const data = compressSnappy(raw);
    const header = dictionaryPageHeader(dictionary.size, raw.length, data.length);
    w.parts.push(header, data);
    dictionaryPageBytes = header.length + data.length;
    uncompressed += header.length + raw.length;
    compressed += dictionaryPageBytes;
  }
  for (const p of pages) w.parts.push(p);
  w.offset += compressed;
  return { field, leaf: undefined, values: to - from, offset, dictionaryPageBytes, plainPages: plainPages || dictionaryPageBytes === 0, uncompressed, compressed, stats };
}

function rowsPerPageOf(slot: number, width: number, pageBytes: number): number {
  switch (slot) {
    case StageSlot.boolean:
      return pageBytes * 8;
    case StageSlot.int32:
    case StageSlot.float:
      return pageBytes >>> 2;
    case StageSlot.int64:
    case StageSlot.double:
      return pageBytes >>> 3;
    case StageSlot.wideDecimal:
      return Math.max(1, Math.floor(pageBytes / width));
    // variable width: the fill stops at the page's bytes
    default:
      return Number.MAX_SAFE_INTEGER;
  }
}

/** Fills the (empty) page from row `start` of the selection; returns the first row not taken. */
function fillPage(c: Fill, dictionary: StringDictionary | undefined, width: number): number {
  switch (c.b.slot) {
    case StageSlot.boolean:
      return fillBooleans(c);
    case StageSlot.int32:
      return fillInt32s(c);
    case StageSlot.int64:
      return fillInt64s(c);
    case StageSlot.float:
    case StageSlot.double:
      return fillFloating(c, c.b.slot === StageSlot.float ? 4 : 8);
    case StageSlot.text:
      return dictionary !== undefined && !dictionary.full ? fillTextIndexes(c, dictionary) : fillVariable(c);
    case StageSlot.binary:
      return fillVariable(c);
    default:
      return fillWideDecimals(c, width);
  }
}

/**
 * The loops below share one shape, specialised per slot so each stays
 * monomorphic: resolve the selected row, count a null or set its presence
 * bit, write the PLAIN bytes, track min/max unboxed.
 */

function fillBooleans(c: Fill): number {
  const { b, selection, start, end, page, stats } = c;
  const values = page.values;
  values.ensure(((end - start) >>> 3) + 1);
  const out = values.bytes;
  out.fill(0, 0, ((end - start) >>> 3) + 1);
  const present = page.present;
  const state = b.state;
  let count = 0;
  let seenTrue = false;
  let seenFalse = false;
  for (let r = start; r < end; r++) {
    const s = state[selection[r] as number] as number;
    if (s === 0) continue;
    const p = r - start;
    present[p >>> 3] = (present[p >>> 3] as number) | (1 << (p & 7));
    if (s === 2) {
      out[count >>> 3] = (out[count >>> 3] as number) | (1 << (count & 7));
      seenTrue = true;
    } else seenFalse = true;
    count++;
  }
  values.length = (count + 7) >>> 3;
  close(page, stats, end - start, count);
  if (count > 0) {
    const min = !seenFalse;
    if (stats.min === undefined || (stats.min === true && !min)) stats.min = min;
    if (stats.max === undefined || (stats.max === false && seenTrue)) stats.max = seenTrue;
  }
  return end;
}

function fillInt32s(c: Fill): number {
  const { b, selection, start, end, page, stats } = c;
  const values = page.values;
  values.ensure((end - start) * 4);
  const view = values.view;
  const present = page.present;
  const state = b.state;
  const ints = b.ints;
  let pos = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let r = start; r < end; r++) {
    const i = selection[r] as number;
    if (state[i] === 0) continue;
    const p = r - start;
    present[p >>> 3] = (present[p >>> 3] as number) | (1 << (p & 7));
    const n = ints[i] as number;
    view.setInt32(pos, n, true);
    pos += 4;
    if (n < min) min = n;
    if (n > max) max = n;
  }
  values.length = pos;
  close(page, stats, end - start, pos >>> 2);
  if (min <= max) {
    if (stats.min === undefined || min < (stats.min as number)) stats.min = min;
    if (stats.max === undefined || max > (stats.max as number)) stats.max = max;
  }
  return end;
}

function fillInt64s(c: Fill): number {
  const { b, selection, start, end, page, stats } = c;
  const values = page.values;
  values.ensure((end - start) * 8);
  const view = values.view;
  const present = page.present;
  const state = b.state;
  const numbers = b.numbers;
  let pos = 0;
  let min = Infinity;
  let max = -Infinity;
  let wideMin: bigint | undefined;
  let wideMax: bigint | undefined;
  for (let r = start; r < end; r++) {
    const i = selection[r] as number;
    const s = state[i];
    if (s === 0) continue;
    const p = r - start;
    present[p >>> 3] = (present[p >>> 3] as number) | (1 << (p & 7));
    if (s === 1) {
      const n = numbers[i] as number;
      view.setUint32(pos, n >>> 0, true);
      view.setInt32(pos + 4, Math.floor(n / 4294967296), true);
      if (n < min) min = n;
      if (n > max) max = n;
    } else {
      const n = b.wide.get(i) ?? 0n;
      view.setBigInt64(pos, n, true);
      if (wideMin === undefined || n < wideMin) wideMin = n;
      if (wideMax === undefined || n > wideMax) wideMax = n;
    }
    pos += 8;
  }
  values.length = pos;
  close(page, stats, end - start, pos >>> 3);
  if (min <= max) mergeBigInts(stats, BigInt(min), BigInt(max));
  if (wideMin !== undefined && wideMax !== undefined) mergeBigInts(stats, wideMin, wideMax);
  return end;
}

function fillFloating(c: Fill, size: 4 | 8): number {
  const { b, selection, start, end, page, stats } = c;
  const values = page.values;
  values.ensure((end - start) * size);
  const view = values.view;
  const present = page.present;
  const state = b.state;
  const numbers = b.numbers;
  let pos = 0;
  let nans = 0;
  let finite = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let r = start; r < end; r++) {
    const i = selection[r] as number;
    if (state[i] === 0) continue;
    const p = r - start;
    present[p >>> 3] = (present[p >>> 3] as number) | (1 << (p & 7));
    const n = numbers[i] as number;
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
  close(page, stats, end - start, pos / size);
  stats.nans += nans;
  if (finite > 0) {
    // Float32 rounding can move a bound: keep the stored (rounded) values
    const lo = size === 4 ? Math.fround(min) : min;
    const hi = size === 4 ? Math.fround(max) : max;
    if (stats.min === undefined || lo < (stats.min as number)) stats.min = lo;
    if (stats.max === undefined || hi > (stats.max as number)) stats.max = hi;
  }
  return end;
}

function fillTextIndexes(c: Fill, dictionary: StringDictionary): number {
  const { b, selection, start, end, page, stats, pageBytes } = c;
  page.dictionary = true;
  const values = page.values;
  const present = page.present;
  const state = b.state;
  const refs = b.refs;
  const indexes = dictionary.indexes;
  let min = stats.min as string | undefined;
  let max = stats.max as string | undefined;
  values.ensure(Math.min(end - start, (pageBytes >>> 2) + 1) * 4);
  const view = values.view;
  let pos = 0;
  let r = start;
  for (; r < end && pos < pageBytes; r++) {
    const i = selection[r] as number;
    if (state[i] === 0) continue;
    const s = refs[i] as string;
    let index = indexes.get(s);
    if (index === undefined) {
      index = dictionary.add(s);
      if (index < 0) break;
      // only new entries can move the bounds, so the comparisons run once per distinct value
      if (min === undefined || max === undefined) {
        min = s;
        max = s;
      } else if (compareIcebergValues(s, min) < 0) min = s;
      else if (compareIcebergValues(s, max) > 0) max = s;
    }
    const p = r - start;
    present[p >>> 3] = (present[p >>> 3] as number) | (1 << (p & 7));
    view.setInt32(pos, index, true);
    pos += 4;
  }
  values.length = pos;
  close(page, stats, r - start, pos >>> 2);
  if (min !== undefined && max !== undefined) mergeOrdered(stats, min, max);
  return r;
}

/** PLAIN strings or bytes (a 4-byte length, then the bytes), up to about a page of bytes. */
function fillVariable(c: Fill): number {
  const { b, selection, start, end, page, stats, pageBytes } = c;
  const text = b.slot === StageSlot.text;
  const values = page.values;
  const present = page.present;
  const state = b.state;
  const refs = b.refs;
  let count = 0;
  let min: IcebergValue | undefined;
  let max: IcebergValue | undefined;
  let r = start;
  for (; r < end && values.length < pageBytes; r++) {
    const i = selection[r] as number;
    if (state[i] === 0) continue;
    const v = refs[i] as string | Uint8Array;
    const p = r - start;
    present[p >>> 3] = (present[p >>> 3] as number) | (1 << (p & 7));
    if (text) {
      values.ensure(4);
      const at = values.length;
      values.length += 4;
      // written first: writing may grow the buffer and replace its view
      const written = values.writeUtf8(v as string);
      values.view.setUint32(at, written, true);
    } else {
      values.writeUint32((v as Uint8Array).length);
      values.writeBytes(v as Uint8Array);
    }
    count++;
    if (min === undefined || max === undefined) {
      min = v;
      max = v;
    } else if (v !== min && v !== max) {
      if (compareIcebergValues(v, min) < 0) min = v;
      else if (compareIcebergValues(v, max) > 0) max = v;
    }
  }
  close(page, stats, r - start, count);
  if (min !== undefined && max !== undefined) mergeOrdered(stats, min, max);
  return r;
}

function fillWideDecimals(c: Fill, width: number): number {
  const { b, selection, start, end, page, stats } = c;
  const values = page.values;
  values.ensure((end - start) * width);
  const out = values.bytes;
  const present = page.present;
  const state = b.state;
  const refs = b.refs;
  let pos = 0;
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (let r = start; r < end; r++) {
    const i = selection[r] as number;
    if (state[i] === 0) continue;
    const n = refs[i] as bigint;
    const p = r - start;
    present[p >>> 3] = (present[p >>> 3] as number) | (1 << (p & 7));
    writeFixedBigInt(out, pos, n, width);
    pos += width;
    if (min === undefined || n < min) min = n;
    if (max === undefined || n > max) max = n;
  }
  values.length = pos;
  close(page, stats, end - start, pos / width);
  if (min !== undefined && max !== undefined) mergeBigInts(stats, min, max);
  return end;
}

/** Records a filled page's row, value and null counts. */
function close(page: FlatPage, stats: ColumnStatistics, rows: number, count: number): void {
  page.rows = rows;
  page.count = count;
  page.nulls = rows - count;
  stats.nulls += rows - count;
}

function mergeBigInts(stats: ColumnStatistics, min: bigint, max: bigint): void {
  if (stats.min === undefined || min < (stats.min as bigint)) stats.min = min;
  if (stats.max === undefined || max > (stats.max as bigint)) stats.max = max;
}

function mergeOrdered(stats: ColumnStatistics, min: IcebergValue, max: IcebergValue): void {
  if (stats.min === undefined || compareIcebergValues(min, stats.min) < 0) stats.min = min;
  if (stats.max === undefined || compareIcebergValues(max, stats.max) > 0) stats.max = max;
}
