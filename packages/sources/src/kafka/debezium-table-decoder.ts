import type { ColumnSchema, LogicalType, Row, TableRef, TableSchema, Value } from "@zero-etl/core";
import { readValue } from "./debezium-value-reader.js";

/** A Kafka Connect schema as Connect's JsonConverter writes it (the subset read here). */
export interface ConnectSchemaJson {
  readonly type: string;
  readonly optional?: boolean;
  readonly name?: string;
  readonly field?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly items?: ConnectSchemaJson;
  readonly fields?: readonly ConnectSchemaJson[];
}

const ZEROETL_TYPE = "__zeroetl.type";
const ZEROETL_VERSION = "__zeroetl.version";
const ZEROETL_RENAMED = "__zeroetl.renamed";
const ZEROETL_PRIMARY_KEY = "__zeroetl.primaryKey";
const SOURCE_TYPE = "__debezium.source.column.type";

/**
 * The logical type of a Connect field: the zero-etl type its producer
 * recorded (`__zeroetl.type`), else one read from Debezium's semantic type
 * names, else from the Connect type.
 */
export function logicalTypeOf(schema: ConnectSchemaJson): LogicalType {
  const recorded = schema.parameters?.[ZEROETL_TYPE];
  if (recorded !== undefined) return JSON.parse(recorded) as LogicalType;
  switch (schema.name) {
    case "io.debezium.time.Date":
      return { kind: "date" };
    case "io.debezium.time.MicroTime":
      return { kind: "time", precision: 6, withZone: false };
    case "io.debezium.time.MicroTimestamp":
      return { kind: "timestamp", precision: 6, withZone: false };
    case "io.debezium.time.ZonedTimestamp":
      return { kind: "timestamp", precision: 6, withZone: true };
    case "io.debezium.time.ZonedTime":
      return { kind: "time", precision: 6, withZone: true };
    case "io.debezium.data.Json":
      return { kind: "json" };
    case "io.debezium.data.Uuid":
      return { kind: "uuid" };
    case "io.debezium.time.Interval":
      return { kind: "interval" };
    default:
      break;
  }
  switch (schema.type) {
    case "boolean":
      return { kind: "bool" };
    case "int8":
      return { kind: "int", bits: 8, signed: true };
    case "int16":
      return { kind: "int", bits: 16, signed: true };
    case "int32":
      return { kind: "int", bits: 32, signed: true };
    case "int64":
      return { kind: "int", bits: 64, signed: true };
    case "float":
      return { kind: "float", bits: 32 };
    case "double":
      return { kind: "float", bits: 64 };
    case "bytes":
      return { kind: "bytes" };
    case "array":
      return { kind: "list", element: schema.items === undefined ? { kind: "string" } : logicalTypeOf(schema.items) };
    case "struct":
    case "map":
      return schema.fields === undefined
        ? { kind: "json" }
        : { kind: "struct", fields: schema.fields.map((f) => ({ name: f.field ?? "", type: logicalTypeOf(f), nullable: f.optional ?? true })) };
    default:
      return { kind: "string" };
  }
}

/**
 * One version of one table's envelope schema, read once: the table schema it
 * describes (columns in logical types, the key from the key schema) and how
 * to read a payload's `before`/`after` into rows.
 */
export class DebeziumTableDecoder {
  readonly schema: TableSchema;
  readonly renamed: Readonly<Record<string, string>> | undefined;
  readonly #columns: readonly ColumnSchema[];

  constructor(table: TableRef, valueSchema: ConnectSchemaJson, keyFields: readonly string[], fallbackVersion: number) {
    const row = valueSchema.fields?.find((f) => f.field === "after") ?? valueSchema.fields?.find((f) => f.field === "before");
    const fields = row?.fields ?? [];
    this.#columns = fields.map((f) => {
      const sourceType = f.parameters?.[SOURCE_TYPE];
      const column: ColumnSchema = { name: f.field ?? "", type: logicalTypeOf(f), nullable: f.optional ?? true };
      return sourceType === undefined ? column : { ...column, sourceType };
    });
    const version = Number(row?.parameters?.[ZEROETL_VERSION] ?? fallbackVersion);
    const renamed = row?.parameters?.[ZEROETL_RENAMED];
    this.renamed = renamed === undefined ? undefined : (JSON.parse(renamed) as Record<string, string>);
    const recordedKey = row?.parameters?.[ZEROETL_PRIMARY_KEY];
    // the producer's own record of the key wins: a record without a Kafka key (a truncate) has no key schema
    const primaryKey = recordedKey === undefined ? keyFields : (JSON.parse(recordedKey) as string[]);
    this.schema = { table, columns: this.#columns, primaryKey, version };
  }

  /**
   * A payload's row image, or undefined for `null`; `skip` names columns to
   * leave out (unchanged at the source). With `projection` (see
   * {@link projectionOnto}) only the columns it maps are read, under the
   * names it maps them to.
   */
  row(raw: unknown, skip?: readonly string[], projection?: ReadonlyMap<string, string>): Row | undefined {
    if (raw === null || raw === undefined) return undefined;
    const record = raw as Record<string, unknown>;
    const out: Record<string, Value> = {};
    for (const c of this.#columns) {
      if (skip !== undefined && skip.includes(c.name)) continue;
      if (projection === undefined) {
        out[c.name] = readValue(c.type, record[c.name]);
        continue;
      }
      const name = projection.get(c.name);
      if (name !== undefined) out[name] = readValue(c.type, record[c.name]);
    }
    return out;
  }

  #projectedFor: TableSchema | undefined;
  #projection: ReadonlyMap<string, string> | undefined;

  /**
   * For records of this (older) version applied under a newer schema
   * `applied`: each column of this version that `applied` has, under its
   * name there (a column renamed since, `oldToNew`, under its new name);
   * columns dropped since are left out. Undefined when every column of this
   * version is in `applied` under its own name. The row's later versions, in
   * its partition after this one, carry what it holds now. Cached per
   * `applied` (the renames grow only with a new applied schema).
   */
  projectionOnto(applied: TableSchema, oldToNew?: ReadonlyMap<string, string>): ReadonlyMap<string, string> | undefined {
    if (this.#projectedFor === applied) return this.#projection;
    const names = new Set(applied.columns.map((c) => c.name));
    const projection = new Map<string, string>();
    let same = true;
    for (const c of this.#columns) {
      let name = c.name;
      // follow renames (a -> b -> c) while the name is not the applied schema's
      for (let hops = 0; !names.has(name) && hops < 100; hops++) {
        const next = oldToNew?.get(name);
        if (next === undefined) break;
        name = next;
      }
      if (name !== c.name) same = false;
      if (names.has(name)) projection.set(c.name, name);
      else same = false;
    }
    this.#projectedFor = applied;
    this.#projection = same ? undefined : projection;
    return this.#projection;
  }

  /** The primary-key columns of a row image. */
  key(row: Row): Row {
    const out: Record<string, Value> = {};
    for (const name of this.schema.primaryKey) out[name] = row[name] ?? null;
    return out;
  }
}
