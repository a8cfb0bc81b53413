import type { ChangeEvent, Mapper, Row, TableRef } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { RowPredicate } from "./row-filter-compiler.js";
import { compileRowFilter } from "./row-filter-compiler.js";
import type { TableFilter } from "./table-filter.js";

/** Options of {@link createFilterMapper}. */
export interface FilterMapperOptions {
  /** Which tables pass, from {@link parseTableFilter}. Absent: every table. */
  readonly tables?: TableFilter | undefined;
  /** Row filters by table (`namespace.name`, as `tableKey` writes it), in the row-filter language. */
  readonly rows?: Readonly<Record<string, string>> | undefined;
}

/**
 * A {@link Mapper} that drops tables and rows.
 *
 * Tables that the table filter rejects vanish: `mapSchema` returns `[]`,
 * their events and chunks are dropped. Rows are kept when the table's row
 * filter is true (NULL/unknown drops). Updates follow the row across the filter
 * boundary, so the target holds exactly the rows that pass:
 * - before and after pass: the update is kept;
 * - only after passes: it becomes an insert of `after` (the row enters);
 * - only before passes: it becomes a delete by `key` (the row leaves);
 * - neither passes: dropped;
 * - no before-image: kept as an update when after passes (sinks upsert by
 *   key), otherwise turned into a delete by key (deleting a row the target
 *   does not have is harmless).
 * Columns missing from `after` (unchanged TOAST) are read from `before`.
 * Without a before-image such an update may bring a row into the target
 * with columns missing, which would land as NULL: the source must send
 * those values for row-filtered tables (the PostgreSQL source's
 * `fetchUnchangedFor`, which the CLI sets for every table with a row filter).
 * Deletes are dropped only when the before-image is known and fails the
 * filter. The row filters' columns are checked against each table's schema
 * in `mapSchema` (unknown column: {@link ConfigError}), except for a schema
 * without columns (the placeholder of a table gone from the source).
 */
export function createFilterMapper(options: FilterMapperOptions): Mapper {
  const predicates = new Map<string, RowPredicate>();
  for (const [table, expression] of Object.entries(options.rows ?? {})) {
    predicates.set(table, compileRowFilter(expression, { path: `filter.rows[${JSON.stringify(table)}]` }));
  }
  const tables = options.tables;
  const selected = (ref: TableRef): boolean => tables === undefined || tables.matchesTable(ref);

  const mapEvent = (event: ChangeEvent, out: ChangeEvent[]): void => {
    if (!selected(event.table)) return;
    const predicate = predicates.get(tableKey(event.table));
    if (predicate === undefined) {
      out.push(event);
      return;
    }
    switch (event.op) {
      case "insert":
        if (predicate(event.after)) out.push(event);
        return;
      case "update": {
        const merged: Row = event.before === undefined ? event.after : { ...event.before, ...event.after };
        const enters = predicate(merged);
        if (event.before === undefined) {
          if (enters) out.push(event);
          else out.push({ op: "delete", table: event.table, position: event.position, key: event.key, ...meta(event) });
          return;
        }
        const was = predicate(event.before);
        if (was && enters) out.push(event);
        else if (enters) out.push({ op: "insert", table: event.table, position: event.position, after: merged, ...meta(event) });
        else if (was) out.push({ op: "delete", table: event.table, position: event.position, key: event.key, before: event.before, ...meta(event) });
        return;
      }
      case "delete":
        if (event.before === undefined || predicate(event.before)) out.push(event);
        return;
      default:
        out.push(event);
    }
  };

  return {
    name: "filter",
    mapSchema(schema) {
      if (!selected(schema.table)) return [];
      const key = tableKey(schema.table);
      const expression = options.rows?.[key];
      // a schema without columns is the runtime's placeholder for a table whose shape it no longer knows
      // (dropped, renamed or moved away while stopped): it only names the target table to drop, so there is nothing to check
      if (expression !== undefined && schema.columns.length > 0) {
        compileRowFilter(expression, { path: `filter.rows[${JSON.stringify(key)}]`, columns: schema.columns.map((c) => c.name) });
      }
      return [schema];
    },
    mapEvents(events) {
      const out: ChangeEvent[] = [];
      for (const event of events) mapEvent(event, out);
      return out;
    },
    passesRowsThrough(schema) {
      return selected(schema.table) && !predicates.has(tableKey(schema.table));
    },
    mapChunk(chunk) {
      if (!selected(chunk.table)) return [];
      const predicate = predicates.get(tableKey(chunk.table));
      if (predicate === undefined) return [chunk];
      return [{ ...chunk, rows: chunk.rows.filter((row) => predicate(row)) }];
    },
  };
}

function meta(event: ChangeEvent): { commitTime?: number; transactionId?: string } {
  const out: { commitTime?: number; transactionId?: string } = {};
  if (event.commitTime !== undefined) out.commitTime = event.commitTime;
  if (event.transactionId !== undefined) out.transactionId = event.transactionId;
  return out;
}
