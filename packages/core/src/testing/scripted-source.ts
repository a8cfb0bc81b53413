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
  const source: ScriptedSource = {
    kind: "scripted",
    capabilities: { beforeImage: "always", transactions: true, schemaChanges: true, truncate: true },
    positions: indexCodec as PositionCodec<unknown>,
    get acknowledged() {
      return acknowledged;
    },
    introspect: async () => options.schemas,
    preflight: async () => ({ component: "scripted source", checks: [] }),
    async snapshot() {
      // the snapshot shows the state at position 0, so streaming replays the whole log
      const position = "0";
      const chunkRows = options.chunkRows ?? 1000;
      async function* chunks(): AsyncGenerator<SnapshotChunk> {
        for (const schema of options.schemas) {
          const rows = options.initialRows?.[tableKey(schema.table)] ?? [];
          let chunk = 0;
          for (let i = 0; i < rows.length || (i === 0 && chunk === 0); i += chunkRows) {
            const part = rows.slice(i, i + chunkRows);
            yield { table: schema.table, schema, rows: part, chunk, last: i + chunkRows >= rows.length, rowsRead: i + part.length, rowsEstimated: rows.length };
            chunk += 1;
            if (rows.length === 0) break;
          }
        }
      }
      return { position, schemas: options.schemas, chunks: chunks() };
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
