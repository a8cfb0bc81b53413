import type pg from "pg";
import type { ColumnSchema, TableRef, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, freezeSchema, tableKey } from "@zero-etl/core";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { createPgValueDecoder, pgLogicalType, type PgTypeDescriptor, type PgValueDecoder } from "./pg-value-decoder.js";

/** A column with what the decoders need besides its schema. */
export interface PostgresColumnInfo {
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
  /** `format_type(oid, typmod)`: the SQL spelling, safe to use in casts. */
  readonly sqlType: string;
  readonly descriptor: PgTypeDescriptor;
  readonly decode: PgValueDecoder;
}

/** One selected table as read from pg_catalog. */
export interface PostgresTableInfo {
  readonly oid: number;
  readonly schema: TableSchema;
  readonly columns: readonly PostgresColumnInfo[];
  /** `d` default, `n` nothing, `f` full, `i` index. */
  readonly replicaIdentity: string;
  /** pg_class.reltuples, or undefined when never analyzed. */
  readonly rowsEstimated: number | undefined;
}

/** Options of {@link introspectPostgres}. */
export interface IntrospectOptions {
  readonly includes: (ref: TableRef) => boolean;
  /** Tables that must exist (an explicit selection); a missing one is a `config-invalid` error. */
  readonly required?: readonly TableRef[];
  /** Restrict to these relation OIDs. */
  readonly oids?: readonly number[];
  readonly types: PgTypeCatalog;
}

interface TableRow {
  oid: number;
  nspname: string;
  relname: string;
  relreplident: string;
  reltuples: number;
}

interface ColumnRow {
  attrelid: number;
  attname: string;
  atttypid: number;
  atttypmod: number;
  attnotnull: boolean;
  sqltype: string;
  /** The expression of a stored generated column, null for other columns. */
  generated: string | null;
}

/**
 * Reads the selected tables' schemas from pg_catalog: columns in attribute
 * order, types with OID, typmod and `format_type`, nullability, primary key
 * and replica identity. Stored generated columns, whose values pgoutput does
 * not send (before PostgreSQL 18) and the snapshot therefore does not read
 * either, are in the schema only, after the other columns, with their
 * expression in `type.native.generatedAs`, so that a PostgreSQL target
 * computes them itself. Parameterized queries only. Tables come sorted by
 * schema and name.
 */
export async function introspectPostgres(client: pg.ClientBase, options: IntrospectOptions): Promise<PostgresTableInfo[]> {
  const tables = await client.query<TableRow>({
    text: `SELECT c.oid::int8::float8 AS oid, n.nspname::text AS nspname, c.relname::text AS relname,
                  c.relreplident::text AS relreplident, c.reltuples::float8 AS reltuples
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
              AND ($1::oid[] IS NULL OR c.oid = ANY($1::oid[]))
            ORDER BY n.nspname, c.relname`,
    values: [options.oids === undefined ? null : [...options.oids]],
  });
  const selected = tables.rows.filter((t) => options.includes({ namespace: t.nspname, name: t.relname }));
  for (const ref of options.required ?? []) {
    if (!selected.some((t) => t.nspname === ref.namespace && t.relname === ref.name)) {
      throw new ZeroEtlError(`selected table ${tableKey(ref)} does not exist`, { code: "config-invalid", table: tableKey(ref) });
    }
  }
  if (selected.length === 0) return [];
  const oids = selected.map((t) => t.oid);
  const [columns, keys] = await Promise.all([
    client.query<ColumnRow>({
      text: `SELECT a.attrelid::int8::float8 AS attrelid, a.attname::text AS attname, a.atttypid::int8::float8 AS atttypid,
                    a.atttypmod, a.attnotnull, format_type(a.atttypid, a.atttypmod) AS sqltype,
                    CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated
               FROM pg_attribute a
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attrelid, a.attnum`,
      values: [oids],
    }),
    client.query<{ indrelid: number; names: string[] }>({
      text: `SELECT i.indrelid::int8::float8 AS indrelid, array_agg(a.attname::text ORDER BY k.ord) AS names
               FROM pg_index i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indisprimary AND i.indrelid = ANY($1::oid[])
              GROUP BY i.indrelid`,
      values: [oids],
    }),
  ]);
  await options.types.resolve(
    client,
    columns.rows.map((c) => c.atttypid),
  );
  const byTable = new Map<number, ColumnRow[]>();
  for (const row of columns.rows) {
    const list = byTable.get(row.attrelid);
    if (list === undefined) byTable.set(row.attrelid, [row]);
    else list.push(row);
  }
  const keyByTable = new Map(keys.rows.map((k) => [k.indrelid, k.names]));
  return selected.map((t) => {
    const infos: PostgresColumnInfo[] = [];
    const schemaColumns: ColumnSchema[] = [];
    const generatedColumns: ColumnSchema[] = [];
    for (const c of byTable.get(t.oid) ?? []) {
      const descriptor = options.types.get(c.atttypid) ?? { kind: "other", oid: c.atttypid, name: c.sqltype };
      if (c.generated !== null) {
        const type = pgLogicalType(descriptor, c.atttypmod);
        generatedColumns.push({ name: c.attname, type: { ...type, native: { dialect: "postgres", name: c.sqltype, generatedAs: c.generated } }, nullable: true, sourceType: c.sqltype });
        continue;
      }
      infos.push(Object.freeze({ name: c.attname, typeOid: c.atttypid, typeMod: c.atttypmod, sqlType: c.sqltype, descriptor, decode: createPgValueDecoder(descriptor) }));
      schemaColumns.push({ name: c.attname, type: pgLogicalType(descriptor, c.atttypmod), nullable: !c.attnotnull, sourceType: c.sqltype });
    }
    const schema = freezeSchema({
      table: { namespace: t.nspname, name: t.relname },
      columns: [...schemaColumns, ...generatedColumns],
      primaryKey: keyByTable.get(t.oid) ?? [],
      version: 1,
    });
    return Object.freeze({
      oid: t.oid,
      schema,
      columns: Object.freeze(infos),
      replicaIdentity: t.relreplident,
      rowsEstimated: t.reltuples >= 0 ? t.reltuples : undefined,
    });
  });
}
