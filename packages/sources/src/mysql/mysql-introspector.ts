import type { TableRef, TableSchema } from "@zero-etl/core";
import { freezeSchema, tableKey } from "@zero-etl/core";
import type { Connection } from "mysql2/promise";
import { MysqlType, charsetKind, encodingOf, toLogicalType, type ColumnDescriptor } from "./mysql-column-type.js";

/** A table as introspected: its schema plus the column facts the binlog decoder needs as hints. */
export interface IntrospectedTable {
  readonly schema: TableSchema;
  /** Column descriptors equivalent to what a TABLE_MAP of the current definition gives. */
  readonly columns: readonly ColumnDescriptor[];
  /** Columns holding JSON (MySQL JSON, or MariaDB's LONGTEXT alias with a `json_valid` check). */
  readonly json: ReadonlySet<string>;
  /** Whether the key is a declared PRIMARY KEY (false: a UNIQUE NOT NULL key standing in for one, or none). */
  readonly declaredPrimaryKey: boolean;
  /** `information_schema.TABLES.TABLE_ROWS`, an estimate. */
  readonly rowsEstimated?: number;
}

/** Which tables to introspect: a list, or a predicate applied to the tables of `databases`. */
export interface TableSelection {
  readonly databases: readonly string[];
  readonly tables?: readonly TableRef[];
  readonly include?: (table: TableRef) => boolean;
}

interface ColumnRow {
  TABLE_SCHEMA: string;
  TABLE_NAME: string;
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  IS_NULLABLE: string;
  CHARACTER_MAXIMUM_LENGTH: number | string | null;
  CHARACTER_OCTET_LENGTH: number | string | null;
  NUMERIC_PRECISION: number | string | null;
  NUMERIC_SCALE: number | string | null;
  DATETIME_PRECISION: number | string | null;
  CHARACTER_SET_NAME: string | null;
}

/**
 * Reads the selected base tables' columns, primary keys, JSON columns and
 * row estimates from `information_schema`, mapping each column exactly as a
 * TABLE_MAP of the same definition would be mapped, so snapshot and binlog
 * agree on types.
 */
export async function introspectMysqlTables(conn: Connection, selection: TableSelection): Promise<IntrospectedTable[]> {
  const databases = selection.tables !== undefined ? [...new Set(selection.tables.map((t) => t.namespace))] : [...selection.databases];
  if (databases.length === 0) return [];
  const marks = databases.map(() => "?").join(",");
  const [tableRows] = await conn.query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_ROWS AS est FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN (${marks}) ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    databases,
  );
  const wanted = selection.tables === undefined ? undefined : new Set(selection.tables.map(tableKey));
  const tables = (tableRows as { db: string; name: string; est: number | string | null }[]).filter((t) => {
    const ref = { namespace: t.db, name: t.name };
    if (wanted !== undefined) return wanted.has(tableKey(ref));
    return selection.include?.(ref) ?? true;
  });
  if (tables.length === 0) return [];
  const [columnRows] = await conn.query(
    `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (${marks}) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    databases,
  );
  const [keyRows] = await conn.query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, COLUMN_NAME AS col FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_NAME = 'PRIMARY' AND TABLE_SCHEMA IN (${marks}) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    databases,
  );
  // MySQL and MariaDB treat the first UNIQUE key over NOT NULL columns as the primary key of a table without one
  // (and so do TABLE_MAP events); information_schema lists a table's keys in that same order.
  const [uniqueRows] = await conn.query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, INDEX_NAME AS idx, COLUMN_NAME AS col, SEQ_IN_INDEX AS seq, SUB_PART AS sub, INDEX_TYPE AS kind FROM information_schema.STATISTICS WHERE NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY' AND TABLE_SCHEMA IN (${marks})`,
    databases,
  );
  const jsonColumns = new Set<string>();
  try {
    // MariaDB's JSON is LONGTEXT with a json_valid() check constraint. The column is taken from the clause, not
    // from the constraint's name: that is the column's name at creation and stays so after RENAME COLUMN.
    const [checks] = await conn.query(
      `SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN (${marks})`,
      databases,
    );
    for (const c of checks as { db: string; name: string; clause: string }[]) {
      const column = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(c.clause.trim())?.[1];
      if (column !== undefined) jsonColumns.add(`${c.db}.${c.name}.${column.replace(/``/g, "`")}`);
    }
  } catch {
    // Servers without CHECK_CONSTRAINTS have no JSON alias either.
  }
  const out: IntrospectedTable[] = [];
  for (const t of tables) {
    const cols = (columnRows as ColumnRow[]).filter((c) => c.TABLE_SCHEMA === t.db && c.TABLE_NAME === t.name);
    const json = new Set<string>();
    const columns = cols.map((c) => {
      const isJson = c.DATA_TYPE === "json" || jsonColumns.has(`${t.db}.${t.name}.${c.COLUMN_NAME}`);
      if (isJson) json.add(c.COLUMN_NAME);
      return describeInformationSchemaColumn(c, isJson);
    });
    const declared = (keyRows as { db: string; name: string; col: string }[]).filter((k) => k.db === t.db && k.name === t.name).map((k) => k.col);
    const primaryKey = declared.length > 0 ? declared : uniqueNotNullKey(uniqueRows as UniqueKeyRow[], t.db, t.name, cols);
    const schema = freezeSchema({
      table: { namespace: t.db, name: t.name },
      columns: cols.map((c, i) => ({ name: c.COLUMN_NAME, type: toLogicalType(columns[i] as ColumnDescriptor), nullable: c.IS_NULLABLE === "YES", sourceType: c.COLUMN_TYPE })),
      primaryKey,
      version: 1,
    });
    out.push({ schema, columns, json, declaredPrimaryKey: declared.length > 0, ...(t.est === null ? {} : { rowsEstimated: Number(t.est) }) });
  }
  return out;
}

interface UniqueKeyRow {
  db: string;
  name: string;
  idx: string;
  col: string;
  seq: number | string;
  sub: number | string | null;
  kind: string;
}

/**
 * The columns of the table's first UNIQUE key whose columns are all NOT NULL
 * and whole (no prefix), which the server uses as the primary key of a table
 * declared without one; empty when there is none. MariaDB's long UNIQUE keys
 * (`HASH`, over BLOBs) do not qualify.
 */
function uniqueNotNullKey(rows: readonly UniqueKeyRow[], db: string, table: string, columns: readonly ColumnRow[]): string[] {
  const keys = new Map<string, { col: string; seq: number }[]>();
  const disqualified = new Set<string>();
  for (const r of rows) {
    if (r.db !== db || r.name !== table) continue;
    let parts = keys.get(r.idx);
    if (parts === undefined) keys.set(r.idx, (parts = []));
    parts.push({ col: r.col, seq: Number(r.seq) });
    const column = columns.find((c) => c.COLUMN_NAME === r.col);
    if (r.sub !== null || r.kind.toUpperCase() === "HASH" || column === undefined || column.IS_NULLABLE === "YES") disqualified.add(r.idx);
  }
  for (const [idx, parts] of keys) {
    if (!disqualified.has(idx)) return parts.sort((a, b) => a.seq - b.seq).map((p) => p.col);
  }
  return [];
}

/** Builds the TABLE_MAP-equivalent descriptor of an `information_schema.COLUMNS` row. */
function describeInformationSchemaColumn(c: ColumnRow, json: boolean): ColumnDescriptor {
  const dataType = c.DATA_TYPE.toLowerCase();
  const unsigned = /\bunsigned\b/i.test(c.COLUMN_TYPE);
  const octets = Number(c.CHARACTER_OCTET_LENGTH ?? 0);
  const chars = Number(c.CHARACTER_MAXIMUM_LENGTH ?? 0);
  const charsetName = c.CHARACTER_SET_NAME ?? "binary";
  const base = {
    name: c.COLUMN_NAME,
    unsigned,
    nullable: c.IS_NULLABLE === "YES",
    collation: 0,
    charset: charsetKind(charsetName),
    maxBytesPerChar: chars > 0 ? Math.max(1, Math.round(octets / chars)) : 1,
    ...(encodingOf(charsetName) === undefined ? {} : { encoding: encodingOf(charsetName) as string }),
    json,
    meta2: 0,
  };
  const fsp = Number(c.DATETIME_PRECISION ?? 0);
  const simple = (type: number, meta = 0): ColumnDescriptor => ({ ...base, type, realType: type, meta });
  switch (dataType) {
    case "tinyint":
      return simple(MysqlType.TINY);
    case "smallint":
      return simple(MysqlType.SHORT);
    case "mediumint":
      return simple(MysqlType.INT24);
    case "int":
    case "integer":
      return simple(MysqlType.LONG);
    case "bigint":
      return simple(MysqlType.LONGLONG);
    case "year":
      return simple(MysqlType.YEAR);
    case "float":
      return simple(MysqlType.FLOAT, 4);
    case "double":
    case "real":
      return simple(MysqlType.DOUBLE, 8);
    case "decimal":
    case "numeric":
      return { ...simple(MysqlType.NEWDECIMAL, Number(c.NUMERIC_PRECISION ?? 10)), meta2: Number(c.NUMERIC_SCALE ?? 0) };
    case "date":
      return simple(MysqlType.DATE);
    case "time":
      return simple(MysqlType.TIME2, fsp);
    case "datetime":
      return simple(MysqlType.DATETIME2, fsp);
    case "timestamp":
      return simple(MysqlType.TIMESTAMP2, fsp);
    case "bit": {
      const bits = Number(c.NUMERIC_PRECISION ?? 1);
      return { ...simple(MysqlType.BIT, bits), meta2: Math.ceil(bits / 8) };
    }
    case "char":
    case "binary":
      return { ...simple(MysqlType.STRING, octets), charset: dataType === "binary" ? "binary" : base.charset };
    case "varchar":
    case "varbinary":
      return { ...simple(MysqlType.VARCHAR, octets), charset: dataType === "varbinary" ? "binary" : base.charset };
    case "enum":
    case "set": {
      const realType = dataType === "enum" ? MysqlType.ENUM : MysqlType.SET;
      return { ...base, type: realType, realType, meta: 0, members: parseMembers(c.COLUMN_TYPE) };
    }
    case "json":
      return { ...simple(MysqlType.JSON, 4), json: true };
    case "geometry":
    case "point":
    case "linestring":
    case "polygon":
    case "multipoint":
    case "multilinestring":
    case "multipolygon":
    case "geometrycollection":
      return simple(MysqlType.GEOMETRY, 4);
    default:
      if (/text$/.test(dataType)) return simple(MysqlType.BLOB, 4);
      if (/blob$/.test(dataType)) return { ...simple(MysqlType.BLOB, 4), charset: "binary" };
      return { ...simple(MysqlType.STRING, octets), charset: "binary" };
  }
}

/** Parses `enum('a','b''c')` / `set(...)` member names. */
export function parseMembers(columnType: string): string[] {
  const open = columnType.indexOf("(");
  const members: string[] = [];
  let i = open + 1;
  while (i < columnType.length) {
    if (columnType[i] !== "'") {
      i++;
      continue;
    }
    let value = "";
    i++;
    while (i < columnType.length) {
      if (columnType[i] === "'" && columnType[i + 1] === "'") {
        value += "'";
        i += 2;
      } else if (columnType[i] === "'") {
        i++;
        break;
      } else if (columnType[i] === "\\" && i + 1 < columnType.length) {
        value += columnType[i + 1];
        i += 2;
      } else {
        value += columnType[i];
        i++;
      }
    }
    members.push(value);
  }
  return members;
}
