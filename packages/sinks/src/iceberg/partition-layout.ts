import type { IcebergField } from "./iceberg-schema.js";
import { bigIntToFixedBytes, bytesToBigInt, compareIcebergValues, parseDecimalType, serializeIcebergValue } from "./iceberg-value-codec.js";
import type { IcebergValue } from "./iceberg-value-codec.js";
import type { FieldSummaryRecord, PartitionAvroField } from "./manifest-codec.js";
import { decimalBytes } from "./parquet-file-writer.js";
import { applyPartitionTransform, parsePartitionTransform, transformResultType } from "./partition-transform.js";
import type { PartitionSpec, TableMetadata } from "./table-metadata.js";

/** One resolved partition field: where its source column sits in an encoded row and its result type. */
interface ResolvedField {
  readonly name: string;
  readonly sourceIndex: number;
  readonly sourceType: string;
  readonly resultType: string;
  readonly transform: NonNullable<ReturnType<typeof parsePartitionTransform>>;
}

/** Computes the partition tuple of encoded rows for one spec. */
export interface PartitionLayout {
  readonly specId: number;
  readonly isPartitioned: boolean;
  /** The partition tuple in Avro form (for the manifest) and a grouping key. */
  partitionOf(row: readonly unknown[]): { readonly key: string; readonly record: Readonly<Record<string, unknown>> };
}

/** Builds the layout of a spec for rows encoded against `fields` (top-level source columns only). */
export function createPartitionLayout(spec: PartitionSpec, fields: readonly IcebergField[]): PartitionLayout {
  const resolved: ResolvedField[] = spec.fields.map((f) => {
    const sourceIndex = fields.findIndex((c) => c.id === f["source-id"]);
    const source = fields[sourceIndex];
    const transform = parsePartitionTransform(f.transform);
    if (source === undefined || typeof source.type !== "string" || transform === undefined) {
      throw new Error(`partition field ${f.name} needs a top-level primitive source column and a known transform`);
    }
    return { name: f.name, sourceIndex, sourceType: source.type, resultType: transformResultType(transform, source.type), transform };
  });
  return {
    specId: spec["spec-id"],
    isPartitioned: resolved.length > 0,
    partitionOf(row) {
      if (resolved.length === 0) return { key: "", record: {} };
      const record: Record<string, unknown> = {};
      const parts: string[] = [];
      for (const f of resolved) {
        const v = row[f.sourceIndex];
        if (v === null || v === undefined) {
          record[f.name] = null;
          parts.push("\u0001");
          continue;
        }
        const out = applyPartitionTransform(f.transform, f.sourceType, v as IcebergValue);
        record[f.name] = toAvroValue(f.resultType, out);
        parts.push(out instanceof Uint8Array ? Buffer.from(out).toString("hex") : String(out));
      }
      return { key: parts.join("\u0000"), record };
    },
  };
}

/** The Avro type of an Iceberg primitive inside the manifest's partition struct (spec Appendix A, Avro). */
export function avroTypeOf(type: string, fieldId: number): unknown {
  switch (type) {
    case "boolean":
    case "int":
    case "long":
    case "float":
    case "double":
    case "string":
      return type;
    case "binary":
      return "bytes";
    case "date":
      return { type: "int", logicalType: "date" };
    case "time":
      return { type: "long", logicalType: "time-micros" };
    case "timestamp":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": false };
    case "timestamptz":
      return { type: "long", logicalType: "timestamp-micros", "adjust-to-utc": true };
    case "uuid":
      return { type: "fixed", name: `uuid_fixed_${fieldId}`, size: 16, logicalType: "uuid" };
    default: {
      const d = parseDecimalType(type);
      if (d === undefined) throw new Error(`iceberg type ${type} cannot be a partition value`);
      return { type: "fixed", name: `decimal_${fieldId}`, size: decimalBytes(d.precision), logicalType: "decimal", precision: d.precision, scale: d.scale };
    }
  }
}

function resultTypes(metadata: TableMetadata, specId: number): { name: string; fieldId: number; type: string }[] {
  const spec = metadata["partition-specs"].find((s) => s["spec-id"] === specId);
  if (spec === undefined || spec.fields.length === 0) return [];
  const schemaFields = new Map<number, IcebergField>();
  for (const s of metadata.schemas) for (const f of s.fields) schemaFields.set(f.id, f);
  return spec.fields.map((f) => {
    const source = schemaFields.get(f["source-id"]);
    const transform = parsePartitionTransform(f.transform);
    const sourceType = typeof source?.type === "string" ? source.type : "int";
    return { name: f.name, fieldId: f["field-id"], type: transform === undefined ? sourceType : transformResultType(transform, sourceType) };
  });
}

/** The manifest partition struct fields of a spec. */
export function partitionAvroFields(metadata: TableMetadata, specId: number): PartitionAvroField[] {
  return resultTypes(metadata, specId).map((f) => ({ name: f.name, fieldId: f.fieldId, avroType: avroTypeOf(f.type, f.fieldId) }));
}

function toAvroValue(type: string, value: IcebergValue): unknown {
  if (typeof value === "bigint") {
    const d = parseDecimalType(type);
    return d === undefined ? Number(value) : bigIntToFixedBytes(value, decimalBytes(d.precision));
  }
  if (value instanceof Uint8Array) return Buffer.from(value);
  return value;
}

function fromAvroValue(type: string, value: unknown): IcebergValue {
  if (parseDecimalType(type) !== undefined) return bytesToBigInt(value as Uint8Array);
  if (type === "long" || type === "time" || type === "timestamp" || type === "timestamptz") return BigInt(value as number);
  return value as IcebergValue;
}

/** The manifest list's `partitions` field summaries for the partition tuples of one manifest. */
export function summarizePartitions(metadata: TableMetadata, specId: number, tuples: readonly Readonly<Record<string, unknown>>[]): FieldSummaryRecord[] {
  return resultTypes(metadata, specId).map((f) => {
    let containsNull = false;
    let containsNan = false;
    let min: IcebergValue | undefined;
    let max: IcebergValue | undefined;
    for (const t of tuples) {
      const raw = t[f.name];
      if (raw === null || raw === undefined) {
        containsNull = true;
        continue;
      }
      const v = fromAvroValue(f.type, raw);
      if (typeof v === "number" && Number.isNaN(v)) {
        containsNan = true;
        continue;
      }
      if (min === undefined || compareIcebergValues(v, min) < 0) min = v;
      if (max === undefined || compareIcebergValues(v, max) > 0) max = v;
    }
    return {
      contains_null: containsNull,
      contains_nan: f.type === "float" || f.type === "double" ? containsNan : null,
      lower_bound: min === undefined ? null : Buffer.from(serializeIcebergValue(f.type, min)),
      upper_bound: max === undefined ? null : Buffer.from(serializeIcebergValue(f.type, max)),
    };
  });
}
