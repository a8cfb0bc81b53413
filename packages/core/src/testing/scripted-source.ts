import type { ChangeBatch, SnapshotChunk } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
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
}

/**
 * An in-memory source driven by the test: `append(transaction)` adds a
 * committed transaction to its log; positions are log indexes. For testing
 * the runtime and sinks without a database; connectors are tested against
 * real servers.
 */
export interface ScriptedSource extends Source {
  append(transaction: readonly UnpositionedEvent[]): void;
  /** The last position acknowledged. */
  readonly acknowledged: number;
}

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
  const log: ChangeEvent[][] = [];
  const waiters = new Set<() => void>();
  let acknowledged = 0;
  /** The schemas as of the end of the log: the last schema event of each table wins. */
  const currentSchemas = (): TableSchema[] => {
    const latest = new Map(options.schemas.map((schema) => [tableKey(schema.table), schema]));
    for (const event of log.flat()) if (event.op === "schema") latest.set(tableKey(event.table), event.schema);
    return [...latest.values()];
  };
  const materialize = (): Record<string, Row[]> => {
    const state = new Map<string, Map<string, Row>>();
    const keyOf = (table: string, row: Row) => {
      const schema = options.schemas.find((s) => tableKey(s.table) === table);
      return JSON.stringify((schema?.primaryKey ?? []).map((c) => String(row[c])));
    };
    for (const [table, rows] of Object.entries(options.initialRows ?? {})) state.set(table, new Map(rows.map((r) => [keyOf(table, r), r])));
    for (const event of log.flat()) {
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
    return Object.fromEntries([...state].map(([t, rows]) => [t, [...rows.values()]]));
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
      const position = snapshotOptions.resync ? String(log.length) : "0";
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
      return { position, schemas, chunks: chunks() };
    },
    async *stream(from, streamOptions): AsyncGenerator<ChangeBatch> {
      let next = indexCodec.parse(from);
      const signal = streamOptions.signal;
      while (!signal?.aborted) {
        if (next < log.length) {
          const transaction = log[next] ?? [];
          next += 1;
          yield { events: transaction, checkpoint: String(next), caughtUp: next === log.length };
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
      log.push(transaction.map((e) => ({ ...e, position }) as ChangeEvent));
      for (const wake of [...waiters]) wake();
    },
  };
  return source;
}
