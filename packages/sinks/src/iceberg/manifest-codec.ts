import { decodeAvroContainer, encodeAvroContainer } from "./avro-container-codec.js";

/** A key-value pair of an Iceberg map stored as an Avro array of records. */
export interface AvroMapEntry<V> {
  readonly key: number;
  readonly value: V;
}

/** The `data_file` struct (spec "Data File Fields", v2), in its Avro shape. */
export interface DataFileRecord {
  /** 0 data, 1 position deletes, 2 equality deletes. */
  readonly content: 0 | 1 | 2;
  readonly file_path: string;
  readonly file_format: "PARQUET";
  readonly partition: Readonly<Record<string, unknown>>;
  readonly record_count: number;
  readonly file_size_in_bytes: number;
  readonly column_sizes: readonly AvroMapEntry<number>[] | null;
  readonly value_counts: readonly AvroMapEntry<number>[] | null;
  readonly null_value_counts: readonly AvroMapEntry<number>[] | null;
  readonly nan_value_counts: readonly AvroMapEntry<number>[] | null;
  readonly lower_bounds: readonly AvroMapEntry<Buffer>[] | null;
  readonly upper_bounds: readonly AvroMapEntry<Buffer>[] | null;
  readonly key_metadata: Buffer | null;
  readonly split_offsets: readonly number[] | null;
  readonly equality_ids: readonly number[] | null;
  readonly sort_order_id: number | null;
}

/** The `manifest_entry` struct (spec "Manifest Entry Fields", v2). */
export interface ManifestEntryRecord {
  /** 0 existing, 1 added, 2 deleted. */
  readonly status: 0 | 1 | 2;
  readonly snapshot_id: number | null;
  readonly sequence_number: number | null;
  readonly file_sequence_number: number | null;
  readonly data_file: DataFileRecord;
}

/** The `field_summary` struct of a manifest list entry. */
export interface FieldSummaryRecord {
  readonly contains_null: boolean;
  readonly contains_nan: boolean | null;
  readonly lower_bound: Buffer | null;
  readonly upper_bound: Buffer | null;
}

/** The `manifest_file` struct (spec "Manifest Lists", v2). */
export interface ManifestFileRecord {
  readonly manifest_path: string;
  readonly manifest_length: number;
  readonly partition_spec_id: number;
  /** 0 data, 1 deletes. */
  readonly content: 0 | 1;
  readonly sequence_number: number;
  readonly min_sequence_number: number;
  readonly added_snapshot_id: number;
  readonly added_files_count: number;
  readonly existing_files_count: number;
  readonly deleted_files_count: number;
  readonly added_rows_count: number;
  readonly existing_rows_count: number;
  readonly deleted_rows_count: number;
  readonly partitions: readonly FieldSummaryRecord[] | null;
  readonly key_metadata: Buffer | null;
}

/** One partition field of the manifest's `partition` struct: name, partition field id, Avro type. */
export interface PartitionAvroField {
  readonly name: string;
  readonly fieldId: number;
  readonly avroType: unknown;
}

function intMap(name: string, fieldId: number, keyId: number, valueId: number, valueType: string): object {
  return {
    name,
    type: [
      "null",
      {
        type: "array",
        logicalType: "map",
        items: {
          type: "record",
          name: `k${keyId}_v${valueId}`,
          fields: [
            { name: "key", type: "int", "field-id": keyId },
            { name: "value", type: valueType, "field-id": valueId },
          ],
        },
      },
    ],
    default: null,
    "field-id": fieldId,
  };
}

/** The exact v2 `manifest_entry` Avro schema of the spec, with the given partition struct. */
export function manifestEntrySchema(partition: readonly PartitionAvroField[]): object {
  return {
    type: "record",
    name: "manifest_entry",
    fields: [
      { name: "status", type: "int", "field-id": 0 },
      { name: "snapshot_id", type: ["null", "long"], default: null, "field-id": 1 },
      { name: "sequence_number", type: ["null", "long"], default: null, "field-id": 3 },
      { name: "file_sequence_number", type: ["null", "long"], default: null, "field-id": 4 },
      {
        name: "data_file",
        type: {
          type: "record",
          name: "r2",
          fields: [
            { name: "content", type: "int", "field-id": 134 },
            { name: "file_path", type: "string", "field-id": 100 },
            { name: "file_format", type: "string", "field-id": 101 },
            {
              name: "partition",
              type: {
                type: "record",
                name: "r102",
                fields: partition.map((p) => ({ name: p.name, type: ["null", p.avroType], default: null, "field-id": p.fieldId })),
              },
              "field-id": 102,
            },
            { name: "record_count", type: "long", "field-id": 103 },
            { name: "file_size_in_bytes", type: "long", "field-id": 104 },
            intMap("column_sizes", 108, 117, 118, "long"),
            intMap("value_counts", 109, 119, 120, "long"),
            intMap("null_value_counts", 110, 121, 122, "long"),
            intMap("nan_value_counts", 137, 138, 139, "long"),
            intMap("lower_bounds", 125, 126, 127, "bytes"),
            intMap("upper_bounds", 128, 129, 130, "bytes"),
            { name: "key_metadata", type: ["null", "bytes"], default: null, "field-id": 131 },
            { name: "split_offsets", type: ["null", { type: "array", items: "long", "element-id": 133 }], default: null, "field-id": 132 },
            { name: "equality_ids", type: ["null", { type: "array", items: "int", "element-id": 136 }], default: null, "field-id": 135 },
            { name: "sort_order_id", type: ["null", "int"], default: null, "field-id": 140 },
          ],
        },
        "field-id": 2,
      },
    ],
  };
}

/** The exact v2 `manifest_file` Avro schema of the spec. */
export const MANIFEST_FILE_SCHEMA: object = {
  type: "record",
  name: "manifest_file",
  fields: [
    { name: "manifest_path", type: "string", "field-id": 500 },
    { name: "manifest_length", type: "long", "field-id": 501 },
    { name: "partition_spec_id", type: "int", "field-id": 502 },
    { name: "content", type: "int", "field-id": 517 },
    { name: "sequence_number", type: "long", "field-id": 515 },
    { name: "min_sequence_number", type: "long", "field-id": 516 },
    { name: "added_snapshot_id", type: "long", "field-id": 503 },
    { name: "added_files_count", type: "int", "field-id": 504 },
    { name: "existing_files_count", type: "int", "field-id": 505 },
    { name: "deleted_files_count", type: "int", "field-id": 506 },
    { name: "added_rows_count", type: "long", "field-id": 512 },
    { name: "existing_rows_count", type: "long", "field-id": 513 },
    { name: "deleted_rows_count", type: "long", "field-id": 514 },
    {
      name: "partitions",
      type: [
        "null",
        {
          type: "array",
          items: {
            type: "record",
            name: "r508",
            fields: [
              { name: "contains_null", type: "boolean", "field-id": 509 },
              { name: "contains_nan", type: ["null", "boolean"], default: null, "field-id": 518 },
              { name: "lower_bound", type: ["null", "bytes"], default: null, "field-id": 510 },
              { name: "upper_bound", type: ["null", "bytes"], default: null, "field-id": 511 },
            ],
          },
          "element-id": 508,
        },
      ],
      default: null,
      "field-id": 507,
    },
    { name: "key_metadata", type: ["null", "bytes"], default: null, "field-id": 519 },
  ],
};

/** Options of {@link encodeManifest}. */
export interface EncodeManifestOptions {
  readonly entries: readonly ManifestEntryRecord[];
  readonly partition: readonly PartitionAvroField[];
  /** Manifest key-value metadata: `schema`, `schema-id`, `partition-spec`, `partition-spec-id`, `format-version`, `content`. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Encodes a manifest file (Avro container of `manifest_entry`). */
export function encodeManifest(options: EncodeManifestOptions): Buffer {
  return encodeAvroContainer({ schema: manifestEntrySchema(options.partition), records: options.entries, metadata: options.metadata });
}

/** Decodes a manifest file written by any v2 writer (with its own writer schema). */
export function decodeManifest(bytes: Uint8Array): { entries: ManifestEntryRecord[]; metadata: Readonly<Record<string, string>> } {
  const decoded = decodeAvroContainer(bytes);
  return { entries: decoded.records as ManifestEntryRecord[], metadata: decoded.metadata };
}

/** Encodes a manifest list with the snapshot metadata keys Iceberg writers set. */
export function encodeManifestList(files: readonly ManifestFileRecord[], metadata: Readonly<Record<string, string>>): Buffer {
  return encodeAvroContainer({ schema: MANIFEST_FILE_SCHEMA, records: files, metadata });
}

/** Decodes a manifest list. */
export function decodeManifestList(bytes: Uint8Array): ManifestFileRecord[] {
  return decodeAvroContainer(bytes).records as ManifestFileRecord[];
}
