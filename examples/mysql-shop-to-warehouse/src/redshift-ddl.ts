import type { TableSchema } from "@zero-etl/core";
import { diffSchemas, renderRedshiftDdl } from "@zero-etl/mappers";
import { compileCreateTable, planRedshiftColumns } from "@zero-etl/sinks/redshift";

/** The `CREATE TABLE` the Redshift sink runs for a source table (the sink's own compiler, no Redshift needed). */
export function redshiftCreateTable(schema: TableSchema, targetSchema: string): string {
  const columns = planRedshiftColumns(schema);
  const key = schema.primaryKey.map((name) => columns.find((c) => c.source === name)?.name ?? name);
  return compileCreateTable({ schema: targetSchema, table: schema.table.name }, columns, key, undefined);
}

/** The statements a schema change becomes on Redshift, and what Redshift cannot do in place. */
export function redshiftAlter(before: TableSchema, after: TableSchema, targetSchema: string): string[] {
  const { statements, refused } = renderRedshiftDdl({ namespace: targetSchema, name: after.table.name }, diffSchemas(before, after));
  return [...statements, ...refused.map((r) => `-- refused (needs a resync): ${r.reason}`)];
}
