import type { ColumnSchema, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, freezeSchema, tableKey } from "@zero-etl/core";
import type { SchemaChange } from "./schema-change.js";

/** Options of {@link applySchemaChanges}. */
export interface ApplySchemaChangesOptions {
  /** The version of the result. Default: the old version + 1 when anything changed. */
  readonly version?: number | undefined;
}

/**
 * Replays changes on a schema and returns the new (frozen) schema; the
 * input is not modified. `applySchemaChanges(a, diffSchemas(a, b))` has the
 * columns, order and primary key of `b`. A change naming a column the schema
 * does not have throws a {@link ZeroEtlError} (`schema-refused`).
 */
export function applySchemaChanges(schema: TableSchema, changes: readonly SchemaChange[], options: ApplySchemaChangesOptions = {}): TableSchema {
  let columns: ColumnSchema[] = [...schema.columns];
  let primaryKey: readonly string[] = schema.primaryKey;
  const table = tableKey(schema.table);
  const index = (name: string): number => {
    const i = columns.findIndex((c) => c.name === name);
    if (i < 0) throw new ZeroEtlError(`schema change names unknown column ${name} of ${table}`, { code: "schema-refused", table });
    return i;
  };
  const update = (name: string, patch: (c: ColumnSchema) => ColumnSchema): void => {
    const i = index(name);
    columns[i] = patch(columns[i] as ColumnSchema);
  };
  for (const change of changes) {
    switch (change.kind) {
      case "add-column":
        if (columns.some((c) => c.name === change.column.name)) {
          throw new ZeroEtlError(`column ${change.column.name} of ${table} already exists`, { code: "schema-refused", table });
        }
        columns.push(change.column);
        break;
      case "drop-column":
        columns.splice(index(change.column.name), 1);
        primaryKey = primaryKey.filter((n) => n !== change.column.name);
        break;
      case "rename-column":
        update(change.from, (c) => ({ ...c, name: change.to }));
        primaryKey = primaryKey.map((n) => (n === change.from ? change.to : n));
        break;
      case "widen-type":
      case "change-type":
        update(change.column, (c) => ({ ...c, type: change.to }));
        break;
      case "set-nullable":
        update(change.column, (c) => ({ ...c, nullable: change.nullable }));
        break;
      case "set-source-type":
        update(change.column, (c) => {
          const { sourceType: _old, ...rest } = c;
          return change.sourceType === undefined ? rest : { ...rest, sourceType: change.sourceType };
        });
        break;
      case "change-primary-key":
        primaryKey = [...change.to];
        break;
      case "reorder-columns": {
        const byName = new Map(columns.map((c) => [c.name, c]));
        const ordered = change.order.flatMap((n) => {
          const c = byName.get(n);
          byName.delete(n);
          return c === undefined ? [] : [c];
        });
        columns = [...ordered, ...byName.values()];
        break;
      }
    }
  }
  const version = options.version ?? (changes.length > 0 ? schema.version + 1 : schema.version);
  return freezeSchema({ table: schema.table, columns: columns.map((c) => ({ ...c })), primaryKey: [...primaryKey], version });
}
