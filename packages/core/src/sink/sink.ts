import type { ChangeBatch, SnapshotChunk } from "../change/change-batch.js";
import type { ChangeEvent } from "../change/change-event.js";
import type { PreflightOptions, PreflightReport } from "../preflight/preflight-report.js";
import type { TableRef, TableSchema } from "../schema/table-schema.js";
import type { PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { BatchPolicy } from "../runtime/batch-policy.js";
import type { SnapshotCopy, SnapshotCopyColumn } from "../change/snapshot-copy.js";

/** What a sink can take, as data; mappers and the runtime read it, never the class. */
export interface SinkCapabilities {
  /** How nested values land: as native nested types, as a JSON/SUPER column, or not at all (must be unnested). */
  readonly nestedData: "native" | "json" | "none";
  /** Longest identifier the target accepts, in bytes. */
  readonly maxIdentifierLength: number;
  /** Whether rows are applied idempotently by primary key (upsert/delete by key). */
  readonly upsert: boolean;
  /** Whether DDL runs inside the data transaction. */
  readonly transactionalDdl: boolean;
  /** Whether the sink stores the pipeline checkpoint in the target in the same commit as the data. */
  readonly checkpointsInTarget: boolean;
  /** Whether a table without a primary key can be replicated. */
  readonly keylessTables: boolean;
  /**
   * How often this kind of target should be flushed unless the user says
   * otherwise: a warehouse transaction is cheap, an Iceberg commit makes files
   * and a snapshot. Overrides the runtime's defaults; the pipeline's own
   * `batch` option overrides this.
   */
  readonly defaultBatch?: Partial<BatchPolicy>;
  /**
   * Which type changes of an existing column the sink applies in place:
   * `lossless` (absent means this) any change that keeps every value, such as
   * PostgreSQL's bigint -> numeric -> text; `promotions` only the format's own
   * promotions (Iceberg: int -> long, float -> double, wider decimal
   * precision). Mappers that widen inferred types (unnest) send values a
   * `promotions` target cannot widen into to a variant column instead.
   */
  readonly typeWidening?: "lossless" | "promotions";
  /**
   * Whether `prepare` honours `change.renamed` (renames columns in place).
   * Absent or false: the runtime re-reads a table whose columns the source
   * renamed, as for any change the stream cannot carry.
   */
  readonly renames?: boolean;
  /**
   * `computed`: the sink computes a source's stored generated columns itself
   * (it recreates them as generated columns, `native.generatedAs`), so their
   * values need not be sent. Absent: the source sends their values where it
   * can (the PostgreSQL source evaluates their expressions for the stream,
   * whose log does not carry them).
   */
  readonly generatedColumns?: "computed";
}

/** What changed at the source besides the schema itself, for {@link Sink.prepare}. */
export interface PrepareChange {
  /** New column name -> old column name, for columns renamed at the source. */
  readonly renamed?: Readonly<Record<string, string>>;
}

/** Options of {@link Sink.copySnapshot}. */
export interface SnapshotCopyOptions {
  readonly progress?: (rows: number) => void;
  readonly signal?: AbortSignal;
  /** The source's estimate of the table's rows, when it has one (a sink may load a small table differently). */
  readonly rowsEstimated?: number;
}

/** A record the sink refused, with the reason; it goes to the dead-letter queue. */
export interface RejectedRecord {
  readonly event: ChangeEvent;
  readonly reason: string;
}

/**
 * What a `flush` could not make durable although `write` accepted it: records
 * that turned out unwritable only at commit (an Iceberg row whose unchanged
 * TOAST value is nowhere in the table, so a required column would be null).
 * The runtime dead-letters them before it saves the checkpoint.
 */
export interface FlushReceipt {
  readonly rejected: readonly RejectedRecord[];
}

/** A batch a sink prepared with `Sink.prepareWrite`, not accepted yet. */
export interface PreparedWrite {
  /**
   * Accepts the batch, as `Sink.write(batch)` would have at this moment.
   * May be called again after it failed (the runtime's retry).
   */
  write(): Promise<WriteReceipt>;
}

/** What `write` accepted. Accepted is not durable: only `flush` makes it so. */
export interface WriteReceipt {
  readonly accepted: number;
  readonly rejected: readonly RejectedRecord[];
}

/** What a target holds for one table now, for `zeroetl status` ({@link Sink.describeTargets}). */
export interface SinkTargetStats {
  /** The table, as `namespace.name`. */
  readonly table: string;
  /** The target object readers use (an index, an alias, a table), as named in the target. */
  readonly target: string;
  /** Rows or documents the target reports now; undefined when the target object does not exist. */
  readonly rows: number | undefined;
}

/** Context handed to a sink when it opens. */
export interface SinkOpenContext {
  /** The pipeline's name; sinks key their state (state tables, checkpoints) by it. */
  readonly pipeline: string;
  readonly signal?: AbortSignal;
}

/**
 * A target. Calls arrive one at a time, in this order: `open`, then any mix
 * of `prepare` (before the first rows of a table and again on each schema
 * change), `resetTable`, `writeSnapshot`, `write` and `flush`, then `close`.
 *
 * Delivery is at least once: after a crash the runtime replays from the last
 * checkpoint, so `writeSnapshot` and `write` must be idempotent by primary
 * key (replaying an event must leave the target as one application did).
 */
export interface Sink {
  readonly kind: string;
  readonly capabilities: SinkCapabilities;

  preflight(options: PreflightOptions): Promise<PreflightReport>;

  /**
   * Connects and returns the checkpoint the target holds for this pipeline
   * when the sink keeps checkpoints in the target (`checkpointsInTarget`), so
   * that the target's own record wins over a local file after a crash.
   */
  open(context: SinkOpenContext): Promise<PipelineCheckpoint | undefined>;

  /**
   * Optional. Takes the pipeline's exclusive writer lock in the target, so
   * that two runs of one pipeline (or a run and a resync) never write to it
   * together; called before `open`, held until `close`. Throws a
   * `pipeline-locked` {@link ZeroEtlError} (not retryable) when another
   * process holds it. A sink whose connection, and with it the lock, is lost
   * takes the lock again before it writes anything more, and fails with
   * `pipeline-locked` if another run took it meanwhile.
   */
  lock?(context: SinkOpenContext): Promise<void>;

  /**
   * Optional. The schema a target table has in the target as the sink last
   * saw it (after `prepare`), in logical types, including columns the
   * prepared schemas no longer list; undefined before the table's `prepare`
   * or when it does not exist. Synchronous and without I/O.
   */
  targetSchema?(table: TableRef): TableSchema | undefined;

  /**
   * Creates the table or brings it to `schema` (adding columns, widening
   * types). Idempotent.
   *
   * `change.renamed` maps new column names to old ones, for columns the
   * source renamed (`SchemaChangeEvent.renamed`, restricted by the runtime to
   * new names that are columns of `schema`): the sink renames each column in
   * place before evolving to `schema`, so that the rows it holds keep their
   * values under the new name. Applying it again after the rename (a replay,
   * where the old column is gone and the new one exists) must change
   * nothing. A sink that cannot rename may instead add the new column and
   * copy the old one's values into it, or refuse (a `schema-refused` error,
   * which sets the table aside for a resync); it must never leave the new
   * column empty beside the old one.
   */
  prepare(schema: TableSchema, change?: PrepareChange): Promise<void>;

  /** Removes every row of a table before it is (re)snapshotted. */
  resetTable(table: TableRef): Promise<void>;

  /**
   * Optional. Drops the target table and creates it anew from `schema`, for a
   * resync of a table whose schema change `prepare` refused. Called with no
   * changes pending, right before `resetTable` and the table's snapshot rows.
   * Sinks without it resync by `prepare`, which may refuse again.
   */
  replaceTable?(schema: TableSchema): Promise<void>;

  /**
   * Optional. Removes a target table whose source table is gone (dropped or
   * renamed away at the source). Called with no changes pending; idempotent
   * (a table already absent is not an error). Sinks without it leave the
   * table in place, no longer updated.
   */
  dropTable?(table: TableRef): Promise<void>;

  /**
   * Optional. What the target holds for each of `tables` (its name there and
   * its row or document count as the target reports it now), for
   * `zeroetl status`. Read-only; called without `open`.
   */
  describeTargets?(tables: readonly TableRef[]): Promise<readonly SinkTargetStats[]>;

  /** Accepts snapshot rows (applied as upserts). Durable only after `flush`. */
  writeSnapshot(chunk: SnapshotChunk): Promise<WriteReceipt>;
  /**
   * Optional, with `copySnapshot`. Whether `copySnapshot` can load a table's
   * rows from COPY streams of these source columns as they are (every column
   * lands in a target column of the same type). Called after the table's
   * `prepare`; synchronous, without I/O.
   */
  acceptsCopy?(schema: TableSchema, columns: readonly SnapshotCopyColumn[]): boolean;
  /**
   * Optional. Loads a whole table of an initial snapshot from COPY streams
   * (`SnapshotChunk.copy`, only for tables `acceptsCopy` accepted) into its
   * target table, which `resetTable` emptied and a `flush` made empty for
   * good before the call. Unlike `writeSnapshot` the rows are durable when
   * it returns, committed on the sink's own extra connections, part by part:
   * a crash before the snapshot's last `flush` leaves some of them behind,
   * which the next run's `resetTable` removes (the snapshot is taken again).
   * `options.progress` is called with the rows loaded so far as parts
   * finish; `options.signal` stops the load. Resolves to the number of rows
   * loaded; throws after stopping every part when one fails (nothing of the
   * failed part is committed).
   */
  copySnapshot?(schema: TableSchema, copy: SnapshotCopy, options?: SnapshotCopyOptions): Promise<number>;

  /** Accepts changes in source order. Durable only after `flush`. */
  write(batch: ChangeBatch): Promise<WriteReceipt>;

  /**
   * Optional: the CPU-only first half of `write(batch)` (the PostgreSQL sink
   * folds the events by key), done now so that the runtime can prepare the
   * next batch while the target still applies the previous one. No I/O and
   * no change of the sink's state; nothing is accepted until the returned
   * {@link PreparedWrite.write} is called. The runtime calls those in source
   * order, each once the previous write returned, and never lets a
   * `prepare`, `replaceTable`, `dropTable` or `resetTable` come between a
   * batch's preparation and its write (a `flush` may: what was prepared does
   * not depend on the open transaction). A prepared batch may be dropped
   * unwritten (the run failed meanwhile and replays it).
   */
  prepareWrite?(batch: ChangeBatch): PreparedWrite;

  /**
   * Makes everything accepted so far durable, together with `checkpoint`
   * when the sink keeps checkpoints in the target. When it returns, a crash
   * loses nothing accepted before the call. When it throws, nothing of the
   * flush is durable and everything accepted since the last successful flush
   * is discarded (the runtime replays it from the last checkpoint); an error
   * caused by one table's changes names it in `ZeroEtlError.table`, so the
   * runtime can set that table aside and let the others go on. A sink that
   * can only tell at commit that an accepted record cannot be written leaves
   * it out, commits the rest, and returns it in a {@link FlushReceipt} (the
   * runtime dead-letters it); returning nothing means none.
   */
  flush(checkpoint: PipelineCheckpoint): Promise<FlushReceipt | void>;

  close(): Promise<void>;
}
