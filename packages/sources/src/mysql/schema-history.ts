import type { ColumnSchema, TableRef, TableSchema } from "@zero-etl/core";
import { formatLogicalType, freezeSchema, tableKey } from "@zero-etl/core";
import type { TableMap } from "./binlog-event-decoder.js";
import { toLogicalType } from "./mysql-column-type.js";

/** What {@link SchemaHistory.observe} found. */
export interface SchemaObservation {
  readonly schema: TableSchema;
  /** The schema in force before, when this TABLE_MAP changed it. */
  readonly previous?: TableSchema;
  /** True when the table's columns (names, types, nullability) or key differ from the schema in force. */
  readonly changed: boolean;
}

/**
 * The schema in force per table along the binlog, driven by TABLE_MAP
 * events: with `binlog_row_metadata=FULL` each TABLE_MAP carries the column
 * names, types and key as they were when the rows were written, so rows are
 * always decoded with their own schema, however far behind the reader is and
 * however many ALTERs followed. A change of the column list is reported once,
 * at the first TABLE_MAP that shows it.
 */
export class SchemaHistory {
  private readonly current = new Map<string, TableSchema>();
  private readonly byMap = new WeakMap<TableMap, SchemaObservation>();

  /** Starts from known schemas (e.g. introspected at stream start); tables not given are reported as changed at first sight. */
  constructor(initial: readonly TableSchema[] = []) {
    for (const schema of initial) this.current.set(tableKey(schema.table), schema);
  }

  /** The schema in force for a table, if known. */
  get(table: TableRef): TableSchema | undefined {
    return this.current.get(tableKey(table));
  }

  /** The schema a TABLE_MAP describes, and whether it differs from the one in force. Cheap for a TABLE_MAP seen before. */
  observe(map: TableMap): SchemaObservation {
    const cached = this.byMap.get(map);
    if (cached !== undefined && this.current.get(`${map.database}.${map.table}`) === cached.schema) return { schema: cached.schema, changed: false };
    const table: TableRef = { namespace: map.database, name: map.table };
    const key = tableKey(table);
    const previous = this.current.get(key);
    const columns: ColumnSchema[] = map.columns.map((c) => ({ name: c.name, type: toLogicalType(c), nullable: c.nullable }));
    const primaryKey = map.primaryKey.length > 0 ? map.primaryKey : (previous?.primaryKey.filter((k) => columns.some((c) => c.name === k)) ?? []);
    let observation: SchemaObservation;
    if (previous !== undefined && sameShape(previous, columns, primaryKey)) {
      observation = { schema: previous, changed: false };
    } else {
      const schema = freezeSchema({ table, columns, primaryKey: [...primaryKey], version: (previous?.version ?? 0) + 1 });
      this.current.set(key, schema);
      observation = previous === undefined ? { schema, changed: true } : { schema, previous, changed: true };
    }
    this.byMap.set(map, observation);
    return observation;
  }

  /** The tables with a schema in force. */
  tables(): TableRef[] {
    return [...this.current.values()].map((s) => s.table);
  }

  /** Forgets a dropped table, so a table re-created under the name is reported afresh. */
  forget(table: TableRef): void {
    this.current.delete(tableKey(table));
  }
}

function sameShape(schema: TableSchema, columns: readonly ColumnSchema[], primaryKey: readonly string[]): boolean {
  if (schema.columns.length !== columns.length || schema.primaryKey.join("\0") !== primaryKey.join("\0")) return false;
  for (let i = 0; i < columns.length; i++) {
    const a = schema.columns[i] as ColumnSchema;
    const b = columns[i] as ColumnSchema;
    if (a.name !== b.name || a.nullable !== b.nullable || formatLogicalType(a.type) !== formatLogicalType(b.type) || JSON.stringify(a.type) !== JSON.stringify(b.type)) return false;
  }
  return true;
}
