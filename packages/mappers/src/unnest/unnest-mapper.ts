import type {
  ChangeEvent,
  DeleteEvent,
  Mapper,
  MapperContext,
  Row,
  SnapshotChunk,
  TableSchema,
  UpdateEvent,
  Value,
} from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { FlatTable, PendingChildRow } from "./table-unnester.js";
import { LIST_INDEX_COLUMN, PARENT_ID_COLUMN } from "./child-row-id.js";
import { TableUnnester, leafKindOf } from "./table-unnester.js";
import type { ResolvedUnnestOptions, UnnestOptions } from "./unnest-options.js";
import { resolveUnnestOptions } from "./unnest-options.js";

/** Options of {@link createUnnestMapper}. */
export interface UnnestMapperOptions extends UnnestOptions {
  /**
   * Sample rows per source table (`namespace.name`), observed before the
   * first schema is returned, so that `mapSchema` already lists the columns
   * the sample has. Without a sample a JSON column starts with no flattened
   * columns and they appear, through `schema` events, as rows show them.
   */
  readonly sample?: Readonly<Record<string, readonly Row[]>> | undefined;
}

type EventBase = Pick<ChangeEvent, "position" | "commitTime" | "transactionId">;

function baseOf(event: ChangeEvent): EventBase {
  const base: { position: string; commitTime?: number; transactionId?: string } = { position: event.position };
  if (event.commitTime !== undefined) base.commitTime = event.commitTime;
  if (event.transactionId !== undefined) base.transactionId = event.transactionId;
  return base;
}

/**
 * A {@link Mapper} that unnests JSON and struct columns (see
 * {@link unnestDocument} for the flattening rules) for every table it sees.
 *
 * Schema growth: a path seen for the first time adds a nullable column, and a
 * value that does not fit a column's type widens it (bool/int -> decimal ->
 * string, structure mixed with scalars -> json). `mapEvents` emits a
 * `schema` event for each target table whose schema grew, right before the
 * first row that needs it; `mapChunk` returns chunks whose `schema` already
 * holds every column of the chunk (rows flattened before a column appeared
 * get it as null; a chunk that widened a type is flattened again, so that
 * all its rows agree with the final schema).
 *
 * CDC with child tables (`lists: "child-tables"`), parent row first:
 * - insert: the root row, then one insert per element.
 * - update with the JSON column in `before`: the old and new children are
 *   compared by key (root key + parent id + index): deletes for old elements
 *   beyond the new lists, updates for kept positions, inserts for new ones.
 * - update or delete without a before-image of the column: one delete per
 *   child table whose `key` holds only the root primary-key columns, marked
 *   `match: "columns"` ("delete every row matching these columns"); then the new
 *   elements as inserts.
 * - a JSON column listed in `unchanged` (unchanged TOAST) leaves its
 *   flattened columns (added to `unchanged`) and its child tables alone.
 * - truncate truncates the child tables too.
 * Tables whose schema the mapper has not seen (through `mapSchema`,
 * `mapChunk` or a `schema` event) pass through untouched. The mapper keeps
 * per-table state (the columns seen so far); it never mutates its input.
 *
 * Restarts and type changes: once the sink has prepared a root table, the
 * mapper reads its columns from `context.targetSchema` (when the runtime
 * offers it), so columns created before a restart are known: rows set them
 * to null when their image lacks the path, and a path writes into its old
 * column in that column's kind. A value narrower than its column's target
 * type is written in the wider kind (no schema change); a wider one widens
 * the column in place, or, where `context.sink.typeWidening` is
 * `promotions` (Iceberg), moves the path to a variant column
 * `<column>__v_<kind>` (the old column keeps earlier rows' values).
 */
export function createUnnestMapper(options: UnnestMapperOptions): Mapper {
  const base = resolveUnnestOptions(options);
  const states = new Map<string, TableUnnester>();
  let resolved: ResolvedUnnestOptions | undefined;

  const resolve = (context: MapperContext): ResolvedUnnestOptions => {
    if (resolved === undefined) {
      const limit = Math.min(options.maxIdentifierLength ?? Number.POSITIVE_INFINITY, context.sink.maxIdentifierLength);
      resolved = { ...base, maxIdentifierLength: Math.max(16, Number.isFinite(limit) ? limit : base.maxIdentifierLength) };
    }
    return resolved;
  };

  /** Learns the target's columns once the sink has them (after the table's first `prepare`). */
  const seed = (state: TableUnnester, context: MapperContext): void => {
    const lookup = context.targetSchema;
    if (lookup === undefined) {
      state.seeded = true;
      return;
    }
    const target = lookup(state.root.ref);
    if (target !== undefined) state.seed(target);
  };

  const ensure = (schema: TableSchema, context: MapperContext): TableUnnester => {
    const key = tableKey(schema.table);
    const known = states.get(key);
    if (known !== undefined && (known.source === schema || known.source.version === schema.version)) return known;
    const state = new TableUnnester(schema, resolve(context), known);
    state.variants = context.sink.typeWidening === "promotions";
    // a target that alters a column to JSON keeps each scalar's type (false, 2, "s") where types mix
    state.mixedScalarsAsJson = !state.variants;
    const lookup = context.targetSchema;
    if (lookup !== undefined) {
      const ref = state.root.ref;
      state.targetKind = (column) => {
        const found = lookup(ref)?.columns.find((c) => c.name === column);
        return found === undefined ? undefined : leafKindOf(found.type);
      };
    }
    const sample = options.sample?.[key];
    if (sample !== undefined) {
      for (const row of sample) state.flatten(row, []);
      state.collapseMixed();
    }
    states.set(key, state);
    return state;
  };

  const emitSchemaChanges = (state: TableUnnester, event: ChangeEvent, out: ChangeEvent[], pending: readonly PendingChildRow[]): void => {
    const changed = state.changedTables();
    if (changed.length === 0) return;
    for (const p of pending) state.completeRow(p.table, p.row);
    for (const table of changed) {
      const previous = table.lastSchema;
      const schema = state.schemaOf(table);
      out.push({ op: "schema", table: table.ref, ...baseOf(event), schema, ...(previous === undefined ? {} : { previous }) });
    }
  };

  const childTablesOf = (state: TableUnnester, column: string): FlatTable[] => state.tables.filter((t) => t !== state.root && t.column === column);

  const childKey = (state: TableUnnester, row: Readonly<Record<string, Value>>): Row => {
    const key: Record<string, Value> = {};
    for (const column of state.keyColumns) key[column.name] = row[column.name] ?? null;
    key[PARENT_ID_COLUMN] = row[PARENT_ID_COLUMN] ?? null;
    key[LIST_INDEX_COLUMN] = row[LIST_INDEX_COLUMN] ?? null;
    return key;
  };

  const rootKey = (state: TableUnnester, key: Row): Row => {
    const out: Record<string, Value> = {};
    for (const column of state.keyColumns) out[column.name] = key[column.name] ?? null;
    return out;
  };

  /** Child events of one unnested column for an update or delete of its root row. */
  const replaceChildren = (args: {
    state: TableUnnester;
    event: UpdateEvent | DeleteEvent;
    column: string;
    oldRows: readonly PendingChildRow[] | undefined;
    newRows: readonly PendingChildRow[];
    out: ChangeEvent[];
  }): void => {
    const { state, event, column, oldRows, newRows, out } = args;
    const base = baseOf(event);
    if (oldRows === undefined) {
      const partial = rootKey(state, event.key);
      for (const table of childTablesOf(state, column)) out.push({ op: "delete", table: table.ref, ...base, key: partial, match: "columns" });
      for (const p of newRows) if (p.table.column === column) out.push({ op: "insert", table: p.table.ref, ...base, after: p.row });
      return;
    }
    // the parent id already derives from the root key, so it identifies the root too
    const identity = (p: PendingChildRow): string => `${p.table.ref.name}\u0000${String(p.row[PARENT_ID_COLUMN])}\u0000${String(p.row[LIST_INDEX_COLUMN])}`;
    const olds = new Map<string, PendingChildRow>();
    for (const p of oldRows) if (p.table.column === column) olds.set(identity(p), p);
    for (const p of newRows) {
      if (p.table.column !== column) continue;
      const id = identity(p);
      const old = olds.get(id);
      if (old === undefined) out.push({ op: "insert", table: p.table.ref, ...base, after: p.row });
      else {
        olds.delete(id);
        out.push({ op: "update", table: p.table.ref, ...base, key: childKey(state, old.row), before: old.row, after: p.row });
      }
    }
    for (const old of olds.values()) out.push({ op: "delete", table: old.table.ref, ...base, key: childKey(state, old.row), before: old.row });
  };

  const unchangedColumns = (state: TableUnnester, after: Row, unchanged: readonly string[] | undefined): string[] | undefined => {
    if (unchanged === undefined || unchanged.length === 0) {
      let allPresent = true;
      for (const unnested of state.unnested) if (after[unnested.name] === undefined) allPresent = false;
      if (allPresent) return undefined;
    }
    let out: string[] | undefined;
    const skipped = new Set(unchanged ?? []);
    for (const unnested of state.unnested) {
      if (after[unnested.name] !== undefined) continue;
      skipped.add(unnested.name);
    }
    if (skipped.size === 0) return undefined;
    for (const name of skipped) {
      const unnested = state.unnested.find((u) => u.name === name);
      out ??= [];
      if (unnested === undefined) out.push(name);
      else for (const node of unnested.nodes) if (node.column !== undefined) out.push(node.column);
    }
    return out;
  };

  const mapEvent = (state: TableUnnester, event: ChangeEvent, out: ChangeEvent[]): TableUnnester => {
    const childTables = state.options.lists === "child-tables";
    switch (event.op) {
      case "schema": {
        const key = tableKey(event.table);
        const next = new TableUnnester(event.schema, state.options, state);
        states.set(key, next);
        const previous = state.root.lastSchema;
        const schema = next.schemaOf(next.root);
        out.push({ ...event, schema, ...(previous === undefined ? {} : { previous }) });
        for (const table of next.changedTables()) out.push({ op: "schema", table: table.ref, ...baseOf(event), schema: next.schemaOf(table) });
        return next;
      }
      case "truncate":
        out.push(event);
        for (const table of state.tables) if (table !== state.root) out.push({ op: "truncate", table: table.ref, ...baseOf(event) });
        return state;
      case "insert": {
        const pending: PendingChildRow[] = [];
        const widenings = state.widenings;
        let after = state.flatten(event.after, childTables ? pending : undefined);
        if (state.widenings !== widenings) {
          pending.length = 0;
          after = state.flatten(event.after, childTables ? pending : undefined);
        }
        emitSchemaChanges(state, event, out, pending);
        out.push({ ...event, after });
        for (const p of pending) out.push({ op: "insert", table: p.table.ref, ...baseOf(event), after: p.row });
        return state;
      }
      case "update": {
        const pending: PendingChildRow[] = [];
        const oldPending: PendingChildRow[] = [];
        const flattenBoth = (): [Record<string, Value>, Record<string, Value> | undefined] => [
          state.flatten(event.after, childTables ? pending : undefined),
          event.before === undefined ? undefined : state.flatten(event.before, childTables ? oldPending : undefined),
        ];
        const widenings = state.widenings;
        let [after, before] = flattenBoth();
        if (state.widenings !== widenings) {
          pending.length = 0;
          oldPending.length = 0;
          [after, before] = flattenBoth();
        }
        emitSchemaChanges(state, event, out, [...pending, ...oldPending]);
        const unchanged = unchangedColumns(state, event.after, event.unchanged);
        const { unchanged: _drop, before: _before, ...rest } = event;
        out.push({ ...rest, after, ...(before === undefined ? {} : { before }), ...(unchanged === undefined ? {} : { unchanged }) });
        if (childTables) {
          for (const unnested of state.unnested) {
            if (event.after[unnested.name] === undefined) continue;
            const known = event.before !== undefined && event.before[unnested.name] !== undefined;
            replaceChildren({ state, event, column: unnested.name, oldRows: known ? oldPending : undefined, newRows: pending, out });
          }
        }
        return state;
      }
      case "delete": {
        const oldPending: PendingChildRow[] = [];
        const widenings = state.widenings;
        let before = event.before === undefined ? undefined : state.flatten(event.before, childTables ? oldPending : undefined);
        if (state.widenings !== widenings && event.before !== undefined) {
          oldPending.length = 0;
          before = state.flatten(event.before, childTables ? oldPending : undefined);
        }
        emitSchemaChanges(state, event, out, oldPending);
        const { before: _before, ...rest } = event;
        out.push({ ...rest, ...(before === undefined ? {} : { before }) });
        if (childTables) {
          for (const unnested of state.unnested) {
            const known = event.before !== undefined && event.before[unnested.name] !== undefined;
            replaceChildren({ state, event, column: unnested.name, oldRows: known ? oldPending : undefined, newRows: [], out });
          }
        }
        return state;
      }
    }
  };

  return {
    name: "unnest",
    // a resync re-reads the table into a replaced target table: its columns are learned again from there
    resetTable(table) {
      states.delete(tableKey(table));
    },
    mapSchema(schema, context) {
      if (base.mode === "none") return [schema];
      return ensure(schema, context).schemas();
    },
    mapEvents(events, context) {
      if (base.mode === "none") return events;
      const out: ChangeEvent[] = [];
      for (const event of events) {
        const state = states.get(tableKey(event.table));
        if (state !== undefined && !state.seeded) seed(state, context);
        if (state !== undefined) mapEvent(state, event, out);
        else if (event.op === "schema") {
          // a table first met through a schema event (created at the source while streaming)
          const created = ensure(event.schema, context);
          for (const schema of created.schemas()) out.push(schema.table === event.schema.table ? { ...event, schema } : { op: "schema", table: schema.table, ...baseOf(event), schema });
        } else out.push(event);
      }
      return out;
    },
    mapChunk(chunk, context) {
      if (base.mode === "none") return [chunk];
      const state = ensure(chunk.schema, context);
      if (!state.seeded) seed(state, context);
      state.schemas();
      const childTables = state.options.lists === "child-tables";
      const run = (): Map<FlatTable, Record<string, Value>[]> => {
        const rows = new Map<FlatTable, Record<string, Value>[]>();
        const rootRows: Record<string, Value>[] = new Array(chunk.rows.length);
        rows.set(state.root, rootRows);
        const pending: PendingChildRow[] | undefined = childTables ? [] : undefined;
        for (let i = 0; i < chunk.rows.length; i++) rootRows[i] = state.flatten(chunk.rows[i] as Row, pending);
        if (pending !== undefined) {
          for (const p of pending) {
            let list = rows.get(p.table);
            if (list === undefined) rows.set(p.table, (list = []));
            list.push(p.row);
          }
        }
        return rows;
      };
      const widenings = state.widenings;
      let rows = run();
      if (state.widenings !== widenings) {
        // rows flattened before a widening hold the old representation: flatten the chunk again
        state.schemas();
        rows = run();
      } else if (state.changedTables().length > 0) {
        // only new columns: rows flattened before they appeared just lack them
        for (const [table, list] of rows) for (const row of list) state.completeRow(table, row);
      }
      return state.tables.map((table): SnapshotChunk => {
        const tableRows = rows.get(table) ?? [];
        if (table === state.root) return { ...chunk, schema: state.schemaOf(table), rows: tableRows };
        table.rowsRead += tableRows.length;
        return { table: table.ref, schema: state.schemaOf(table), rows: tableRows, chunk: chunk.chunk, last: chunk.last, rowsRead: table.rowsRead };
      });
    },
  };
}
