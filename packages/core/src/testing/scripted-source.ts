import type { ChangeBatch, SnapshotChunk } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
import type { TableChange } from "../change/table-change.js";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { PositionCodec } from "../position/position-codec.js";
import type { TableSchema } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import type { Row } from "../schema/value.js";
import type { Source } from "../source/source.js";

/** A change event before the source gives it a position. */
export type UnpositionedEvent = ChangeEvent extends infer E ? (E extends ChangeEvent ? Omit<E, "position"> : never) : never;

/** Options of {@link createScriptedSource}. */
export interface ScriptedSourceOptions {
  readonly schemas: readonly TableSchema[];
  /** Rows present at position 0, before the log's first transaction; the snapshot reads these. */
  readonly initialRows?: Readonly<Record<string, readonly Row[]>>;
  /** Rows per snapshot chunk. */
  readonly chunkRows?: number;
  /**
   * Whether a resync snapshot declares its position exact
   * (`SnapshotSession.exact`): it is then the position after the log's last
   * entry, since the snapshot holds every entry before it. Default false.
   */
  readonly exactResync?: boolean;
}

/**
 * An in-memory source driven by the test: `append(transaction)` adds a
 * committed transaction to its log; positions are log indexes. For testing
 * the runtime and sinks without a database; connectors are tested against
 * real servers.
 */
export interface ScriptedSource extends Source {
  append(transaction: readonly UnpositionedEvent[]): void;
  /**
   * Appends a table-level change as its own log entry. A refresh may give the
   * table's schema and rows as they are at the source from then on (a table
   * created, re-created or rewritten); a drop removes the table.
   */
  appendTableChange(change: ScriptedTableChange): void;
  /** The last position acknowledged. */
  readonly acknowledged: number;
}

/** A table change for {@link ScriptedSource.appendTableChange}. */
export type ScriptedTableChange =
  | (Omit<Extract<TableChange, { kind: "refresh" }>, "position"> & { readonly schema?: TableSchema; readonly rows?: readonly Row[] })
  | Omit<Extract<TableChange, { kind: "dropped" }>, "position">;

/** One committed entry of the log: a transaction, or a table change. */
type LogEntry = { readonly events: readonly ChangeEvent[]; readonly tableChange?: TableChange; readonly schema?: TableSchema; readonly rows?: readonly Row[] };

const indexCodec: PositionCodec<number> = {
  parse: (s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new ZeroEtlError(`not a scripted position: ${s}`, { code: "position-invalid" });
    return n;
  },
  serialize: (p) => String(p),
  compare: (a, b) => a - b,
};

/** Creates a {@link ScriptedSource}. */
export function createScriptedSource(options: ScriptedSourceOptions): ScriptedSource {
  const log: LogEntry[] = [];
  const waiters = new Set<() => void>();
  let acknowledged = 0;
  /** The schemas as of the end of the log: the last schema event of each table wins. */
  const currentSchemas = (): TableSchema[] => {
    const latest = new Map(options.schemas.map((schema) => [tableKey(schema.table), schema]));
    for (const entry of log) {
      for (const event of entry.events) if (event.op === "schema") latest.set(tableKey(event.table), event.schema);
      const change = entry.tableChange;
      if (change?.kind === "dropped") latest.delete(tableKey(change.table));
      if (change?.kind === "refresh" && entry.schema !== undefined) latest.set(tableKey(change.table), entry.schema);
    }
    return [...latest.values()];
  };
  const materialize = (): Record<string, Row[]> => {
    const state = new Map<string, Map<string, Row>>();
    const schemas = currentSchemas();
    const keyOf = (table: string, row: Row) => {
      const schema = schemas.find((s) => tableKey(s.table) === table) ?? options.schemas.find((s) => tableKey(s.table) === table);
      return JSON.stringify((schema?.primaryKey ?? []).map((c) => String(row[c])));
    };
    for (const [table, rows] of Object.entries(options.initialRows ?? {})) state.set(table, new Map(rows.map((r) => [keyOf(table, r), r])));
    for (const entry of log) {
      const change = entry.tableChange;
      if (change !== undefined) {
        const table = tableKey(change.table);
        if (change.kind === "dropped") state.delete(table);
        else if (entry.rows !== undefined) state.set(table, new Map(entry.rows.map((r) => [keyOf(table, r), r])));
        continue;
      }
      for (const event of entry.events) {
        const table = tableKey(event.table);
        const rows = state.get(table) ?? new Map<string, Row>();
        state.set(table, rows);
        if (event.op === "insert") rows.set(keyOf(table, event.after), event.after);
        else if (event.op === "update") {
          rows.delete(keyOf(table, event.key));
          rows.set(keyOf(table, event.after), event.after);
        } else if (event.op === "delete") rows.delete(keyOf(table, event.key));
        else if (event.op === "truncate") rows.clear();
      }
    }
    const present = new Set(schemas.map((schema) => tableKey(schema.table)));
    return Object.fromEntries([...state].filter(([t]) => present.has(t)).map(([t, rows]) => [t, [...rows.values()]]));
  };
  const source: ScriptedSource = {
    kind: "scripted",
    capabilities: { beforeImage: "always", transactions: true, schemaChanges: true, truncate: true },
    positions: indexCodec as PositionCodec<unknown>,
    get acknowledged() {
      return acknowledged;
    },
    introspect: async () => currentSchemas(),
    preflight: async () => ({ component: "scripted source", checks: [] }),
    async snapshot(snapshotOptions) {
      // a first snapshot shows the state at position 0, so streaming replays
      // the whole log; a resync reads the current state, as a database would
      const exact = snapshotOptions.resync === true && options.exactResync === true;
      const position = snapshotOptions.resync ? String(exact ? log.length + 1 : log.length) : "0";
      const current = snapshotOptions.resync ? materialize() : options.initialRows ?? {};
      const wanted = snapshotOptions.tables?.map(tableKey);
      const schemas = (snapshotOptions.resync ? currentSchemas() : options.schemas).filter((s) => wanted === undefined || wanted.includes(tableKey(s.table)));
      const chunkRows = options.chunkRows ?? 1000;
      async function* chunks(): AsyncGenerator<SnapshotChunk> {
        for (const schema of schemas) {
          const rows = current[tableKey(schema.table)] ?? [];
          let chunk = 0;
          for (let i = 0; i < rows.length || (i === 0 && chunk === 0); i += chunkRows) {
            const part = rows.slice(i, i + chunkRows);
            yield { table: schema.table, schema, rows: part, chunk, last: i + chunkRows >= rows.length, rowsRead: i + part.length, rowsEstimated: rows.length };
            chunk += 1;
            if (rows.length === 0) break;
          }
        }
      }
      return { position, schemas, chunks: chunks(), ...(exact ? { exact } : {}) };
    },
    async *stream(from, streamOptions): AsyncGenerator<ChangeBatch> {
      let next = indexCodec.parse(from);
      const signal = streamOptions.signal;
      while (!signal?.aborted) {
        if (next < log.length) {
          const entry = log[next];
          next += 1;
          yield {
            events: entry?.events ?? [],
            checkpoint: String(next),
            caughtUp: next === log.length,
            ...(entry?.tableChange === undefined ? {} : { tableChanges: [entry.tableChange] }),
          };
          continue;
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            signal?.removeEventListener("abort", wake);
            resolve();
          };
          waiters.add(wake);
          signal?.addEventListener("abort", wake, { once: true });
        });
      }
    },
    async acknowledge(checkpoint) {
      const n = indexCodec.parse(checkpoint);
      if (n < acknowledged) throw new ZeroEtlError(`acknowledge went backwards: ${n} < ${acknowledged}`, { code: "position-regressed" });
      acknowledged = n;
    },
    currentPosition: async () => String(log.length),
    close: async () => {},
    append(transaction) {
      const position = String(log.length + 1);
      log.push({ events: transaction.map((e) => ({ ...e, position }) as ChangeEvent) });
      for (const wake of [...waiters]) wake();
    },
    appendTableChange(change) {
      const position = String(log.length + 1);
      if (change.kind === "dropped") log.push({ events: [], tableChange: { ...change, position } });
      else {
        const { schema, rows, ...refresh } = change;
        log.push({ events: [], tableChange: { ...refresh, position }, ...(schema === undefined ? {} : { schema }), ...(rows === undefined ? {} : { rows }) });
      }
      for (const wake of [...waiters]) wake();
    },
  };
  return source;
}
