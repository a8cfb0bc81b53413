import { randomUUID } from "node:crypto";
import type { IcebergSchema } from "./iceberg-schema.js";

/** One field of a partition spec (Appendix C). */
export interface PartitionField {
  readonly "source-id": number;
  readonly "field-id": number;
  readonly name: string;
  readonly transform: string;
}

/** A partition spec (Appendix C). */
export interface PartitionSpec {
  readonly "spec-id": number;
  readonly fields: readonly PartitionField[];
}

/** A sort order (Appendix C); the sink writes only the unsorted order 0. */
export interface SortOrder {
  readonly "order-id": number;
  readonly fields: readonly unknown[];
}

/** A snapshot (spec "Snapshots", v2). */
export interface Snapshot {
  readonly "snapshot-id": number;
  readonly "parent-snapshot-id"?: number;
  readonly "sequence-number": number;
  readonly "timestamp-ms": number;
  readonly "manifest-list": string;
  readonly summary: Readonly<Record<string, string>> & { readonly operation: string };
  readonly "schema-id"?: number;
}

/** A snapshot reference (branch or tag). */
export interface SnapshotRef {
  readonly "snapshot-id": number;
  readonly type: "branch" | "tag";
}

/** Table metadata v2 as serialized to `vN.metadata.json`. */
export interface TableMetadata {
  readonly "format-version": 2;
  readonly "table-uuid": string;
  readonly location: string;
  readonly "last-sequence-number": number;
  readonly "last-updated-ms": number;
  readonly "last-column-id": number;
  readonly schemas: readonly IcebergSchema[];
  readonly "current-schema-id": number;
  readonly "partition-specs": readonly PartitionSpec[];
  readonly "default-spec-id": number;
  readonly "last-partition-id": number;
  readonly properties: Readonly<Record<string, string>>;
  readonly "current-snapshot-id"?: number;
  readonly snapshots: readonly Snapshot[];
  readonly "snapshot-log": readonly { readonly "snapshot-id": number; readonly "timestamp-ms": number }[];
  readonly "metadata-log": readonly { readonly "metadata-file": string; readonly "timestamp-ms": number }[];
  readonly "sort-orders": readonly SortOrder[];
  readonly "default-sort-order-id": number;
  readonly refs: Readonly<Record<string, SnapshotRef>>;
}

/** The unpartitioned spec; always spec 0 so equality deletes can be global (spec "Scan Planning"). */
export const UNPARTITIONED_SPEC: PartitionSpec = Object.freeze({ "spec-id": 0, fields: Object.freeze([]) as readonly PartitionField[] });

/** Options of {@link createTableMetadata}. */
export interface CreateTableMetadataOptions {
  readonly location: string;
  readonly schema: IcebergSchema;
  readonly lastColumnId: number;
  /** Partition fields (field ids from 1000); empty for an unpartitioned table. */
  readonly partitionFields: readonly PartitionField[];
  readonly properties?: Readonly<Record<string, string>>;
}

/** A new table's metadata: no snapshot yet, spec 0 unpartitioned and spec 1 the partitioning when given. */
export function createTableMetadata(options: CreateTableMetadataOptions): TableMetadata {
  const specs: PartitionSpec[] = [UNPARTITIONED_SPEC];
  if (options.partitionFields.length > 0) specs.push({ "spec-id": 1, fields: options.partitionFields });
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location: options.location,
    "last-sequence-number": 0,
    "last-updated-ms": Date.now(),
    "last-column-id": options.lastColumnId,
    schemas: [options.schema],
    "current-schema-id": options.schema["schema-id"],
    "partition-specs": specs,
    "default-spec-id": specs.length - 1,
    "last-partition-id": Math.max(999, ...options.partitionFields.map((f) => f["field-id"])),
    properties: { "write.format.default": "parquet", "write.parquet.compression-codec": "snappy", "write.delete.mode": "merge-on-read", "write.update.mode": "merge-on-read", ...options.properties },
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    "sort-orders": [{ "order-id": 0, fields: [] }],
    "default-sort-order-id": 0,
    refs: {},
  };
}

/** The current schema of a table. */
export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
  if (schema === undefined) throw new Error(`table metadata at ${metadata.location} has no current schema`);
  return schema;
}

/** The current snapshot, or undefined for an empty table. */
export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata.refs["main"]?.["snapshot-id"] ?? metadata["current-snapshot-id"];
  return id === undefined ? undefined : metadata.snapshots.find((s) => s["snapshot-id"] === id);
}

/** The default (write) partition spec. */
export function defaultSpec(metadata: TableMetadata): PartitionSpec {
  return metadata["partition-specs"].find((s) => s["spec-id"] === metadata["default-spec-id"]) ?? UNPARTITIONED_SPEC;
}

/** A random positive snapshot id below 2^53, so JSON and Avro `long` round-trip exactly in JavaScript. */
export function newSnapshotId(): number {
  const hi = Math.floor(Math.random() * 0x1fffff);
  const lo = Math.floor(Math.random() * 0x100000000);
  return hi * 0x100000000 + lo + 1;
}
