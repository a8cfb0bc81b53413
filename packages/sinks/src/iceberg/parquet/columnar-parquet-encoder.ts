import type { SchemaElement } from "hyparquet";
import { compressSnappy } from "./snappy-compressor.js";
import type { IcebergField } from "../iceberg-schema.js";
import { compareIcebergValues } from "../iceberg-value-codec.js";
import { createFlatColumnEncoder, createFlatPage, resetFlatPage } from "./flat-column-encoder.js";
import type { ColumnStatistics, FlatColumnEncoder, FlatPage } from "./flat-column-encoder.js";
import { GrowableByteBuffer } from "./growable-byte-buffer.js";
import { NestedColumnShredder, levelBitWidth, resetNestedLeaf, writeLevels } from "./nested-column-shredder.js";
import type { NestedLeaf } from "./nested-column-shredder.js";
import { StringDictionary, indexBitWidth, writeBitPackedIndices } from "./string-dictionary.js";
import { encodeStatisticValue } from "./parquet-statistic-value.js";
import { primitiveElement } from "./parquet-type-mapping.js";
import { ThriftCompactWriter, ThriftType } from "./thrift-compact-writer.js";

/** Page compression of {@link encodeColumnarParquet}. */
export type ParquetCodec = "snappy" | "uncompressed";

/** Options of {@link encodeColumnarParquet}. */
export interface EncodeColumnarParquetOptions {
  /** Top-level fields, in column order; list/struct fields are shredded into their leaf columns. */
  readonly fields: readonly IcebergField[];
  /** Rows holding one Iceberg value (or null) per field. */
  readonly rows: readonly (readonly unknown[])[];
  /** Rows per row group. */
  readonly rowGroupRows: number;
  /** Uncompressed bytes per data page, about; default 1 MiB, less for tables of more than 16 columns (64 KiB at least). */
  readonly pageBytes?: number;
  /** Default `snappy`. */
  readonly codec?: ParquetCodec;
  /** Dictionary-encode string columns (falling back to PLAIN past 32k entries or 1 MiB); default true. */
  readonly dictionary?: boolean;
  /** The footer's `created_by`. */
  readonly createdBy: string;
  /** The footer's `key_value_metadata` (e.g. `iceberg.schema`). */
  readonly keyValueMetadata?: Readonly<Record<string, string>>;
}

/** A Parquet file with the per-column facts the Iceberg manifests need. */
export interface ColumnarParquetFile {
  readonly bytes: Uint8Array;
  /** Per field (same order as the options): statistics over the whole file; undefined for list/struct fields. */
  readonly statistics: readonly (ColumnStatistics | undefined)[];
  /** By leaf field id (the field's own id for a primitive): compressed bytes of its column chunks, page headers included. */
  readonly columnSizes: ReadonlyMap<number, number>;
  /** Offset of each row group's first page, ascending. */
  readonly splitOffsets: readonly number[];
}

const TYPES = ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"];
const CONVERTED = ["UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE", "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS"];
const REPETITIONS = ["REQUIRED", "OPTIONAL", "REPEATED"];
/** Parquet `Encoding` ids used by the writers. */
export const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
/** Parquet `Encoding` id of dictionary indices. */
export const ENCODING_RLE_DICTIONARY = 8;
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
/** Parquet `CompressionCodec` ids. */
export const CODEC_IDS: Readonly<Record<ParquetCodec, number>> = { uncompressed: 0, snappy: 1 };
/** The leading and trailing magic of a Parquet file. */
export const MAGIC = Uint8Array.of(0x50, 0x41, 0x52, 0x31);

/** One column chunk as the footer describes it. */
export interface ChunkMeta {
  readonly field: number;
  /** The leaf of a list/struct field, undefined for a primitive field. */
  readonly leaf: NestedLeaf | undefined;
  /** Level entries (rows for a primitive field). */
  readonly values: number;
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
  /** Level entries written so far (nested leaves). */
  levels: number;
}

/** Rows per block of the row-major to column-major transposition (a few hundred KiB of row arrays). */
const BLOCK_ROWS = 2048;

/** One row group as the footer describes it. */
export interface RowGroupMeta {
  readonly rows: number;
  readonly chunks: readonly ChunkMeta[];
}

/**
 * Encodes rows as a Parquet file: PLAIN values (string columns
 * dictionary-encoded), RLE/bit-packed levels, data pages v1 (about
 * `pageBytes` each, Snappy or none), and a Thrift compact footer carrying
 * Iceberg field ids, logical types and, for top-level primitive columns,
 * min/max/null-count statistics per column chunk. List and struct fields are
 * shredded into Dremel repetition/definition levels per leaf. Rows are
 * transposed in blocks across all columns, and the statistics are computed in
 * the same pass that writes the values.
 */
export function encodeColumnarParquet(options: EncodeColumnarParquetOptions): ColumnarParquetFile {
  const { fields, rows } = options;
  // Every column keeps one open page while rows are transposed block by block,
  // so wide tables get smaller pages: about 16 MiB of open pages in all.
  const pageBytes = options.pageBytes ?? Math.max(64 << 10, Math.min(1 << 20, Math.floor((16 << 20) / Math.max(1, fields.length))));
  const codec = options.codec ?? "snappy";
  const useDictionary = options.dictionary ?? true;
  const encoders = fields.map((f) => (typeof f.type === "string" ? createFlatColumnEncoder(f.name, f.type, f.required) : undefined));
  const shredders = fields.map((f) => (typeof f.type === "string" ? undefined : new NestedColumnShredder(f)));
  const statistics: (ColumnStatistics | undefined)[] = fields.map((f) => (typeof f.type === "string" ? { nulls: 0, nans: 0, min: undefined, max: undefined } : undefined));
  const columnSizes = new Map<number, number>();
  const splitOffsets: number[] = [];
  const parts: Uint8Array[] = [MAGIC];
  let offset = MAGIC.length;
  const pages: FlatPage[] = fields.map(() => createFlatPage(Math.min(pageBytes, 1 << 16) + 64));
  const body = new GrowableByteBuffer(64 << 10);
  const groups: RowGroupMeta[] = [];
  const groupRows = Math.max(1, options.rowGroupRows);

  for (let groupStart = 0; groupStart < rows.length; groupStart += groupRows) {
    const groupEnd = Math.min(rows.length, groupStart + groupRows);
    const newChunk = (dictionary: boolean): ChunkState => ({
      parts: [],
      uncompressed: 0,
      compressed: 0,
      stats: { nulls: 0, nans: 0, min: undefined, max: undefined },
      dictionary: dictionary ? new StringDictionary() : undefined,
      plainPages: false,
      dictionaryPageBytes: 0,
      levels: 0,
    });
    const chunks: ChunkState[] = fields.map((_, f) => newChunk(useDictionary && encoders[f]?.kind === "string"));
    const leafChunks: ChunkState[][] = shredders.map((s) => (s === undefined ? [] : s.leaves.map(() => newChunk(false))));
    const flushLeaf = (leaf: NestedLeaf, chunk: ChunkState): void => {
      const levels = leaf.definitions.length;
      if (levels === 0) return;
      body.reset();
      if (leaf.maxRepetition > 0) writeLevels(body, leaf.repetitions.bytes, levels, levelBitWidth(leaf.maxRepetition));
      if (leaf.maxDefinition > 0) writeLevels(body, leaf.definitions.bytes, levels, levelBitWidth(leaf.maxDefinition));
      if (leaf.kind === "boolean") {
        const packed = new Uint8Array((leaf.count + 7) >>> 3);
        const flags = leaf.values.bytes;
        for (let i = 0; i < leaf.count; i++) if (flags[i] === 1) packed[i >>> 3] = (packed[i >>> 3] as number) | (1 << (i & 7));
        body.writeBytes(packed);
      } else body.writeBytes(leaf.values.bytes.subarray(0, leaf.values.length));
      const raw = body.bytes.subarray(0, body.length);
      const data = codec === "snappy" ? compressSnappy(raw) : raw.slice();
      const header = pageHeader(levels, raw.length, data.length, ENCODING_PLAIN);
      chunk.parts.push(header, data);
      chunk.uncompressed += header.length + raw.length;
      chunk.compressed += header.length + data.length;
      chunk.levels += levels;
      resetNestedLeaf(leaf);
    };
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
        const encoder = encoders[f];
        const shredder = shredders[f];
        if (encoder === undefined) {
          if (shredder === undefined) continue;
          for (let r = blockStart; r < blockEnd; r++) shredder.shred((rows[r] as readonly unknown[])[f], r);
          shredder.leaves.forEach((leaf, i) => {
            if (leaf.values.length + leaf.definitions.length >= pageBytes) flushLeaf(leaf, (leafChunks[f] as ChunkState[])[i] as ChunkState);
          });
          continue;
        }
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
      const shredder = shredders[f];
      if (shredder !== undefined) {
        shredder.leaves.forEach((leaf, i) => {
          const chunk = (leafChunks[f] as ChunkState[])[i] as ChunkState;
          flushLeaf(leaf, chunk);
          metas.push({ field: f, leaf, values: chunk.levels, offset, uncompressed: chunk.uncompressed, compressed: chunk.compressed, stats: chunk.stats, dictionaryPageBytes: 0, plainPages: true });
          for (const part of chunk.parts) parts.push(part);
          offset += chunk.compressed;
          columnSizes.set(leaf.fieldId, (columnSizes.get(leaf.fieldId) ?? 0) + chunk.compressed);
        });
        continue;
      }
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
        leaf: undefined,
        values: groupEnd - groupStart,
        offset,
        uncompressed: chunk.uncompressed,
        compressed: chunk.compressed,
        stats: chunk.stats,
        dictionaryPageBytes: chunk.dictionaryPageBytes,
        plainPages: chunk.plainPages || chunk.dictionaryPageBytes === 0,
      });
      for (const part of chunk.parts) parts.push(part);
      offset += chunk.compressed;
      const id = (fields[f] as IcebergField).id;
      columnSizes.set(id, (columnSizes.get(id) ?? 0) + chunk.compressed);
      mergeStatistics(statistics[f] as ColumnStatistics, chunk.stats);
    }
    groups.push({ rows: groupEnd - groupStart, chunks: metas });
  }

  const footer = writeFooter({ fields, encoders, shredders, groups, codec: CODEC_IDS[codec], numRows: rows.length, createdBy: options.createdBy, keyValueMetadata: options.keyValueMetadata });
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

/**
 * Writes a flat optional column page's definition levels (length-prefixed).
 * Max definition level 1: one RLE run when the page has no nulls, else one bit-packed run (the presence bitmap). */
export function writeDefinitionLevels(body: GrowableByteBuffer, page: FlatPage): void {
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

/** A dictionary page's PageHeader; DictionaryPageHeader (field 7): num_values, encoding PLAIN. */
export function dictionaryPageHeader(entries: number, uncompressed: number, compressed: number): Uint8Array {
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

/** A data page v1's PageHeader: `rows` level entries, value `encoding`, RLE levels. */
export function pageHeader(rows: number, uncompressed: number, compressed: number, encoding: number): Uint8Array {
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

/** What {@link writeFooter} describes. */
export interface FooterInput {
  readonly fields: readonly IcebergField[];
  readonly encoders: readonly (FlatColumnEncoder | undefined)[];
  readonly shredders: readonly (NestedColumnShredder | undefined)[];
  readonly groups: readonly RowGroupMeta[];
  readonly codec: number;
  readonly numRows: number;
  readonly createdBy: string;
  readonly keyValueMetadata: Readonly<Record<string, string>> | undefined;
}

/** FileMetaData (parquet.thrift): version, schema, num_rows, row_groups, key_value_metadata, created_by, column_orders. */
export function writeFooter(input: FooterInput): Uint8Array {
  const { fields, encoders, groups } = input;
  const t = new ThriftCompactWriter(new GrowableByteBuffer(1024));
  const elements: SchemaElement[] = [];
  const topElements: SchemaElement[] = [];
  fields.forEach((f, i) => {
    const shredder = input.shredders[i];
    if (shredder !== undefined) {
      elements.push(...shredder.elements);
      topElements.push(shredder.elements[0] as SchemaElement);
      return;
    }
    const element: SchemaElement = { ...primitiveElement(f.type as string), name: f.name, repetition_type: f.required ? "REQUIRED" : "OPTIONAL", field_id: f.id };
    elements.push(element);
    topElements.push(element);
  });
  t.i32(1, 2);
  t.beginList(2, ThriftType.struct, elements.length + 1);
  t.beginListStruct();
  t.string(4, "table");
  t.i32(5, fields.length);
  t.endStruct();
  for (const element of elements) writeSchemaElement(t, element);
  t.i64(3, input.numRows);
  t.beginList(4, ThriftType.struct, groups.length);
  for (const group of groups) {
    t.beginListStruct();
    t.beginList(1, ThriftType.struct, group.chunks.length);
    let total = 0;
    let compressed = 0;
    for (const chunk of group.chunks) {
      const field = fields[chunk.field] as IcebergField;
      const element = chunk.leaf?.element ?? (topElements[chunk.field] as SchemaElement);
      const optionalLevels = chunk.leaf === undefined ? !field.required : chunk.leaf.maxDefinition > 0 || chunk.leaf.maxRepetition > 0;
      total += chunk.uncompressed;
      compressed += chunk.compressed;
      t.beginListStruct();
      t.i64(2, chunk.offset);
      t.beginStruct(3);
      t.i32(1, TYPES.indexOf(element.type ?? ""));
      const dictionary = chunk.dictionaryPageBytes > 0;
      // PLAIN is listed whenever a dictionary page exists too: that page's own encoding.
      t.beginList(2, ThriftType.i32, 1 + (optionalLevels ? 1 : 0) + (dictionary ? 1 : 0));
      t.listI32(ENCODING_PLAIN);
      if (optionalLevels) t.listI32(ENCODING_RLE);
      if (dictionary) t.listI32(ENCODING_RLE_DICTIONARY);
      const path = chunk.leaf?.path ?? [field.name];
      t.beginList(3, ThriftType.binary, path.length);
      for (const name of path) t.listString(name);
      t.i32(4, input.codec);
      t.i64(5, chunk.values);
      t.i64(6, chunk.uncompressed);
      t.i64(7, chunk.compressed);
      t.i64(9, chunk.offset + chunk.dictionaryPageBytes);
      if (dictionary) t.i64(11, chunk.offset);
      const encoder = encoders[chunk.field];
      if (encoder !== undefined) writeStatistics(t, chunk.stats, encoder);
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
  const keyValues = Object.entries(input.keyValueMetadata ?? {});
  if (keyValues.length > 0) {
    t.beginList(5, ThriftType.struct, keyValues.length);
    for (const [key, value] of keyValues) {
      t.beginListStruct();
      t.string(1, key);
      t.string(2, value);
      t.endStruct();
    }
  }
  t.string(6, input.createdBy);
  const leafCount = elements.filter((e) => e.type !== undefined).length;
  t.beginList(7, ThriftType.struct, leafCount);
  for (let i = 0; i < leafCount; i++) {
    t.beginListStruct();
    t.beginStruct(1);
    t.endStruct();
    t.endStruct();
  }
  return t.finish();
}

function writeSchemaElement(t: ThriftCompactWriter, element: SchemaElement): void {
  t.beginListStruct();
  if (element.type !== undefined) t.i32(1, TYPES.indexOf(element.type));
  if (element.type_length !== undefined) t.i32(2, element.type_length);
  if (element.repetition_type !== undefined) t.i32(3, REPETITIONS.indexOf(element.repetition_type));
  t.string(4, element.name);
  if (element.num_children !== undefined) t.i32(5, element.num_children);
  if (element.converted_type !== undefined) t.i32(6, CONVERTED.indexOf(element.converted_type));
  if (element.scale !== undefined) t.i32(7, element.scale);
  if (element.precision !== undefined) t.i32(8, element.precision);
  if (element.field_id !== undefined) t.i32(9, element.field_id);
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
      case "LIST":
        t.beginStruct(3);
        t.endStruct();
        break;
      case "MAP":
        t.beginStruct(2);
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
