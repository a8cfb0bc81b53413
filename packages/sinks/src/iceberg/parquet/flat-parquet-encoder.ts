import type { SchemaElement } from "hyparquet";
import { compressSnappy } from "./snappy-compressor.js";
import type { IcebergField } from "../iceberg-schema.js";
import { compareIcebergValues } from "../iceberg-value-codec.js";
import { createFlatColumnEncoder, createFlatPage, resetFlatPage } from "./flat-column-encoder.js";
import type { ColumnStatistics, FlatColumnEncoder, FlatPage } from "./flat-column-encoder.js";
import { GrowableByteBuffer } from "./growable-byte-buffer.js";
import { StringDictionary, indexBitWidth, writeBitPackedIndices } from "./string-dictionary.js";
import { encodeStatisticValue } from "./parquet-statistic-value.js";
import { primitiveElement } from "./parquet-type-mapping.js";
import { ThriftCompactWriter, ThriftType } from "./thrift-compact-writer.js";

/** Page compression of {@link encodeFlatParquet}. */
export type FlatParquetCodec = "snappy" | "uncompressed";

/** Options of {@link encodeFlatParquet}. */
export interface EncodeFlatParquetOptions {
  /** Top-level primitive fields, in column order. */
  readonly fields: readonly IcebergField[];
  /** Rows holding one Iceberg value (or null) per field. */
  readonly rows: readonly (readonly unknown[])[];
  /** Rows per row group. */
  readonly rowGroupRows: number;
  /** Uncompressed bytes per data page, about; default 1 MiB, less for tables of more than 16 columns (64 KiB at least). */
  readonly pageBytes?: number;
  /** Default `snappy`. */
  readonly codec?: FlatParquetCodec;
  /** Dictionary-encode string columns (falling back to PLAIN past 32k entries or 1 MiB); default true. */
  readonly dictionary?: boolean;
  /** The footer's `created_by`. */
  readonly createdBy: string;
}

/** A flat Parquet file with per-column facts the Iceberg manifests need. */
export interface FlatParquetFile {
  readonly bytes: Uint8Array;
  /** Per field (same order as the options): statistics over the whole file. */
  readonly statistics: readonly ColumnStatistics[];
  /** Per field: compressed bytes of its column chunks, page headers included. */
  readonly columnSizes: readonly number[];
  /** Offset of each row group's first page, ascending. */
  readonly splitOffsets: readonly number[];
}

const TYPES = ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"];
const CONVERTED = ["UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE", "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS"];
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const ENCODING_RLE_DICTIONARY = 8;
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const CODEC_IDS: Readonly<Record<FlatParquetCodec, number>> = { uncompressed: 0, snappy: 1 };
const MAGIC = Uint8Array.of(0x50, 0x41, 0x52, 0x31);

interface ChunkMeta {
  readonly field: number;
  readonly offset: number;
  readonly dictionaryPageBytes: number;
  readonly plainPages: boolean;
  readonly uncompressed: number;
  readonly compressed: number;
  readonly stats: ColumnStatistics;
}

interface ChunkState {
  readonly parts: Uint8Array[];
  uncompressed: number;
  compressed: number;
  readonly stats: ColumnStatistics;
  readonly dictionary: StringDictionary | undefined;
  /** Some data page of the chunk is PLAIN. */
  plainPages: boolean;
  /** Size of the leading dictionary page, 0 when none. */
  dictionaryPageBytes: number;
}

/** Rows per block of the row-major to column-major transposition (a few hundred KiB of row arrays). */
const BLOCK_ROWS = 2048;

interface RowGroupMeta {
  readonly rows: number;
  readonly chunks: readonly ChunkMeta[];
}

/**
 * Encodes rows of top-level primitive columns as a Parquet file: PLAIN
 * values, RLE/bit-packed definition levels, data pages v1 (about `pageBytes`
 * each, Snappy or none), and a Thrift compact footer carrying Iceberg field
 * ids, logical types and min/max/null-count statistics per column chunk.
 * Nested columns are not handled here. Computes the statistics in the same
 * pass that writes the values.
 */
export function encodeFlatParquet(options: EncodeFlatParquetOptions): FlatParquetFile {
  const { fields, rows } = options;
  // Every column keeps one open page while rows are transposed block by block,
  // so wide tables get smaller pages: about 16 MiB of open pages in all.
  const pageBytes = options.pageBytes ?? Math.max(64 << 10, Math.min(1 << 20, Math.floor((16 << 20) / Math.max(1, fields.length))));
  const codec = options.codec ?? "snappy";
  const useDictionary = options.dictionary ?? true;
  const encoders = fields.map((f) => createFlatColumnEncoder(f.name, f.type as string, f.required));
  const statistics: ColumnStatistics[] = fields.map(() => ({ nulls: 0, nans: 0, min: undefined, max: undefined }));
  const columnSizes = fields.map(() => 0);
  const splitOffsets: number[] = [];
  const parts: Uint8Array[] = [MAGIC];
  let offset = MAGIC.length;
  const pages: FlatPage[] = fields.map(() => createFlatPage(Math.min(pageBytes, 1 << 16) + 64));
  const body = new GrowableByteBuffer(64 << 10);
  const groups: RowGroupMeta[] = [];
  const groupRows = Math.max(1, options.rowGroupRows);

  for (let groupStart = 0; groupStart < rows.length; groupStart += groupRows) {
    const groupEnd = Math.min(rows.length, groupStart + groupRows);
    const chunks: ChunkState[] = fields.map((_, f) => ({
      parts: [],
      uncompressed: 0,
      compressed: 0,
      stats: { nulls: 0, nans: 0, min: undefined, max: undefined },
      dictionary: useDictionary && (encoders[f] as FlatColumnEncoder).kind === "string" ? new StringDictionary() : undefined,
      plainPages: false,
      dictionaryPageBytes: 0,
    }));
    const flush = (f: number): void => {
      const page = pages[f] as FlatPage;
      if (page.rows === 0) return;
      const chunk = chunks[f] as ChunkState;
      body.reset();
      if (!(fields[f] as IcebergField).required) writeDefinitionLevels(body, page);
      const dictionary = chunk.dictionary;
      // A page of nulls only has no index to write; it stays PLAIN so no empty dictionary page is needed.
      const indexed = page.dictionary && dictionary !== undefined && dictionary.size > 0;
      if (indexed) {
        const width = indexBitWidth(dictionary.size);
        body.writeByte(width);
        writeBitPackedIndices(body, page.values.view, page.count, width);
      } else {
        chunk.plainPages = true;
        body.writeBytes(page.values.bytes.subarray(0, page.values.length));
      }
      const raw = body.bytes.subarray(0, body.length);
      const data = codec === "snappy" ? compressSnappy(raw) : raw.slice();
      const header = pageHeader(page.rows, raw.length, data.length, indexed ? ENCODING_RLE_DICTIONARY : ENCODING_PLAIN);
      chunk.parts.push(header, data);
      chunk.uncompressed += header.length + raw.length;
      chunk.compressed += header.length + data.length;
      resetFlatPage(page);
    };
    // Blocks of rows across all columns: each row array is read from memory
    // once per block rather than once per column, which is what bounds a
    // column-at-a-time pass over a million row arrays.
    for (let blockStart = groupStart; blockStart < groupEnd; blockStart += BLOCK_ROWS) {
      const blockEnd = Math.min(groupEnd, blockStart + BLOCK_ROWS);
      for (let f = 0; f < fields.length; f++) {
        const encoder = encoders[f] as FlatColumnEncoder;
        const page = pages[f] as FlatPage;
        const stats = (chunks[f] as ChunkState).stats;
        let r = blockStart;
        for (;;) {
          r = encoder.append({ rows, column: f, start: r, end: blockEnd, pageBytes, page, stats, dictionary: (chunks[f] as ChunkState).dictionary });
          if (r >= blockEnd) break;
          flush(f);
        }
      }
    }
    splitOffsets.push(offset);
    const metas: ChunkMeta[] = [];
    for (let f = 0; f < fields.length; f++) {
      flush(f);
      const chunk = chunks[f] as ChunkState;
      const dictionary = chunk.dictionary;
      if (dictionary !== undefined && dictionary.size > 0) {
        // The dictionary page leads the chunk; it was complete only now, after the data pages that index into it.
        const raw = dictionary.plain.bytes.subarray(0, dictionary.plain.length);
        const data = codec === "snappy" ? compressSnappy(raw) : raw.slice();
        const header = dictionaryPageHeader(dictionary.size, raw.length, data.length);
        parts.push(header, data);
        chunk.dictionaryPageBytes = header.length + data.length;
        chunk.uncompressed += header.length + raw.length;
        chunk.compressed += header.length + data.length;
      }
      metas.push({
        field: f,
        offset,
        uncompressed: chunk.uncompressed,
        compressed: chunk.compressed,
        stats: chunk.stats,
        dictionaryPageBytes: chunk.dictionaryPageBytes,
        plainPages: chunk.plainPages || chunk.dictionaryPageBytes === 0,
      });
      for (const part of chunk.parts) parts.push(part);
      offset += chunk.compressed;
      columnSizes[f] = (columnSizes[f] ?? 0) + chunk.compressed;
      mergeStatistics(statistics[f] as ColumnStatistics, chunk.stats);
    }
    groups.push({ rows: groupEnd - groupStart, chunks: metas });
  }

  const footer = writeFooter({ fields, encoders, groups, codec: CODEC_IDS[codec], numRows: rows.length, createdBy: options.createdBy });
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(MAGIC, 4);
  parts.push(footer, tail);
  offset += footer.length + tail.length;
  const bytes = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, statistics, columnSizes, splitOffsets };
}

/** Max definition level 1: one RLE run when the page has no nulls, else one bit-packed run (the presence bitmap). */
function writeDefinitionLevels(body: GrowableByteBuffer, page: FlatPage): void {
  const at = body.length;
  body.writeUint32(0);
  if (page.nulls === 0) {
    body.writeVarint(page.rows * 2);
    body.writeByte(1);
  } else {
    const groups = (page.rows + 7) >>> 3;
    body.writeVarint(groups * 2 + 1);
    body.writeBytes(page.present.subarray(0, groups));
  }
  body.view.setUint32(at, body.length - at - 4, true);
}

/** DictionaryPageHeader (field 7): num_values, encoding PLAIN. */
function dictionaryPageHeader(entries: number, uncompressed: number, compressed: number): Uint8Array {
  const t = new ThriftCompactWriter(new GrowableByteBuffer(64));
  t.i32(1, PAGE_DICTIONARY);
  t.i32(2, uncompressed);
  t.i32(3, compressed);
  t.beginStruct(7);
  t.i32(1, entries);
  t.i32(2, ENCODING_PLAIN);
  t.endStruct();
  return t.finish();
}

function pageHeader(rows: number, uncompressed: number, compressed: number, encoding: number): Uint8Array {
  const t = new ThriftCompactWriter(new GrowableByteBuffer(64));
  t.i32(1, PAGE_DATA);
  t.i32(2, uncompressed);
  t.i32(3, compressed);
  t.beginStruct(5);
  t.i32(1, rows);
  t.i32(2, encoding);
  t.i32(3, ENCODING_RLE);
  t.i32(4, ENCODING_RLE);
  t.endStruct();
  return t.finish();
}

function mergeStatistics(into: ColumnStatistics, from: ColumnStatistics): void {
  into.nulls += from.nulls;
  into.nans += from.nans;
  if (from.min === undefined || from.max === undefined) return;
  if (into.min === undefined || compareIcebergValues(from.min, into.min) < 0) into.min = from.min;
  if (into.max === undefined || compareIcebergValues(from.max, into.max) > 0) into.max = from.max;
}

interface FooterInput {
  readonly fields: readonly IcebergField[];
  readonly encoders: readonly FlatColumnEncoder[];
  readonly groups: readonly RowGroupMeta[];
  readonly codec: number;
  readonly numRows: number;
  readonly createdBy: string;
}

/** FileMetaData (parquet.thrift): version, schema, num_rows, row_groups, created_by, column_orders. */
function writeFooter(input: FooterInput): Uint8Array {
  const { fields, encoders, groups } = input;
  const t = new ThriftCompactWriter(new GrowableByteBuffer(1024));
  const elements = fields.map((f) => ({ ...primitiveElement(f.type as string), name: f.name }) as SchemaElement);
  t.i32(1, 2);
  t.beginList(2, ThriftType.struct, fields.length + 1);
  t.beginListStruct();
  t.string(4, "table");
  t.i32(5, fields.length);
  t.endStruct();
  for (let i = 0; i < fields.length; i++) writeSchemaElement(t, elements[i] as SchemaElement, fields[i] as IcebergField);
  t.i64(3, input.numRows);
  t.beginList(4, ThriftType.struct, groups.length);
  for (const group of groups) {
    t.beginListStruct();
    t.beginList(1, ThriftType.struct, group.chunks.length);
    let total = 0;
    let compressed = 0;
    for (const chunk of group.chunks) {
      const field = fields[chunk.field] as IcebergField;
      const element = elements[chunk.field] as SchemaElement;
      total += chunk.uncompressed;
      compressed += chunk.compressed;
      t.beginListStruct();
      t.i64(2, chunk.offset);
      t.beginStruct(3);
      t.i32(1, TYPES.indexOf(element.type ?? ""));
      const dictionary = chunk.dictionaryPageBytes > 0;
      // PLAIN is listed whenever a dictionary page exists too: that page's own encoding.
      t.beginList(2, ThriftType.i32, 1 + (field.required ? 0 : 1) + (dictionary ? 1 : 0));
      t.listI32(ENCODING_PLAIN);
      if (!field.required) t.listI32(ENCODING_RLE);
      if (dictionary) t.listI32(ENCODING_RLE_DICTIONARY);
      t.beginList(3, ThriftType.binary, 1);
      t.listString(field.name);
      t.i32(4, input.codec);
      t.i64(5, group.rows);
      t.i64(6, chunk.uncompressed);
      t.i64(7, chunk.compressed);
      t.i64(9, chunk.offset + chunk.dictionaryPageBytes);
      if (dictionary) t.i64(11, chunk.offset);
      writeStatistics(t, chunk.stats, encoders[chunk.field] as FlatColumnEncoder);
      t.endStruct();
      t.endStruct();
    }
    const first = group.chunks[0];
    t.i64(2, total);
    t.i64(3, group.rows);
    if (first !== undefined) t.i64(5, first.offset);
    t.i64(6, compressed);
    t.endStruct();
  }
  t.string(6, input.createdBy);
  t.beginList(7, ThriftType.struct, fields.length);
  for (let i = 0; i < fields.length; i++) {
    t.beginListStruct();
    t.beginStruct(1);
    t.endStruct();
    t.endStruct();
  }
  return t.finish();
}

function writeSchemaElement(t: ThriftCompactWriter, element: SchemaElement, field: IcebergField): void {
  t.beginListStruct();
  if (element.type !== undefined) t.i32(1, TYPES.indexOf(element.type));
  if (element.type_length !== undefined) t.i32(2, element.type_length);
  t.i32(3, field.required ? 0 : 1);
  t.string(4, field.name);
  if (element.converted_type !== undefined) t.i32(6, CONVERTED.indexOf(element.converted_type));
  if (element.scale !== undefined) t.i32(7, element.scale);
  if (element.precision !== undefined) t.i32(8, element.precision);
  t.i32(9, field.id);
  const logical = element.logical_type;
  if (logical !== undefined) {
    t.beginStruct(10);
    switch (logical.type) {
      case "STRING":
        t.beginStruct(1);
        t.endStruct();
        break;
      case "DATE":
        t.beginStruct(6);
        t.endStruct();
        break;
      case "UUID":
        t.beginStruct(14);
        t.endStruct();
        break;
      case "DECIMAL":
        t.beginStruct(5);
        t.i32(1, logical.scale);
        t.i32(2, logical.precision);
        t.endStruct();
        break;
      case "TIME":
      case "TIMESTAMP":
        t.beginStruct(logical.type === "TIME" ? 7 : 8);
        t.bool(1, logical.isAdjustedToUTC);
        t.beginStruct(2);
        t.beginStruct(logical.unit === "MILLIS" ? 1 : logical.unit === "MICROS" ? 2 : 3);
        t.endStruct();
        t.endStruct();
        t.endStruct();
        break;
      default:
        throw new Error(`no flat logical type ${logical.type}`);
    }
    t.endStruct();
  }
  t.endStruct();
}

/** Statistics: null_count (3), max_value (5), min_value (6). */
function writeStatistics(t: ThriftCompactWriter, stats: ColumnStatistics, encoder: FlatColumnEncoder): void {
  t.beginStruct(12);
  t.i64(3, stats.nulls);
  if (stats.min !== undefined && stats.max !== undefined) {
    const max = encodeStatisticValue(encoder, stats.max, "max");
    const min = encodeStatisticValue(encoder, stats.min, "min");
    if (max !== undefined && min !== undefined) {
      t.binary(5, max);
      t.binary(6, min);
    }
  }
  t.endStruct();
}
