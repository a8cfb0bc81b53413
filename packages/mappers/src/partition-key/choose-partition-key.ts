import type { ColumnSchema, LogicalType, TableSchema } from "@zero-etl/core";
import { ConfigError, ZeroEtlError, formatLogicalType, tableKey } from "@zero-etl/core";

/** Where the layout is for. */
export type PartitionTarget = "iceberg" | "redshift" | "opensearch" | "dynamodb";

/** Iceberg partition transforms (table spec): `identity`, `bucket[N]`, `truncate[W]`, `year`, `month`, `day`, `hour`. */
export type IcebergTransform = "identity" | "year" | "month" | "day" | "hour" | `bucket[${number}]` | `truncate[${number}]`;

/** One Iceberg partition field. `name` follows Iceberg's default naming (`<col>_day`, `<col>_bucket`). */
export interface IcebergPartitionField {
  readonly sourceColumn: string;
  readonly transform: IcebergTransform;
  readonly name: string;
}

/** Statistics that sharpen the choice; everything is optional. */
export interface PartitionStatistics {
  readonly rowCount?: number | undefined;
  /** Per column: distinct values (approximate is fine). */
  readonly distinctCounts?: Readonly<Record<string, number>> | undefined;
}

/** A user's explicit choice, validated against the schema. Only the members of the chosen target are read. */
export interface PartitionKeyCustom {
  /** Iceberg partition fields. */
  readonly fields?: readonly { readonly column: string; readonly transform: string }[] | undefined;
  /** Redshift DISTKEY column (DISTSTYLE KEY). */
  readonly distKey?: string | undefined;
  /** Redshift DISTSTYLE when no DISTKEY is given. */
  readonly distStyle?: "AUTO" | "EVEN" | "ALL" | undefined;
  /** Redshift SORTKEY columns. */
  readonly sortKey?: readonly string[] | undefined;
  /** OpenSearch document id columns (default: the primary key). */
  readonly id?: readonly string[] | undefined;
  /** OpenSearch routing column. */
  readonly routing?: string | undefined;
  /** DynamoDB partition key. */
  readonly partitionKey?: string | undefined;
  /** DynamoDB sort key (DynamoDB's name for it; a range key). */
  readonly rangeKey?: string | undefined;
}

/** Options of {@link choosePartitionKey}. */
export interface ChoosePartitionKeyOptions {
  readonly schema: TableSchema;
  readonly target: PartitionTarget;
  readonly custom?: PartitionKeyCustom | undefined;
  readonly statistics?: PartitionStatistics | undefined;
}

/** The layout chosen for a table, with a human-readable reason. */
export type PartitionLayout =
  | { readonly target: "iceberg"; readonly fields: readonly IcebergPartitionField[]; readonly reason: string }
  | {
      readonly target: "redshift";
      readonly distStyle: "KEY" | "AUTO" | "EVEN" | "ALL";
      readonly distKey?: string;
      readonly sortKey: readonly string[];
      readonly reason: string;
    }
  | { readonly target: "opensearch"; readonly idColumns: readonly string[]; readonly routing?: string; readonly reason: string }
  | { readonly target: "dynamodb"; readonly partitionKey: string; readonly rangeKey?: string; readonly reason: string };

const INSERT_TIME = /^(created|inserted|insert|creation|ingested|ingestion|event|received|logged)(_?(at|time|timestamp|ts|date|on|dt))?$/i;
const HIGH_CARDINALITY = 0.9;
const SMALL_TABLE_ROWS = 1_000_000;

function isTemporal(type: LogicalType): boolean {
  return type.kind === "timestamp" || type.kind === "date";
}

function transformFits(transform: string, type: LogicalType): string | undefined {
  if (transform === "identity") {
    return type.kind === "json" || type.kind === "list" || type.kind === "map" || type.kind === "struct" || type.kind === "geometry" || type.kind === "interval" ? "a primitive column" : undefined;
  }
  const bucket = /^bucket\[(-?\d+)\]$/.exec(transform);
  if (bucket !== null) {
    if (Number(bucket[1]) <= 0) return "a bucket count N > 0";
    return ["int", "decimal", "date", "time", "timestamp", "string", "uuid", "bytes"].includes(type.kind) ? undefined : "an int, decimal, date, time, timestamp, string, uuid or binary column for bucket[N]";
  }
  const truncate = /^truncate\[(-?\d+)\]$/.exec(transform);
  if (truncate !== null) {
    if (Number(truncate[1]) <= 0) return "a truncate width W > 0";
    return ["int", "decimal", "string", "bytes"].includes(type.kind) ? undefined : "an int, decimal, string or binary column for truncate[W]";
  }
  if (transform === "year" || transform === "month" || transform === "day") return isTemporal(type) ? undefined : `a date or timestamp column for ${transform}`;
  if (transform === "hour") return type.kind === "timestamp" ? undefined : "a timestamp column for hour";
  return "";
}

function partitionFieldName(column: string, transform: string): string {
  if (transform === "identity") return column;
  const base = /^(bucket|truncate)\[/.exec(transform)?.[1] ?? transform;
  return `${column}_${base}`;
}

/**
 * Chooses how a table is laid out in its target, explaining why in `reason`:
 * - Iceberg: partition fields with transforms. By default none, or `day()`
 *   of an obvious insert-time column (`created_at`, `inserted_at`, `event_time`...)
 *   when the table is not known to be small: rows then land by creation day
 *   and never move between partitions on update.
 * - Redshift: DISTSTYLE KEY on a high-cardinality key column (a single-column
 *   primary key, or with statistics the primary key's first column, then any
 *   column, whose distinct ratio is at least 0.9), otherwise AUTO; SORTKEY an
 *   insert-time (or other date/timestamp) column, else the primary key.
 * - OpenSearch: the document id is the primary key (composite keys joined
 *   by `openSearchDocumentId`); routing only when asked for.
 * - DynamoDB: the source's partition and sort key, unchanged.
 *
 * A `custom` choice is validated: unknown, nullable or floating-point
 * columns, transforms that do not fit the type (`day` on a string,
 * `truncate` on a bool) and bucket counts <= 0 throw a {@link ConfigError}
 * naming the path (`partitionKey.fields[0].transform`).
 */
export function choosePartitionKey(options: ChoosePartitionKeyOptions): PartitionLayout {
  const { schema, target, custom, statistics } = options;
  const table = tableKey(schema.table);
  const column = (name: string, path: string): ColumnSchema => {
    const found = schema.columns.find((c) => c.name === name);
    if (found === undefined) throw new ConfigError(path, `a column of ${table} (${schema.columns.map((c) => c.name).join(", ")})`, JSON.stringify(name));
    if (found.nullable) throw new ConfigError(path, `a NOT NULL column (${name} is nullable in ${table})`);
    if (found.type.kind === "float") throw new ConfigError(path, `a non-floating-point column (${name} is ${formatLogicalType(found.type)}: equal values may not compare equal)`);
    return found;
  };
  const ratio = (name: string): number | undefined => {
    const distinct = statistics?.distinctCounts?.[name];
    const rows = statistics?.rowCount;
    return distinct === undefined || rows === undefined || rows === 0 ? undefined : distinct / rows;
  };
  const insertTime = schema.columns.find((c) => isTemporal(c.type) && INSERT_TIME.test(c.name));

  switch (target) {
    case "iceberg": {
      if (custom?.fields !== undefined) {
        const fields = custom.fields.map((field, i): IcebergPartitionField => {
          const found = column(field.column, `partitionKey.fields[${i}].column`);
          const problem = transformFits(field.transform, found.type);
          if (problem === "") throw new ConfigError(`partitionKey.fields[${i}].transform`, "identity, bucket[N], truncate[W], year, month, day or hour", JSON.stringify(field.transform));
          if (problem !== undefined) throw new ConfigError(`partitionKey.fields[${i}].transform`, problem, `${field.transform} on ${field.column} (${formatLogicalType(found.type)})`);
          return { sourceColumn: field.column, transform: field.transform as IcebergTransform, name: partitionFieldName(field.column, field.transform) };
        });
        return { target, fields, reason: `custom partition spec: ${fields.map((f) => `${f.transform}(${f.sourceColumn})`).join(", ") || "unpartitioned"}` };
      }
      if (statistics?.rowCount !== undefined && statistics.rowCount < SMALL_TABLE_ROWS) {
        return { target, fields: [], reason: `unpartitioned: ${statistics.rowCount} rows fit in a few files, and partitions would only multiply small files` };
      }
      if (insertTime !== undefined) {
        return {
          target,
          fields: [{ sourceColumn: insertTime.name, transform: "day", name: `${insertTime.name}_day` }],
          reason: `day(${insertTime.name}): an insert-time column, so rows are pruned by date and an update never moves a row to another partition`,
        };
      }
      return { target, fields: [], reason: "unpartitioned: no obvious insert-time column; partitioning by a column that updates change would rewrite files in many partitions" };
    }
    case "redshift": {
      const sortKey = custom?.sortKey?.map((name, i) => column(name, `partitionKey.sortKey[${i}]`).name);
      const chosenSort =
        sortKey ??
        (insertTime !== undefined
          ? [insertTime.name]
          : (() => {
              const temporal = schema.columns.find((c) => isTemporal(c.type) && !c.nullable);
              return temporal !== undefined ? [temporal.name] : [...schema.primaryKey];
            })());
      const sortReason = sortKey !== undefined ? "custom SORTKEY" : insertTime !== undefined ? `SORTKEY ${insertTime.name} (insert time: range scans by date)` : chosenSort.length > 0 ? `SORTKEY ${chosenSort.join(", ")}` : "no SORTKEY";
      if (custom?.distKey !== undefined) {
        const dist = column(custom.distKey, "partitionKey.distKey");
        return { target, distStyle: "KEY", distKey: dist.name, sortKey: chosenSort, reason: `custom DISTKEY ${dist.name}; ${sortReason}` };
      }
      if (custom?.distStyle !== undefined) return { target, distStyle: custom.distStyle, sortKey: chosenSort, reason: `custom DISTSTYLE ${custom.distStyle}; ${sortReason}` };
      const first = schema.primaryKey[0];
      const usable = (c: ColumnSchema | undefined): c is ColumnSchema => c !== undefined && !c.nullable && c.type.kind !== "float" && c.type.kind !== "json" && c.type.kind !== "bool";
      const firstColumn = schema.columns.find((c) => c.name === first);
      if (usable(firstColumn) && schema.primaryKey.length === 1 && (ratio(firstColumn.name) ?? 1) >= HIGH_CARDINALITY) {
        return { target, distStyle: "KEY", distKey: firstColumn.name, sortKey: chosenSort, reason: `DISTKEY ${firstColumn.name}: a single-column primary key spreads rows evenly and co-locates MERGE by key; ${sortReason}` };
      }
      if (usable(firstColumn) && (ratio(firstColumn.name) ?? 0) >= HIGH_CARDINALITY) {
        return { target, distStyle: "KEY", distKey: firstColumn.name, sortKey: chosenSort, reason: `DISTKEY ${firstColumn.name}: first primary-key column with distinct ratio ${(ratio(firstColumn.name) ?? 0).toFixed(2)}; ${sortReason}` };
      }
      const candidates = schema.columns.filter((c) => usable(c) && (ratio(c.name) ?? 0) >= HIGH_CARDINALITY).sort((a, b) => (ratio(b.name) ?? 0) - (ratio(a.name) ?? 0));
      const best = candidates[0];
      if (best !== undefined) {
        return { target, distStyle: "KEY", distKey: best.name, sortKey: chosenSort, reason: `DISTKEY ${best.name}: highest distinct ratio ${(ratio(best.name) ?? 0).toFixed(2)}; ${sortReason}` };
      }
      return { target, distStyle: "AUTO", sortKey: chosenSort, reason: `DISTSTYLE AUTO: no column is known to have high cardinality, so Redshift picks and adapts; ${sortReason}` };
    }
    case "opensearch": {
      const idColumns = custom?.id?.map((name, i) => column(name, `partitionKey.id[${i}]`).name) ?? [...schema.primaryKey];
      if (custom?.id === undefined) schema.primaryKey.forEach((name, i) => column(name, `primaryKey[${i}]`));
      if (idColumns.length === 0) {
        throw new ZeroEtlError(`${table} has no primary key: OpenSearch documents need a deterministic id for updates and deletes (set partitionKey.id)`, {
          code: "schema-unsupported",
          table,
        });
      }
      const routing = custom?.routing === undefined ? undefined : column(custom.routing, "partitionKey.routing").name;
      const reason = `document id from ${custom?.id === undefined ? "the primary key" : "custom columns"} (${idColumns.join(", ")}), so a replay overwrites the same document${routing === undefined ? "" : `; routing by ${routing} keeps related documents on one shard`}`;
      return routing === undefined ? { target, idColumns, reason } : { target, idColumns, routing, reason };
    }
    case "dynamodb": {
      const keyType = (c: ColumnSchema, path: string): void => {
        if (!["string", "decimal", "int", "bytes"].includes(c.type.kind)) throw new ConfigError(path, `a string, number or binary column (DynamoDB key types S, N, B); ${c.name} is ${formatLogicalType(c.type)}`);
      };
      const partitionName = custom?.partitionKey ?? schema.primaryKey[0];
      if (partitionName === undefined) throw new ConfigError("partitionKey.partitionKey", `a partition key column (${table} has no primary key)`);
      const partition = column(partitionName, "partitionKey.partitionKey");
      keyType(partition, "partitionKey.partitionKey");
      const rangeName = custom?.partitionKey !== undefined ? custom.rangeKey : (custom?.rangeKey ?? schema.primaryKey[1]);
      if (rangeName === undefined) return { target, partitionKey: partition.name, reason: `partition key ${partition.name}, as the source table defines it` };
      const range = column(rangeName, "partitionKey.rangeKey");
      keyType(range, "partitionKey.rangeKey");
      return { target, partitionKey: partition.name, rangeKey: range.name, reason: `partition key ${partition.name} and sort key ${range.name}, as the source table defines them` };
    }
  }
}
