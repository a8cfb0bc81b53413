import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { ColumnSchema, TableRef, TableSchema } from "@zero-etl/core";
import type { PgTableName } from "./postgres-ddl-compiler.js";
import { pgTableRef } from "./postgres-ddl-compiler.js";
import type { PgSqlCompiler } from "./postgres-dml-compiler.js";
import { ZeroEtlError, tableKey } from "@zero-etl/core";

/** The system columns of a history-mode table, in table order. */
export const HISTORY_COLUMNS = Object.freeze({
  validFrom: "_zeroetl_valid_from",
  validTo: "_zeroetl_valid_to",
  validFromTime: "_zeroetl_valid_from_time",
  validToTime: "_zeroetl_valid_to_time",
  isCurrent: "_zeroetl_is_current",
  op: "_zeroetl_op",
});

/**
 * The `_zeroetl_valid_from` value of snapshot versions (and `_zeroetl_valid_to`
 * of versions a re-snapshot closes) until `flush` learns the snapshot position;
 * no source serializes a position as the empty string.
 */
export const PENDING_POSITION = "";

const HISTORY_COLUMN_SCHEMAS: readonly ColumnSchema[] = Object.freeze([
  { name: HISTORY_COLUMNS.validFrom, type: { kind: "string" }, nullable: false },
  { name: HISTORY_COLUMNS.validTo, type: { kind: "string" }, nullable: true },
  { name: HISTORY_COLUMNS.validFromTime, type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
  { name: HISTORY_COLUMNS.validToTime, type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
  { name: HISTORY_COLUMNS.isCurrent, type: { kind: "bool" }, nullable: false },
  { name: HISTORY_COLUMNS.op, type: { kind: "string" }, nullable: false },
]);

/** Which source tables keep every version: `"namespace.name"` keys, or `"*"` for all. */
export type HistorySelector = (table: TableRef) => boolean;

/** A selector for the configured history tables; `undefined` or an empty list selects none. */
export function createHistorySelector(tables: readonly string[] | undefined): HistorySelector {
  if (tables === undefined || tables.length === 0) return () => false;
  if (tables.includes("*")) return () => true;
  const wanted = new Set(tables);
  return (table) => wanted.has(tableKey(table));
}

/**
 * The target schema of a history-mode table: the source columns plus the six
 * `_zeroetl_*` validity columns, keyed by the source key plus
 * `_zeroetl_valid_from`. Tables without a primary key are refused: a version
 * could not be tied to a row.
 */
export function toHistorySchema(schema: TableSchema): TableSchema {
  if (schema.primaryKey.length === 0) {
    throw new ZeroEtlError(`table ${tableKey(schema.table)} has no primary key and cannot be replicated in history mode`, {
      code: "schema-unsupported",
      table: tableKey(schema.table),
    });
  }
  const clash = schema.columns.find((c) => HISTORY_COLUMN_SCHEMAS.some((h) => h.name === c.name));
  if (clash !== undefined) {
    throw new ZeroEtlError(`table ${tableKey(schema.table)} has a column named ${clash.name}, reserved for history mode`, {
      code: "schema-unsupported",
      table: tableKey(schema.table),
    });
  }
  return Object.freeze({
    ...schema,
    columns: Object.freeze([...schema.columns, ...HISTORY_COLUMN_SCHEMAS]),
    primaryKey: Object.freeze([...schema.primaryKey, HISTORY_COLUMNS.validFrom]),
  });
}

/** True for the validity columns this sink adds to history tables. */
export function isHistoryColumn(column: string): boolean {
  return column === HISTORY_COLUMNS.validFrom || column === HISTORY_COLUMNS.validTo || column === HISTORY_COLUMNS.validFromTime || column === HISTORY_COLUMNS.validToTime || column === HISTORY_COLUMNS.isCurrent || column === HISTORY_COLUMNS.op;
}

/**
 * The indexes of a history table: a unique partial index on the source key
 * of the current versions (at most one current version per key; the lookup
 * that closes versions), and a partial index on the versions still waiting
 * for the snapshot position (empty outside a snapshot). Names derive from a
 * hash of the table, so they fit 63 bytes and never collide.
 */
export function compileHistoryIndexes(compile: PgSqlCompiler, name: PgTableName, sourceKey: readonly string[]): readonly string[] {
  const tag = createHash("sha256").update(`${name.schema}\u0000${name.table}`).digest("hex").slice(0, 20);
  const from = sql.id(HISTORY_COLUMNS.validFrom);
  const to = sql.id(HISTORY_COLUMNS.validTo);
  return [
    compile(sql`CREATE UNIQUE INDEX IF NOT EXISTS ${sql.id(`zetl_current_${tag}`)} ON ${pgTableRef(name)} (${sql.join(sourceKey.map((c) => sql.id(c)))}) WHERE ${sql.id(HISTORY_COLUMNS.isCurrent)}`),
    compile(sql`CREATE INDEX IF NOT EXISTS ${sql.id(`zetl_pending_${tag}`)} ON ${pgTableRef(name)} (${from}) WHERE ${from} = '' OR ${to} = ''`),
  ];
}
