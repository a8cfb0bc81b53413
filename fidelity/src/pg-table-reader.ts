import type pg from "pg";
import { canonicalValue, type CanonicalRow, type ColumnInfo, type TableRows, type ValueKind } from "./table-rows.js";

/** A column as PostgreSQL's catalog describes it (domains resolved to their base type). */
export interface PgColumn {
  readonly name: string;
  /** `format_type` of the column's declared type. */
  readonly type: string;
  /** `typname` of the base type (the element type's name is not needed: arrays have category `A`). */
  readonly base: string;
  /** `typcategory` of the base type. */
  readonly category: string;
}

/** The session settings both sides are read with: UTC, ISO dates, ISO-8601 intervals, shortest float text. */
export const PG_READ_SESSION = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1;`;

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Ordinary and partitioned tables of a schema, except the sink's own `_zeroetl_*` tables, by name. */
export async function listPgTables(client: pg.ClientBase, schema: string): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname NOT LIKE '\\_zeroetl\\_%' ORDER BY 1`,
    [schema],
  );
  return r.rows.map((row) => row.name);
}

/** Columns (in order) and primary-key columns of a table, or undefined when it does not exist. */
export async function describePgTable(client: pg.ClientBase, schema: string, table: string): Promise<{ columns: PgColumn[]; key: string[] } | undefined> {
  const cols = await client.query<PgColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            coalesce(b.typname, t.typname) AS base, coalesce(b.typcategory, t.typcategory) AS category
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type b ON b.oid = t.typbasetype AND t.typtype = 'd'
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  if (cols.rows.length === 0) return undefined;
  const key = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary ORDER BY k.ord`,
    [schema, table],
  );
  return { columns: cols.rows, key: key.rows.map((r) => r.name) };
}

/** The comparison kind of a PostgreSQL source column; `json` stays exact text when `jsonExact`. */
export function pgKind(column: PgColumn, jsonExact: boolean): ValueKind {
  // arrays and composites compare as their JSON (`to_jsonb`) on both sides
  if (column.category === "A" || column.category === "C") return "json";
  switch (column.base) {
    case "int2":
    case "int4":
    case "int8":
    case "oid":
      return "int";
    case "numeric":
    case "money":
      return "decimal";
    case "float4":
    case "float8":
      return "float";
    case "bool":
      return "bool";
    case "bytea":
      return "bytes";
    case "date":
      return "date";
    case "time":
      return "time";
    case "timetz":
      return "timetz";
    case "timestamp":
      return "timestamp";
    case "timestamptz":
      return "timestamptz";
    case "interval":
      return "interval";
    case "uuid":
      return "uuid";
    case "json":
      return jsonExact ? "json-text" : "json";
    case "jsonb":
    case "hstore":
      return "json";
    default:
      return "text";
  }
}

/**
 * The SQL that reads a column for comparison as `kind`, given the type it
 * has on this side (the target may have mapped it to another type: an
 * array to jsonb, MySQL TIME to interval).
 */
export function pgReadExpression(column: PgColumn, kind: ValueKind): string {
  const c = q(column.name);
  switch (kind) {
    case "json":
      return `to_jsonb(${c})::text`;
    case "float":
      return column.category === "N" ? `${c}::float8::text` : `${c}::text`;
    case "bytes":
      return column.base === "bytea" ? `encode(${c}, 'hex')` : `${c}::text`;
    case "duration":
      return column.base === "time" || column.base === "interval" ? `(extract(epoch FROM ${c}) * 1000000)::numeric(40, 0)::text` : `${c}::text`;
    case "text":
      // format() keeps char(n) padding (a ::text cast trims it) but turns NULL into ''
      return `CASE WHEN ${c} IS NULL THEN NULL ELSE format('%s', ${c}) END`;
    default:
      return `${c}::text`;
  }
}

/**
 * Reads a whole table with the given comparison kinds (matched by column
 * name; a wanted column missing here is left out of the rows, and listed by
 * the caller). Values come back canonical.
 */
export async function readPgRows(
  client: pg.ClientBase,
  schema: string,
  table: string,
  wanted: readonly { readonly name: string; readonly kind: ValueKind }[],
): Promise<{ present: ColumnInfo[]; rows: CanonicalRow[] } | undefined> {
  const described = await describePgTable(client, schema, table);
  if (described === undefined) return undefined;
  const byName = new Map(described.columns.map((c) => [c.name, c]));
  const present: ColumnInfo[] = [];
  const exprs: string[] = [];
  for (const w of wanted) {
    const col = byName.get(w.name);
    if (col === undefined) continue;
    present.push({ name: w.name, kind: w.kind, type: col.type });
    exprs.push(`${pgReadExpression(col, w.kind)} AS ${q(w.name)}`);
  }
  if (exprs.length === 0) exprs.push("1 AS _nothing");
  const r = await client.query<Record<string, string | null>>(`SELECT ${exprs.join(", ")} FROM ${q(schema)}.${q(table)}`);
  const rows = r.rows.map((row) => {
    const out: Record<string, string | null> = {};
    for (const p of present) out[p.name] = canonicalValue(p.kind, row[p.name] ?? null);
    return out;
  });
  return { present, rows };
}

/** Reads a PostgreSQL source table in full, kinds from its own column types. */
export async function readPgSourceTable(client: pg.ClientBase, schema: string, table: string, jsonExact: boolean): Promise<TableRows | undefined> {
  const described = await describePgTable(client, schema, table);
  if (described === undefined) return undefined;
  const wanted = described.columns.map((c) => ({ name: c.name, kind: pgKind(c, jsonExact) }));
  const read = await readPgRows(client, schema, table, wanted);
  if (read === undefined) return undefined;
  return { columns: read.present, key: described.key, rows: read.rows };
}
