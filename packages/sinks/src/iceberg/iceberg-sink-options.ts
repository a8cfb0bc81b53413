import { ConfigError } from "@zero-etl/core";
import type { Logger } from "@zero-etl/core";
import type { GlueClientLike } from "./glue-catalog.js";
import type { ObjectStore } from "./object-store.js";
import type { S3StoreOptions } from "./s3-object-store.js";

/** One partition field of a table's spec: a source column and a transform. */
export interface PartitionFieldOption {
  readonly column: string;
  /** `identity`, `bucket[N]`, `truncate[W]`, `year`, `month`, `day` or `hour`. */
  readonly transform: string;
  /** Partition field name; default `<column>_<transform>` (identity: the column name). */
  readonly name?: string;
}

/** Where the table pointers live. */
export type IcebergCatalogOption =
  | { readonly type: "filesystem" }
  | { readonly type: "rest"; readonly uri: string; readonly warehouse?: string; readonly token?: string; readonly credential?: string }
  | { readonly type: "glue"; readonly client: GlueClientLike };

/** When the sink commits on its own between flushes (without moving the checkpoint). */
export interface IcebergCommitPolicy {
  /** Buffered row changes that trigger a commit; default 500,000. */
  readonly rows?: number;
  /** Buffered bytes (estimated) that trigger a commit; default 256 MiB. */
  readonly bytes?: number;
  /** Advice for the runtime's flush interval in seconds; default 60. The sink never commits on a timer. */
  readonly seconds?: number;
}

/** Options of `createIcebergSink`. */
export interface IcebergSinkOptions {
  /** A local directory or `s3://bucket/prefix`. */
  readonly warehouse: string;
  /** The Iceberg namespace (database) every table goes to. */
  readonly namespace: string;
  /** Default `{ type: "filesystem" }`. */
  readonly catalog?: IcebergCatalogOption;
  /** S3 connection settings when the warehouse is on S3. */
  readonly s3?: S3StoreOptions;
  readonly commit?: IcebergCommitPolicy;
  /** Data files are split above this estimated size; default 128 MiB. */
  readonly targetFileSizeBytes?: number;
  /** Rows per Parquet row group; default 1,000,000. */
  readonly rowGroupRows?: number;
  /** Partition fields per table name (the source table's name). */
  readonly partitionSpec?: Readonly<Record<string, readonly PartitionFieldOption[]>>;
  /**
   * How unconstrained decimals (PostgreSQL `numeric`, JSON and DynamoDB numbers) are stored: default `string`,
   * the exact decimal text (no fixed decimal holds every value); `decimal(38,10)` is numeric for readers but
   * dead-letters a value with more than 28 integer or 10 fractional digits. A table that already has a
   * `decimal(38,10)` column keeps it.
   */
  readonly unconstrainedDecimal?: "decimal(38,10)" | "string";
  /** Replaces the storage layer (tests, other clouds). */
  readonly store?: ObjectStore;
  readonly logger?: Logger;
}

/** Defaults of the commit policy. */
export const ICEBERG_COMMIT_DEFAULTS = Object.freeze({ rows: 500_000, bytes: 256 * 1024 * 1024, seconds: 60 });

const TRANSFORM = /^(identity|year|month|day|hour|bucket\[[1-9]\d*\]|truncate\[[1-9]\d*\])$/;

function positive(path: string, value: unknown): void {
  if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) throw new ConfigError(path, "a positive number");
}

/** Validates options once, at the edge; throws `ConfigError` naming the field (`target.warehouse`, ...). */
export function validateIcebergSinkOptions(options: IcebergSinkOptions): IcebergSinkOptions {
  if (typeof options !== "object" || options === null) throw new ConfigError("target", "an object");
  if (typeof options.warehouse !== "string" || options.warehouse.length === 0) throw new ConfigError("target.warehouse", "a local directory or an s3://bucket/prefix URI");
  if (!options.warehouse.startsWith("s3://") && !options.warehouse.startsWith("/")) {
    throw new ConfigError("target.warehouse", "an absolute local directory or an s3://bucket/prefix URI", options.warehouse.includes("://") ? options.warehouse.split("://")[0] + "://..." : "a relative path");
  }
  if (typeof options.namespace !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.namespace)) throw new ConfigError("target.namespace", "a name of letters, digits and underscores");
  const catalog = options.catalog;
  if (catalog !== undefined) {
    if (catalog.type === "rest") {
      if (typeof catalog.uri !== "string" || !/^https?:\/\//.test(catalog.uri)) throw new ConfigError("target.catalog.uri", "an http(s) URI of the Iceberg REST catalog");
    } else if (catalog.type === "glue") {
      if (typeof catalog.client?.updateTable !== "function") throw new ConfigError("target.catalog.client", "a Glue client with getTable, createTable and updateTable");
    } else if (catalog.type !== "filesystem") {
      throw new ConfigError("target.catalog.type", "filesystem, rest or glue", String((catalog as { type?: unknown }).type));
    }
  }
  positive("target.commit.rows", options.commit?.rows);
  positive("target.commit.bytes", options.commit?.bytes);
  positive("target.commit.seconds", options.commit?.seconds);
  positive("target.targetFileSizeBytes", options.targetFileSizeBytes);
  positive("target.rowGroupRows", options.rowGroupRows);
  if (options.unconstrainedDecimal !== undefined && options.unconstrainedDecimal !== "decimal(38,10)" && options.unconstrainedDecimal !== "string") {
    throw new ConfigError("target.unconstrainedDecimal", "decimal(38,10) or string");
  }
  for (const [table, fields] of Object.entries(options.partitionSpec ?? {})) {
    if (!Array.isArray(fields)) throw new ConfigError(`target.partitionSpec.${table}`, "a list of { column, transform }");
    fields.forEach((f: PartitionFieldOption, i: number) => {
      if (typeof f.column !== "string" || f.column === "") throw new ConfigError(`target.partitionSpec.${table}[${i}].column`, "a column name");
      if (typeof f.transform !== "string" || !TRANSFORM.test(f.transform)) {
        throw new ConfigError(`target.partitionSpec.${table}[${i}].transform`, "identity, bucket[N], truncate[W], year, month, day or hour");
      }
    });
  }
  return Object.freeze({ ...options });
}
