import type pg from "pg";
import type { ColumnSchema, TableRef, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, freezeSchema, tableKey } from "@zero-etl/core";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { quoteIdent } from "./postgres-connection.js";
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

/** A stored generated column: its decoder and its generation expression (`pg_get_expr`, always IMMUTABLE). */
export interface PostgresGeneratedColumnInfo extends PostgresColumnInfo {
  readonly expression: string;
}

/** One selected table as read from pg_catalog. */
export interface PostgresTableInfo {
  readonly oid: number;
  readonly schema: TableSchema;
  /** The columns pgoutput sends and the snapshot reads (stored generated columns are in {@link generated}). */
  readonly columns: readonly PostgresColumnInfo[];
  /** Stored generated columns, in attribute order. */
  readonly generated: readonly PostgresGeneratedColumnInfo[];
  /** `d` default, `n` nothing, `f` full, `i` index. */
  readonly replicaIdentity: string;
  /** `r` table, `p` partitioned table (its partitions' rows read and published through it). */
  readonly kind: "r" | "p";
  /** Whether the table is a partition of another. */
  readonly partition: boolean;
  /** `p` permanent, `u` unlogged, `t` temporary: only permanent tables can be published. */
  readonly persistence: string;
  /**
   * The relations (the table itself, and every leaf partition of a
   * partitioned table) whose replica identity cannot identify a row, so that
   * publishing updates and deletes of them would make the application's
   * UPDATE and DELETE fail at the source. Empty when the table is safe.
   */
  readonly identityProblems: readonly IdentityProblem[];
  /** pg_class.reltuples, or undefined when never analyzed. */
  readonly rowsEstimated: number | undefined;
}

/** One relation whose replica identity cannot identify a row (see {@link PostgresTableInfo.identityProblems}). */
export interface IdentityProblem {
  /** `namespace.name`, for messages. */
  readonly key: string;
  /** The quoted, schema-qualified name, for DDL. */
  readonly sql: string;
  /** Whether the relation has a primary key (then `DEFAULT` identity fixes it, else `FULL`). */
  readonly hasPrimaryKey: boolean;
}

/**
 * How partitioned tables are selected: `root` (default) selects the
 * partitioned table and never its partitions, and the publication publishes
 * their changes as the root's (`publish_via_partition_root`); `leaves`
 * selects every partition as a table of its own and never the root.
 */
export type PartitionMode = "root" | "leaves";

/** Options of {@link introspectPostgres}. */
export interface IntrospectOptions {
  readonly includes: (ref: TableRef) => boolean;
  /** Tables that must exist (an explicit selection); a missing one is a `config-invalid` error. */
  readonly required?: readonly TableRef[];
  /** Restrict to these relation OIDs. */
  readonly oids?: readonly number[];
  readonly types: PgTypeCatalog;
  /** Default `root`. */
  readonly partitions?: PartitionMode;
}

interface TableRow {
  oid: number;
  nspname: string;
  relname: string;
  relreplident: string;
  relkind: "r" | "p";
  relpersistence: string;
  relispartition: boolean;
  reltuples: number;
  problems: { namespace: string; name: string; hasPrimaryKey: boolean }[];
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
 * order, types with OID, typmod and `format_type`, nullability, key and
 * replica identity. Stored generated columns, whose values pgoutput does not
 * send (before PostgreSQL 18) and the snapshot therefore does not read
 * either, are in the schema only, after the other columns, with their
 * expression in `type.native.generatedAs`, so that a PostgreSQL target
 * computes them itself. Parameterized queries only. Tables come sorted by
 * schema and name.
 *
 * The key (`TableSchema.primaryKey`) is the primary key, except when the
 * replica identity is a unique index (`REPLICA IDENTITY USING INDEX`): then
 * it is that index's columns, because those are what the stream sends to
 * identify the old row of an update or delete, so the target must be keyed
 * by them. Partitions are selected as {@link PartitionMode} says (unless
 * `oids` names them).
 */
export async function introspectPostgres(client: pg.ClientBase, options: IntrospectOptions): Promise<PostgresTableInfo[]> {
  const tables = await client.query<TableRow>({
    // identity problems: the relation itself and, for a partitioned table, each leaf partition whose
    // updates would fail once published (NOTHING, DEFAULT without a primary key, or an index since dropped)
    text: `SELECT c.oid::int8::float8 AS oid, n.nspname::text AS nspname, c.relname::text AS relname,
                  c.relreplident::text AS relreplident, c.relkind::text AS relkind, c.relpersistence::text AS relpersistence,
                  c.relispartition, c.reltuples::float8 AS reltuples,
                  (SELECT coalesce(json_agg(json_build_object(
                            'namespace', ln.nspname, 'name', l.relname,
                            'hasPrimaryKey', EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = l.oid AND i.indisprimary))
                          ORDER BY ln.nspname, l.relname), '[]'::json)
                     FROM pg_class l JOIN pg_namespace ln ON ln.oid = l.relnamespace
                    WHERE (l.oid = c.oid OR (c.relkind = 'p' AND l.oid IN (SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf)))
                      AND (l.relreplident = 'n'
                           OR (l.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = l.oid AND i.indisprimary))
                           OR (l.relreplident = 'i' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = l.oid AND i.indisreplident)))
                  ) AS problems
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
              AND ($1::oid[] IS NULL OR c.oid = ANY($1::oid[]))
            ORDER BY n.nspname, c.relname`,
    values: [options.oids === undefined ? null : [...options.oids]],
  });
  const leaves = options.partitions === "leaves";
  const selected = tables.rows.filter(
    (t) =>
      (options.oids !== undefined || (leaves ? t.relkind !== "p" : !t.relispartition)) && options.includes({ namespace: t.nspname, name: t.relname }),
  );
  for (const ref of options.required ?? []) {
    if (!selected.some((t) => t.nspname === ref.namespace && t.relname === ref.name)) {
      throw new ZeroEtlError(`selected table ${tableKey(ref)} does not exist`, { code: "config-invalid", table: tableKey(ref) });
    }
  }
  if (selected.length === 0) return [];
  const oids = selected.map((t) => t.oid);
  const [columns, keys, identities] = await Promise.all([
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
    client.query<{ indrelid: number; names: string[] }>({
      text: `SELECT i.indrelid::int8::float8 AS indrelid, array_agg(a.attname::text ORDER BY k.ord) AS names
               FROM pg_index i
               JOIN pg_class c ON c.oid = i.indrelid AND c.relreplident = 'i'
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indisreplident AND i.indrelid = ANY($1::oid[])
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
  // a replica identity index is the key the stream identifies rows by, so it keys the table
  for (const identity of identities.rows) keyByTable.set(identity.indrelid, identity.names);
  return selected.map((t) => {
    const infos: PostgresColumnInfo[] = [];
    const schemaColumns: ColumnSchema[] = [];
    const generatedColumns: ColumnSchema[] = [];
    const generatedInfos: PostgresGeneratedColumnInfo[] = [];
    for (const c of byTable.get(t.oid) ?? []) {
      const descriptor = options.types.get(c.atttypid) ?? { kind: "other", oid: c.atttypid, name: c.sqltype };
      if (c.generated !== null) {
        const type = pgLogicalType(descriptor, c.atttypmod);
        generatedColumns.push({ name: c.attname, type: { ...type, native: { dialect: "postgres", name: c.sqltype, generatedAs: c.generated } }, nullable: true, sourceType: c.sqltype });
        generatedInfos.push(
          Object.freeze({ name: c.attname, typeOid: c.atttypid, typeMod: c.atttypmod, sqlType: c.sqltype, descriptor, decode: createPgValueDecoder(descriptor), expression: c.generated }),
        );
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
      generated: Object.freeze(generatedInfos),
      replicaIdentity: t.relreplident,
      kind: t.relkind,
      partition: t.relispartition,
      persistence: t.relpersistence,
      identityProblems: Object.freeze(
        t.problems.map((p) => Object.freeze({ key: `${p.namespace}.${p.name}`, sql: `${quoteIdent(p.namespace)}.${quoteIdent(p.name)}`, hasPrimaryKey: p.hasPrimaryKey })),
      ),
      rowsEstimated: t.reltuples >= 0 ? t.reltuples : undefined,
    });
  });
}
