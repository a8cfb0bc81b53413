import type { Connection } from "mysql2/promise";
import { canonicalFloat, hexOf } from "./canonical-value.js";
import { canonicalValue, type CanonicalRow, type TableRows, type ValueKind } from "./table-rows.js";

const q = (name: string) => `\`${name.replace(/`/g, "``")}\``;

/** Base tables of the connection's database, by name, but the pipeline's own marker table (incremental snapshots), which is never replicated. */
export async function listMysqlTables(conn: Connection, database: string): Promise<string[]> {
  const [rows] = await conn.query(
    `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> '_zeroetl_watermarks' ORDER BY 1`,
    [database],
  );
  return (rows as { name: string }[]).map((r) => r.name);
}

/** The comparison kind of a MySQL/MariaDB column (`json` for MariaDB's JSON alias, recognised by its json_valid check). */
export function mysqlKind(dataType: string, isJson: boolean): ValueKind {
  if (isJson) return "json";
  switch (dataType) {
    case "tinyint":
    case "smallint":
    case "mediumint":
    case "int":
    case "bigint":
    case "year":
      return "int";
    case "decimal":
      return "decimal";
    case "float":
    case "double":
      return "float";
    case "binary":
    case "varbinary":
    case "tinyblob":
    case "blob":
    case "mediumblob":
    case "longblob":
    case "bit":
      return "bytes";
    case "date":
      return "date";
    case "datetime":
      return "timestamp";
    case "timestamp":
      return "timestamptz";
    case "time":
      return "duration";
    case "json":
      return "json";
    default:
      return "text";
  }
}

/**
 * Reads a MariaDB/MySQL table in full over the binary protocol (so DOUBLE
 * arrives as its exact 8 bytes; FLOAT is selected `CAST(… AS DOUBLE)`,
 * temporals as `CAST(… AS CHAR)` in a UTC session). The key is the primary
 * key, else the first UNIQUE key on NOT NULL columns, else none.
 */
export async function readMysqlTable(conn: Connection, database: string, table: string): Promise<TableRows | undefined> {
  const [cols] = await conn.query(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [database, table],
  );
  const columns = cols as { name: string; dataType: string; columnType: string }[];
  if (columns.length === 0) return undefined;
  const [checks] = await conn.query(`SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, [database, table]);
  const jsonColumns = new Set((checks as { clause: string }[]).flatMap((c) => /json_valid\(`([^`]+)`\)/i.exec(c.clause)?.[1] ?? []));
  const [indexes] = await conn.query(
    `SELECT s.INDEX_NAME AS indexName, s.COLUMN_NAME AS name, s.NON_UNIQUE AS nonUnique, c.IS_NULLABLE AS nullable
       FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c
         ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
      WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX`,
    [database, table],
  );
  const byIndex = new Map<string, { cols: string[]; ok: boolean }>();
  for (const ix of indexes as { indexName: string; name: string; nonUnique: number | string; nullable: string }[]) {
    const entry = byIndex.get(ix.indexName) ?? { cols: [], ok: true };
    entry.cols.push(ix.name);
    if (Number(ix.nonUnique) !== 0 || ix.nullable === "YES") entry.ok = false;
    byIndex.set(ix.indexName, entry);
  }
  const key = [...byIndex.values()].find((e) => e.ok)?.cols ?? [];
  const info = columns.map((c) => ({ name: c.name, kind: mysqlKind(c.dataType, jsonColumns.has(c.name)), type: c.columnType, dataType: c.dataType }));
  const exprs = info.map((c) => {
    if (c.dataType === "float") return `CAST(${q(c.name)} AS DOUBLE) AS ${q(c.name)}`;
    if (["date", "datetime", "timestamp", "time"].includes(c.dataType)) return `CAST(${q(c.name)} AS CHAR) AS ${q(c.name)}`;
    return q(c.name);
  });
  const [rows] = await conn.execute(`SELECT ${exprs.join(", ")} FROM ${q(table)}`);
  const out: CanonicalRow[] = (rows as Record<string, unknown>[]).map((row) => {
    const r: Record<string, string | null> = {};
    for (const c of info) {
      const v = row[c.name];
      if (v === null || v === undefined) r[c.name] = null;
      else if (c.kind === "float") r[c.name] = canonicalFloat(typeof v === "number" ? v : String(v));
      else if (v instanceof Uint8Array) r[c.name] = c.kind === "bytes" ? hexOf(v) : canonicalValue(c.kind, Buffer.from(v).toString("utf8"));
      else r[c.name] = canonicalValue(c.kind, String(v));
    }
    return r;
  });
  return { columns: info.map(({ name, kind, type }) => ({ name, kind, type })), key, rows: out };
}
