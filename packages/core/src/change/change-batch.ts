import type { TableRef, TableSchema } from "../schema/table-schema.js";
import type { Row } from "../schema/value.js";
import type { ChangeEvent } from "./change-event.js";
import type { TableChange } from "./table-change.js";
import type { RejectedRecord } from "../sink/sink.js";
import type { SnapshotCopy } from "./snapshot-copy.js";
import type { StreamMarker } from "../source/incremental-snapshot-source.js";

/**
 * Changes in source order, delivered by {@link Source.stream}.
 *
 * `checkpoint` is the serialized source position from which the stream can
 * be resumed once this batch and every batch before it are durable in the
 * sink. A source sets it at a transaction boundary it has fully delivered;
 * when a batch ends inside a transaction it repeats the previous checkpoint,
 * so a restart replays the transaction (harmless, since sinks apply
 * idempotently). `undefined` means "nothing new to checkpoint".
 */
export interface ChangeBatch {
  readonly events: readonly ChangeEvent[];
  readonly checkpoint?: string;
  /**
   * The source's newest known commit time (ms since epoch), for lag: the
   * runtime reports `now - sourceTime` of the last applied event, or 0 when
   * the source says it is caught up (`caughtUp`).
   */
  readonly caughtUp?: boolean;
  /**
   * What happened to whole tables that the source could not express as row
   * events (a table created, re-created, rewritten, renamed or moved), in
   * source order, after every event of `events`. A source ends a batch right
   * after a table change, so nothing of the batch comes later than it.
   */
  readonly tableChanges?: readonly TableChange[];
  /**
   * Records the source read but could not decode (say, an attribute of a type
   * the decoder does not know), each with the reason. They are not applied:
   * the runtime writes them to the dead-letter queue (table, operation, key,
   * position, reason) and goes on. Each `event` carries the record's key
   * (`key`, or the key columns in `after`) and its position, nothing else.
   */
  readonly rejected?: readonly RejectedRecord[];
  /**
   * Markers written with `IncrementalSnapshotSource.emitMarker` (watermarks,
   * signals), in source order, after every event of `events`: a source ends
   * a batch right after a marker's unit, and `checkpoint` of that batch is at
   * or after the marker, so a checkpoint saved after the runtime handled a
   * marker never replays the changes before it.
   */
  readonly markers?: readonly StreamMarker[];
}

/**
 * Rows of one table read by the initial snapshot, all of the schema given.
 * A snapshot of a table arrives as chunks with increasing `chunk` numbers and
 * the last one has `last: true`.
 *
 * A chunk with `copy` carries the whole table as COPY streams instead (only
 * when the runtime asked for it, `SnapshotOptions.copy`): then `rows` is
 * empty, it is the table's only chunk (`last: true`) and `rowsRead` is 0.
 */
export interface SnapshotChunk {
  readonly table: TableRef;
  readonly schema: TableSchema;
  readonly rows: readonly Row[];
  readonly chunk: number;
  readonly last: boolean;
  /** Rows read so far for this table, including this chunk. */
  readonly rowsRead: number;
  /** The source's estimate of the table's row count, for progress; absent when unknown. */
  readonly rowsEstimated?: number;
  /** The table's rows as binary COPY streams, in place of `rows` (see above). */
  readonly copy?: SnapshotCopy;
  /**
   * Rows of this chunk the source read but could not decode, each with the
   * reason (naming the column, never the value); not in `rows`. The runtime
   * writes them to the dead-letter queue and goes on. Each `event` is an
   * insert carrying the row's key columns, nothing else.
   */
  readonly rejected?: readonly RejectedRecord[];
}
