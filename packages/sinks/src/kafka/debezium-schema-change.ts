import type { TableSchema } from "@zero-etl/core";

/**
 * A schema-change event in the shape of Debezium's schema change topic
 * (`databaseName`, `schemaName`, `ddl`, `tableChanges[]` with `type`, `id`
 * and the table's `primaryKeyColumnNames` and `columns`), plus a `zeroetl`
 * member holding the exact schema (logical types) and the renames. `ddl` is
 * empty: zero-etl carries schemas, not the source's DDL text.
 */
export function schemaChangeEvent(
  topicPrefix: string,
  schema: TableSchema,
  kind: "CREATE" | "ALTER",
  renamed: Readonly<Record<string, string>> | undefined,
  tsMs: number,
): string {
  const { namespace, name } = schema.table;
  return JSON.stringify({
    source: { version: "zero-etl", connector: "zero-etl", name: topicPrefix, ts_ms: tsMs, db: namespace, schema: namespace, table: name },
    ts_ms: tsMs,
    databaseName: namespace,
    schemaName: namespace,
    ddl: "",
    tableChanges: [
      {
        type: kind,
        id: `"${namespace}"."${name}"`,
        table: {
          primaryKeyColumnNames: schema.primaryKey,
          columns: schema.columns.map((c, i) => ({
            name: c.name,
            typeName: c.sourceType ?? c.type.kind,
            position: i + 1,
            optional: c.nullable,
          })),
        },
      },
    ],
    zeroetl: { schema, ...(renamed === undefined ? {} : { renamed }) },
  });
}

/** The key of a schema-change event: Debezium keys them by database name. */
export function schemaChangeKey(namespace: string): string {
  return JSON.stringify({ databaseName: namespace });
}
