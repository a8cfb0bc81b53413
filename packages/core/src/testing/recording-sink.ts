import type { ChangeBatch, SnapshotChunk } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
import type { PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { TableRef, TableSchema } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import type { Row, Value } from "../schema/value.js";
import type { Sink, SinkCapabilities, WriteReceipt } from "../sink/sink.js";

/** Options of {@link createRecordingSink}. */
export interface RecordingSinkOptions {
  readonly capabilities?: Partial<SinkCapabilities>;
}

/**
 * An in-memory sink that applies changes by primary key exactly as a
 * warehouse would, and records every call. `flush` is the only point at
 * which accepted changes become visible in `rows()`; everything accepted and
 * not flushed is lost by `crash()`, like a real target after a kill.
 */
export interface RecordingSink extends Sink {
  /** Durable rows of a target table (`namespace.name`), keyed by the primary-key tuple. */
  rows(table: string): readonly Row[];
  /** Durable schema of a target table. */
  schema(table: string): TableSchema | undefined;
  /** Every event accepted, in order, including not yet flushed ones. */
  readonly events: readonly ChangeEvent[];
  /** Checkpoints passed to successful flushes, in order. */
  readonly flushed: readonly PipelineCheckpoint[];
  /** Target tables dropped (`namespace.name`), in order. */
  readonly dropped: readonly string[];
  /** Column renames applied by `prepare` (`namespace.name`, new name -> old name), in order; replays that changed nothing are left out. */
  readonly renames: readonly { readonly table: string; readonly renamed: Readonly<Record<string, string>> }[];
  /** Whether a target table exists (was prepared and not dropped since). */
  hasTable(table: string): boolean;
  /** Drops accepted-but-unflushed changes, as a crash would. */
  crash(): void;
}

type Op =
  | { readonly kind: "event"; readonly event: ChangeEvent }
  | { readonly kind: "reset"; readonly table: string }
  | { readonly kind: "drop"; readonly table: string }
  | { readonly kind: "rows"; readonly table: string; readonly rows: readonly Row[] };

/** Creates a {@link RecordingSink}. */
export function createRecordingSink(options: RecordingSinkOptions = {}): RecordingSink {
  const capabilities: SinkCapabilities = {
    nestedData: "native",
    maxIdentifierLength: 255,
    upsert: true,
    transactionalDdl: true,
    checkpointsInTarget: false,
    keylessTables: false,
    renames: true,
    ...options.capabilities,
  };
  const durable = new Map<string, Map<string, Row>>();
  const schemas = new Map<string, TableSchema>();
  const events: ChangeEvent[] = [];
  const flushed: PipelineCheckpoint[] = [];
  const dropped: string[] = [];
  const renames: { table: string; renamed: Readonly<Record<string, string>> }[] = [];
  let pending: Op[] = [];
  const stored = new Map<string, PipelineCheckpoint>();

  const keyOf = (table: string, row: Row): string => {
    const schema = schemas.get(table);
    const columns = schema?.primaryKey.length ? schema.primaryKey : Object.keys(row).sort();
    return JSON.stringify(columns.map((c) => stable(row[c] ?? null)));
  };
  const tableOf = (table: string) => {
    let rows = durable.get(table);
    if (rows === undefined) durable.set(table, (rows = new Map()));
    return rows;
  };
  const apply = (op: Op) => {
    if (op.kind === "reset") {
      durable.get(op.table)?.clear();
      return;
    }
    if (op.kind === "drop") {
      durable.delete(op.table);
      schemas.delete(op.table);
      dropped.push(op.table);
      return;
    }
    if (op.kind === "rows") {
      const rows = tableOf(op.table);
      for (const row of op.rows) rows.set(keyOf(op.table, row), row);
      return;
    }
    const event = op.event;
    const table = tableKey(event.table);
    const rows = tableOf(table);
    switch (event.op) {
      case "insert":
        rows.set(keyOf(table, event.after), event.after);
        break;
      case "update": {
        const oldKey = keyOf(table, event.key);
        const previous = rows.get(oldKey);
        const merged: Record<string, Value> = { ...event.after };
        for (const column of event.unchanged ?? []) merged[column] = previous?.[column] ?? null;
        rows.delete(oldKey);
        rows.set(keyOf(table, merged), merged);
        break;
      }
      case "delete":
        if (event.match === "columns") {
          for (const [key, row] of rows) if (Object.entries(event.key).every(([c, v]) => stable(row[c] ?? null) === stable(v))) rows.delete(key);
        } else rows.delete(keyOf(table, event.key));
        break;
      case "truncate":
        rows.clear();
        break;
      case "schema":
        break;
    }
  };

  return {
    kind: "recording",
    capabilities,
    events,
    flushed,
    dropped,
    renames,
    hasTable: (table) => schemas.has(table),
    preflight: async () => ({ component: "recording sink", checks: [] }),
    open: async (context) => (capabilities.checkpointsInTarget ? stored.get(context.pipeline) : undefined),
    async prepare(schema, change) {
      const table = tableKey(schema.table);
      // a rename is DDL, durable at once like a drop; rows that no longer hold the old column (a replay) are left as they are
      const applied: Record<string, string> = {};
      const rows = durable.get(table);
      for (const [to, from] of Object.entries(change?.renamed ?? {})) {
        for (const [key, row] of rows ?? []) {
          if (!Object.hasOwn(row, from) || (row[to] !== undefined && row[to] !== null)) continue;
          const { [from]: value, ...rest } = row;
          rows?.set(key, { ...rest, [to]: value ?? null });
          applied[to] = from;
        }
      }
      if (Object.keys(applied).length > 0) renames.push({ table, renamed: applied });
      schemas.set(table, schema);
    },
    async resetTable(table: TableRef) {
      pending.push({ kind: "reset", table: tableKey(table) });
    },
    async dropTable(table: TableRef) {
      // the runtime drops with nothing pending; a drop is DDL, durable at once
      apply({ kind: "drop", table: tableKey(table) });
    },
    async writeSnapshot(chunk: SnapshotChunk): Promise<WriteReceipt> {
      pending.push({ kind: "rows", table: tableKey(chunk.table), rows: chunk.rows });
      return { accepted: chunk.rows.length, rejected: [] };
    },
    async write(batch: ChangeBatch): Promise<WriteReceipt> {
      for (const event of batch.events) {
        events.push(event);
        pending.push({ kind: "event", event });
      }
      return { accepted: batch.events.length, rejected: [] };
    },
    async flush(checkpoint) {
      for (const op of pending) apply(op);
      pending = [];
      stored.set(checkpoint.pipeline, checkpoint);
      flushed.push(checkpoint);
    },
    close: async () => {},
    rows: (table) => [...(durable.get(table)?.values() ?? [])],
    schema: (table) => schemas.get(table),
    crash() {
      pending = [];
    },
  };
}

function stable(value: Value): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  return value;
}
