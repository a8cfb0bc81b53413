import type { TableRef } from "@zero-etl/core";
import { toRedshiftType } from "../type-mapping/to-redshift-type.js";
import { quoteIdentifier } from "./quote-identifier.js";
import type { RefusedChange, SchemaChange } from "./schema-change.js";

/** Redshift statements and the changes Redshift cannot express. */
export interface RedshiftDdl {
  readonly statements: readonly string[];
  /** Changes that need a resync (or a variant column) on Redshift. */
  readonly refused: readonly RefusedChange[];
}

const VARCHAR = /^VARCHAR\((\d+)\)$/;

/**
 * Redshift statements for schema changes, every identifier quoted, within
 * Redshift's limits: one column per `ALTER TABLE`; the only type change is
 * growing a VARCHAR (`ALTER COLUMN ... TYPE VARCHAR(n)`, at most 65535
 * bytes); nullability and primary keys cannot be altered; nested types are
 * SUPER, decimals at most NUMERIC(38). Anything else is returned in `refused`.
 */
export function renderRedshiftDdl(table: TableRef, changes: readonly SchemaChange[]): RedshiftDdl {
  const alter = `ALTER TABLE ${quoteIdentifier(table.namespace)}.${quoteIdentifier(table.name)}`;
  const statements: string[] = [];
  const refused: RefusedChange[] = [];
  for (const change of changes) {
    switch (change.kind) {
      case "add-column":
        statements.push(`${alter} ADD COLUMN ${quoteIdentifier(change.column.name)} ${toRedshiftType(change.column.type).type}`);
        break;
      case "drop-column":
        statements.push(`${alter} DROP COLUMN ${quoteIdentifier(change.column.name)}`);
        break;
      case "rename-column":
        statements.push(`${alter} RENAME COLUMN ${quoteIdentifier(change.from)} TO ${quoteIdentifier(change.to)}`);
        break;
      case "widen-type":
      case "change-type": {
        const from = toRedshiftType(change.from).type;
        const to = toRedshiftType(change.to).type;
        if (from === to) break;
        const a = VARCHAR.exec(from);
        const b = VARCHAR.exec(to);
        if (change.kind === "widen-type" && a !== null && b !== null && Number(b[1]) > Number(a[1])) {
          statements.push(`${alter} ALTER COLUMN ${quoteIdentifier(change.column)} TYPE ${to}`);
        } else refused.push({ change, reason: `Redshift can only grow a VARCHAR in place, not change ${from} to ${to}` });
        break;
      }
      case "set-nullable":
        refused.push({ change, reason: "Redshift cannot change a column's nullability" });
        break;
      case "change-primary-key":
        refused.push({ change, reason: "Redshift cannot change a table's primary key in place" });
        break;
      default:
        break;
    }
  }
  return { statements, refused };
}
