import { ZeroEtlError } from "@zero-etl/core";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";
import type { IcebergField, IcebergType } from "./iceberg-schema.js";
import { compareIcebergValues, serializeIcebergValue } from "./iceberg-value-codec.js";
import { encodeColumnarParquet } from "./parquet/columnar-parquet-encoder.js";
import type { ParquetCodec } from "./parquet/columnar-parquet-encoder.js";
import { primitiveElement } from "./parquet/parquet-type-mapping.js";
import type { IcebergValue } from "./iceberg-value-codec.js";

/** A row in Iceberg form: values aligned with the fields it was encoded for; nested values as arrays/objects. */
export type EncodedRow = readonly unknown[];

/** Per-file metrics the manifests carry, keyed by field id (spec "Field-level Metrics"). */
export interface DataFileMetrics {
  readonly recordCount: number;
  readonly columnSizes: ReadonlyMap<number, bigint>;
  readonly valueCounts: ReadonlyMap<number, bigint>;
  readonly nullValueCounts: ReadonlyMap<number, bigint>;
  readonly nanValueCounts: ReadonlyMap<number, bigint>;
  readonly lowerBounds: ReadonlyMap<number, Uint8Array>;
  readonly upperBounds: ReadonlyMap<number, Uint8Array>;
  /** Row-group start offsets, ascending. */
  readonly splitOffsets: readonly bigint[];
}

/** A Parquet file in memory with its metrics. */
export interface WrittenParquetFile {
  readonly bytes: Uint8Array;
  readonly metrics: DataFileMetrics;
}

/** Options of {@link writeParquetFile}. */
export interface WriteParquetFileOptions {
  /** Columns to write, in order; every row holds one value per field. */
  readonly fields: readonly IcebergField[];
  readonly rows: readonly EncodedRow[];
  /** Rows per row group; default 1,000,000 (one group for a typical commit). */
  readonly rowGroupRows?: number;
  /** Longest string/binary bound kept in the manifest; default 16 (as Iceberg's default metrics mode). */
  readonly boundLength?: number;
  /** Page compression; default `snappy`. The hyparquet-writer encoder always uses Snappy. */
  readonly codec?: ParquetCodec;
  /** `columnar` (default): our encoder. `hyparquet`: hyparquet-writer, the earlier encoder, kept to compare against. */
  readonly encoder?: "columnar" | "hyparquet";
}

const CREATED_BY = "zero-etl iceberg sink";

/**
 * Writes rows as one Parquet file whose schema carries the Iceberg field ids
 * and the types of the spec's Parquet mapping (decimals as INT32/INT64/FIXED
 * by precision, timestamps as TIMESTAMP(MICROS) with isAdjustedToUTC for
 * `timestamptz`, uuid as FIXED[16], 3-level lists), and computes the manifest
 * metrics in the same pass, through our columnar encoder (PLAIN values,
 * string dictionaries, Snappy pages; list/struct fields shredded into
 * repetition/definition levels). Metrics cover top-level primitive columns;
 * column sizes cover every leaf. Throws a `ZeroEtlError`
 * (`record-rejected`) naming the column and row when a value does not fit.
 */
export function writeParquetFile(options: WriteParquetFileOptions): WrittenParquetFile {
  return options.encoder === "hyparquet" ? writeWithHyparquet(options) : writeColumnarFile(options);
}

function writeColumnarFile(options: WriteParquetFileOptions): WrittenParquetFile {
  const { fields, rows } = options;
  const boundLength = options.boundLength ?? 16;
  const file = encodeColumnarParquet({
    fields,
    rows,
    rowGroupRows: options.rowGroupRows ?? 1_000_000,
    createdBy: CREATED_BY,
    // as Iceberg's own writers do: readers map columns by field id with the names this file uses
    keyValueMetadata: { "iceberg.schema": JSON.stringify({ type: "struct", fields }) },
    ...(options.codec === undefined ? {} : { codec: options.codec }),
  });
  const n = BigInt(rows.length);
  const columnSizes = new Map<number, bigint>();
  const valueCounts = new Map<number, bigint>();
  const nullValueCounts = new Map<number, bigint>();
  const nanValueCounts = new Map<number, bigint>();
  const lowerBounds = new Map<number, Uint8Array>();
  const upperBounds = new Map<number, Uint8Array>();
  for (const [id, size] of file.columnSizes) columnSizes.set(id, BigInt(size));
  fields.forEach((field, i) => {
    const type = field.type as string;
    const stats = file.statistics[i];
    if (stats === undefined) return;
    valueCounts.set(field.id, n);
    nullValueCounts.set(field.id, BigInt(stats.nulls));
    if (type === "float" || type === "double") nanValueCounts.set(field.id, BigInt(stats.nans));
    if (stats.min !== undefined && stats.max !== undefined) {
      lowerBounds.set(field.id, lowerBound(type, stats.min, boundLength));
      const upper = upperBound(type, stats.max, boundLength);
      if (upper !== undefined) upperBounds.set(field.id, upper);
    }
  });
  return {
    bytes: file.bytes,
    metrics: { recordCount: rows.length, columnSizes, valueCounts, nullValueCounts, nanValueCounts, lowerBounds, upperBounds, splitOffsets: file.splitOffsets.map(BigInt) },
  };
}

function writeWithHyparquet(options: WriteParquetFileOptions): WrittenParquetFile {
  const { fields, rows } = options;
  const boundLength = options.boundLength ?? 16;
  const schema: SchemaElement[] = [{ name: "table", num_children: fields.length }];
  const leafIds = new Map<string, number>();
  for (const field of fields) appendField(schema, field, [], leafIds);

  const valueCounts = new Map<number, bigint>();
  const nullValueCounts = new Map<number, bigint>();
  const nanValueCounts = new Map<number, bigint>();
  const lowerBounds = new Map<number, Uint8Array>();
  const upperBounds = new Map<number, Uint8Array>();
  const n = rows.length;
  const columnData = fields.map((field, index) => {
    const data = new Array<unknown>(n);
    let nulls = 0;
    let nans = 0;
    let min: IcebergValue | undefined;
    let max: IcebergValue | undefined;
    const primitive = typeof field.type === "string";
    const numeric = field.type === "float" || field.type === "double";
    const ordered = primitive && !isUnordered(field.type as string);
    for (let r = 0; r < n; r++) {
      const v = (rows[r] as EncodedRow)[index];
      if (v === null || v === undefined) {
        data[r] = null;
        nulls++;
        continue;
      }
      data[r] = v;
      if (!ordered) continue;
      if (numeric && Number.isNaN(v)) {
        nans++;
        continue;
      }
      const value = v as IcebergValue;
      if (min === undefined) {
        min = value;
        max = value;
      } else if (typeof value === "object" || typeof value === "string") {
        if (compareIcebergValues(value, min) < 0) min = value;
        else if (compareIcebergValues(value, max as IcebergValue) > 0) max = value;
      } else if (value < min) min = value;
      else if (value > (max as IcebergValue)) max = value;
    }
    if (primitive) {
      const type = field.type as string;
      valueCounts.set(field.id, BigInt(n));
      nullValueCounts.set(field.id, BigInt(nulls));
      if (numeric) nanValueCounts.set(field.id, BigInt(nans));
      if (min !== undefined && max !== undefined) {
        const lower = lowerBound(type, min, boundLength);
        const upper = upperBound(type, max, boundLength);
        lowerBounds.set(field.id, lower);
        if (upper !== undefined) upperBounds.set(field.id, upper);
      }
    }
    return { name: field.name, data };
  });

  const writer = new ByteWriter();
  const pq = new ParquetWriter({ writer, schema, codec: "SNAPPY", statistics: true, createdBy: CREATED_BY });
  pq.write({ columnData: columnData as never, rowGroupSize: options.rowGroupRows ?? 1_000_000 });
  pq.finish();
  const bytes = new Uint8Array(writer.getBuffer());

  const columnSizes = new Map<number, bigint>();
  const splitOffsets: bigint[] = [];
  for (const group of pq.row_groups) {
    let first: bigint | undefined;
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (meta === undefined) continue;
      const id = leafIds.get(meta.path_in_schema.join("\u0000"));
      if (id !== undefined) columnSizes.set(id, (columnSizes.get(id) ?? 0n) + BigInt(meta.total_compressed_size));
      const start = BigInt(meta.dictionary_page_offset ?? meta.data_page_offset);
      if (first === undefined || start < first) first = start;
    }
    if (first !== undefined) splitOffsets.push(first);
  }
  return {
    bytes,
    metrics: { recordCount: n, columnSizes, valueCounts, nullValueCounts, nanValueCounts, lowerBounds, upperBounds, splitOffsets },
  };
}

function isUnordered(type: string): boolean {
  return type === "boolean" ? false : false;
}

function lowerBound(type: string, value: IcebergValue, length: number): Uint8Array {
  if (type === "string" && typeof value === "string") {
    const cps = Array.from(value);
    return serializeIcebergValue(type, cps.length > length ? cps.slice(0, length).join("") : value);
  }
  if (type === "binary" && value instanceof Uint8Array && value.length > length) return value.slice(0, length);
  return serializeIcebergValue(type, value);
}

/** A truncated upper bound must stay >= the value: truncate, then increment the last unit that can be. */
function upperBound(type: string, value: IcebergValue, length: number): Uint8Array | undefined {
  if (type === "string" && typeof value === "string") {
    const cps = Array.from(value);
    if (cps.length <= length) return serializeIcebergValue(type, value);
    const kept = cps.slice(0, length);
    for (let i = kept.length - 1; i >= 0; i--) {
      const cp = (kept[i] as string).codePointAt(0) ?? 0;
      let next = cp + 1;
      if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
      if (next <= 0x10ffff) return serializeIcebergValue(type, kept.slice(0, i).join("") + String.fromCodePoint(next));
    }
    return undefined;
  }
  if (type === "binary" && value instanceof Uint8Array && value.length > length) {
    const kept = value.slice(0, length);
    for (let i = kept.length - 1; i >= 0; i--) {
      if ((kept[i] ?? 0) < 0xff) {
        const out = kept.slice(0, i + 1);
        out[i] = (out[i] ?? 0) + 1;
        return out;
      }
    }
    return undefined;
  }
  return serializeIcebergValue(type, value);
}

function appendField(schema: SchemaElement[], field: IcebergField, path: readonly string[], leafIds: Map<string, number>): void {
  const repetition = field.required ? "REQUIRED" : "OPTIONAL";
  appendType(schema, { name: field.name, id: field.id, repetition, type: field.type }, path, leafIds);
}

interface TypedNode {
  readonly name: string;
  readonly id: number;
  readonly repetition: "REQUIRED" | "OPTIONAL";
  readonly type: IcebergType;
}

function appendType(schema: SchemaElement[], node: TypedNode, path: readonly string[], leafIds: Map<string, number>): void {
  const here = [...path, node.name];
  const { type } = node;
  if (typeof type === "string") {
    schema.push({ ...primitiveElement(type), name: node.name, field_id: node.id, repetition_type: node.repetition });
    leafIds.set(here.join("\u0000"), node.id);
    return;
  }
  if (type.type === "struct") {
    schema.push({ name: node.name, field_id: node.id, repetition_type: node.repetition, num_children: type.fields.length });
    for (const f of type.fields) appendField(schema, f, here, leafIds);
    return;
  }
  if (type.type === "map") throw new ZeroEtlError(`field ${node.name}: the hyparquet encoder writes no maps (use the columnar encoder)`, { code: "schema-unsupported" });
  schema.push({ name: node.name, field_id: node.id, repetition_type: node.repetition, num_children: 1, converted_type: "LIST", logical_type: { type: "LIST" } });
  schema.push({ name: "list", repetition_type: "REPEATED", num_children: 1 });
  appendType(
    schema,
    { name: "element", id: type["element-id"], repetition: type["element-required"] ? "REQUIRED" : "OPTIONAL", type: type.element },
    [...here, "list"],
    leafIds,
  );
}

export { decimalBytes, primitiveElement } from "./parquet/parquet-type-mapping.js";
