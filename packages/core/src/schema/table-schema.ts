import type { LogicalType } from "./logical-type.js";

/**
 * Names a table at its source: `namespace` is the PostgreSQL schema, the MySQL
 * database or the DynamoDB account/region scope; `name` is the table.
 */
export interface TableRef {
  readonly namespace: string;
  readonly name: string;
}

/** One column of a {@link TableSchema}. */
export interface ColumnSchema {
  readonly name: string;
  readonly type: LogicalType;
  readonly nullable: boolean;
  /** The type as the source spells it (`numeric(12,2)`, `varchar(255)`, `N`), for docs and error messages. */
  readonly sourceType?: string;
}

/**
 * A table's shape at one point of the source's history. Schemas are immutable
 * values: a change produces a new schema, never an edited one.
 */
export interface TableSchema {
  readonly table: TableRef;
  readonly columns: readonly ColumnSchema[];
  /** Primary-key column names in key order; empty when the table has no key. */
  readonly primaryKey: readonly string[];
  /** Increases with each schema change the source reports for this table. */
  readonly version: number;
}

/** The `namespace.name` string used as map key, in logs and in file names. Quote-free: not for SQL. */
export function tableKey(ref: TableRef): string {
  return `${ref.namespace}.${ref.name}`;
}

/** Parses a `namespace.name` key produced by {@link tableKey}. The namespace may itself contain no dot. */
export function parseTableKey(key: string): TableRef {
  const dot = key.indexOf(".");
  if (dot <= 0) return { namespace: "", name: key };
  return { namespace: key.slice(0, dot), name: key.slice(dot + 1) };
}

/** Finds a column by name. */
export function findColumn(schema: TableSchema, name: string): ColumnSchema | undefined {
  return schema.columns.find((c) => c.name === name);
}

/** Freezes a schema deeply so that no mapper or sink can edit a shared value. */
export function freezeSchema<T extends TableSchema>(schema: T): T {
  for (const column of schema.columns) Object.freeze(column);
  Object.freeze(schema.columns);
  Object.freeze(schema.primaryKey);
  Object.freeze(schema.table);
  return Object.freeze(schema);
}
