import type { TableRef } from "@zero-etl/core";
import { toPostgresType } from "../type-mapping/to-postgres-type.js";
import { quoteIdentifier } from "./quote-identifier.js";
import type { SchemaChange } from "./schema-change.js";

/**
 * PostgreSQL statements for schema changes, in order, every identifier
 * quoted. New columns are added nullable (existing rows have no value for
 * them); a `set-nullable` change carries the source's constraint. Widenings
 * use `ALTER COLUMN ... TYPE ... USING col::type`, other type changes cast
 * through text (`col::text::type`), so a value the new type cannot parse
 * fails the statement instead of changing silently. The primary key is
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
        // through text, because PostgreSQL has no direct cast between many pairs (date -> real);
        // values that do not parse make the statement fail rather than change silently
        const using = change.kind === "widen-type" ? `${column}::${type}` : `${column}::text::${type}`;
        statements.push(`${alter} ALTER COLUMN ${column} TYPE ${type} USING ${using}`);
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
