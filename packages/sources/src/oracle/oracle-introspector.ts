import type { ColumnSchema, LogicalType, TableRef, TableSchema } from "@zero-etl/core";
import { freezeSchema } from "@zero-etl/core";
import { fromOracleType, type OracleColumnType } from "./oracle-column-type.js";
import type { OracleDatabase } from "./oracle-database.js";
import { LIST_TABLES_SQL, PRIMARY_KEY_SQL, TABLE_COLUMNS_SQL } from "./oracle-sql.js";

/** One column as the source decodes it: Oracle's description and the logical type it maps to. */
export interface OracleColumn {
  readonly type: OracleColumnType;
  readonly logical: LogicalType;
}

/** A table as the stream and the snapshot read it. */
export interface OracleTableModel {
  readonly schema: TableSchema;
  /** Columns by name, in table order. */
  readonly columns: ReadonlyMap<string, OracleColumn>;
  /** Columns left out of the schema because no logical type holds them (BFILE, object types); their redo values are ignored. */
  readonly skipped: ReadonlySet<string>;
}

/** Which tables a source reads: a fixed list, or every table of `owner` the predicate accepts. */
export interface OracleTableSelection {
  readonly owner: string;
  readonly tables?: readonly TableRef[];
  readonly include?: (table: TableRef) => boolean;
}

/** Whether a table is selected. */
export function isOracleTableSelected(selection: OracleTableSelection, owner: string, table: string): boolean {
  if (selection.tables !== undefined) return selection.tables.some((t) => t.namespace === owner && t.name === table);
  return owner === selection.owner && (selection.include === undefined || selection.include({ namespace: owner, name: table }));
}

/** The owners whose redo the stream reads. */
export function selectedOwners(selection: OracleTableSelection): string[] {
  return selection.tables === undefined ? [selection.owner] : [...new Set(selection.tables.map((t) => t.namespace))];
}

/** The selected tables that exist now. */
export async function listOracleTables(db: OracleDatabase, selection: OracleTableSelection): Promise<TableRef[]> {
  const out: TableRef[] = [];
  for (const owner of selectedOwners(selection)) {
    for (const row of await db.query(LIST_TABLES_SQL, { owner })) {
      const name = String(row.TABLE_NAME);
      if (isOracleTableSelected(selection, owner, name)) out.push({ namespace: owner, name });
    }
  }
  return out;
}

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined || v === "" ? null : Number(v));

/** Reads one table's columns and primary key; `undefined` when the table does not exist (dropped, renamed). */
export async function introspectOracleTable(db: OracleDatabase, table: TableRef, version = 1): Promise<OracleTableModel | undefined> {
  const binds = { owner: table.namespace, tableName: table.name };
  const rows = await db.query(TABLE_COLUMNS_SQL, binds);
  if (rows.length === 0) return undefined;
  const columns = new Map<string, OracleColumn>();
  const schemaColumns: ColumnSchema[] = [];
  const skipped = new Set<string>();
  for (const row of rows) {
    const name = String(row.COLUMN_NAME);
    const type: OracleColumnType = {
      dataType: String(row.DATA_TYPE),
      precision: numberOrNull(row.DATA_PRECISION),
      scale: numberOrNull(row.DATA_SCALE),
      length: numberOrNull(row.DATA_LENGTH),
      charLength: numberOrNull(row.CHAR_LENGTH),
    };
    let logical: LogicalType;
    try {
      logical = fromOracleType(type);
    } catch {
      skipped.add(name);
      continue;
    }
    columns.set(name, { type, logical });
    schemaColumns.push({ name, type: logical, nullable: String(row.NULLABLE) !== "N", sourceType: type.dataType });
  }
  const primaryKey = (await db.query(PRIMARY_KEY_SQL, binds)).map((r) => String(r.COLUMN_NAME)).filter((c) => columns.has(c));
  const schema = freezeSchema({ table: Object.freeze({ namespace: table.namespace, name: table.name }), columns: schemaColumns, primaryKey, version });
  return { schema, columns, skipped };
}
