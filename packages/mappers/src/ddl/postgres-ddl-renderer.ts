import type { TableRef } from "@zero-etl/core";
import { toPostgresType } from "../type-mapping/to-postgres-type.js";
import { quoteIdentifier } from "./quote-identifier.js";
import type { SchemaChange } from "./schema-change.js";

/**
 * PostgreSQL statements for schema changes, in order, every identifier
 * quoted. New columns are added nullable (existing rows have no value for
 * them); a `set-nullable` change carries the source's constraint. Type
 * changes use `ALTER COLUMN ... TYPE ... USING col::type`. The primary key is
 * replaced through the default `<table>_pkey` constraint. Reorders and
 * source-type annotations render nothing (PostgreSQL cannot reorder).
 */
export function renderPostgresDdl(table: TableRef, changes: readonly SchemaChange[]): readonly string[] {
  const target = `${quoteIdentifier(table.namespace)}.${quoteIdentifier(table.name)}`;
  const alter = `ALTER TABLE ${target}`;
  const statements: string[] = [];
  for (const change of changes) {
    switch (change.kind) {
      case "add-column":
        statements.push(`${alter} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(change.column.name)} ${toPostgresType(change.column.type).type}`);
        break;
      case "drop-column":
        statements.push(`${alter} DROP COLUMN IF EXISTS ${quoteIdentifier(change.column.name)}`);
        break;
      case "rename-column":
        statements.push(`${alter} RENAME COLUMN ${quoteIdentifier(change.from)} TO ${quoteIdentifier(change.to)}`);
        break;
      case "widen-type":
      case "change-type": {
        const type = toPostgresType(change.to).type;
        const column = quoteIdentifier(change.column);
        statements.push(`${alter} ALTER COLUMN ${column} TYPE ${type} USING ${column}::${type}`);
        break;
      }
      case "set-nullable":
        statements.push(`${alter} ALTER COLUMN ${quoteIdentifier(change.column)} ${change.nullable ? "DROP NOT NULL" : "SET NOT NULL"}`);
        break;
      case "change-primary-key":
        statements.push(`${alter} DROP CONSTRAINT IF EXISTS ${quoteIdentifier(`${table.name}_pkey`)}`);
        if (change.to.length > 0) statements.push(`${alter} ADD PRIMARY KEY (${change.to.map(quoteIdentifier).join(", ")})`);
        break;
      default:
        break;
    }
  }
  return statements;
}
