import type { Row } from "../schema/value.js";
import type { TableRef, TableSchema } from "../schema/table-schema.js";

/**
 * A marker a source saw in its change stream: a message the runtime wrote
 * through {@link IncrementalSnapshotSource.emitMarker} (a watermark, or a
 * signal such as a resync request). `content` is exactly what was written;
 * `position` is where the stream carried it (for PostgreSQL the LSN of its
 * transaction's commit).
 */
export interface StreamMarker {
  readonly content: string;
  readonly position: string;
}

/** One chunk of a table read in primary-key order by {@link IncrementalSnapshotSource.readChunk}. */
export interface IncrementalChunk {
  /** The rows, ordered by primary key, all of the schema asked for; at most the limit asked for. */
  readonly rows: readonly Row[];
  /**
   * The source's serialization of the last row's key, from which the next
   * chunk is read (`after`); JSON-safe and opaque to the runtime. Absent when
   * `rows` is empty.
   */
  readonly cursor?: string;
  /** True when no row follows this chunk (the table is done). */
  readonly last: boolean;
}

/** Options of {@link IncrementalSnapshotSource.readChunk}. */
export interface ReadChunkOptions {
  /** The table as the source streams it now; it has a primary key. */
  readonly schema: TableSchema;
  /** The cursor of the previous chunk; the first chunk when absent. */
  readonly after?: string;
  /** Most rows to return. */
  readonly limit: number;
  readonly signal?: AbortSignal;
}

/**
 * What a source offers for incremental (watermark-bracketed) snapshots,
 * after Netflix's DBLog and Debezium's incremental snapshots: the runtime
 * writes a low watermark into the change stream, reads one primary-key
 * ordered chunk of a table, writes a high watermark, and when its stream
 * meets the high watermark emits the chunk's rows whose key had no change
 * between the two (the change wins for the others). The stream never stops.
 *
 * Both methods may be called while {@link Source.stream} runs (from another
 * task), never concurrently with each other.
 */
export interface IncrementalSnapshotSource {
  /**
   * True when a marker reaches only the streams of the process that wrote it
   * (DynamoDB, which cannot write into its change stream: its stream reader
   * places the markers in its output). Then another process (`zeroetl
   * resync` beside a running pipeline) cannot signal a running pipeline, and
   * `emitMarker` resolves only once a stream of this process delivers it.
   */
  readonly inProcessMarkers?: boolean;
  /**
   * Writes `content` into the source's change log as one committed unit of
   * its own, so that every stream of this source (from a position before the
   * write) delivers it as a {@link StreamMarker} in `ChangeBatch.markers`,
   * after every change committed before the write and before every change
   * committed after it. Resolves once the write is committed.
   */
  emitMarker(content: string, signal?: AbortSignal): Promise<void>;
  /**
   * Reads the next chunk of a table in primary-key order, in a read of its
   * own that starts after the call (any change committed before the call is
   * seen). Values are those the stream would carry for the same rows.
   */
  readChunk(options: ReadChunkOptions): Promise<IncrementalChunk>;
  /** The source's estimate of a table's row count, for progress; undefined when unknown. */
  estimateRows?(schema: TableSchema, signal?: AbortSignal): Promise<number | undefined>;
  /**
   * Optional. The tables whose incremental snapshot is under way now (all of
   * them, each call): their target copies may lack rows the stream's changes
   * refer to, so a source whose updates can lack some values (PostgreSQL's
   * unchanged TOAST) should deliver those tables' updates whole from now on
   * (until a call without them), as an update of a row the target does not
   * hold yet cannot be completed there.
   */
  reading?(tables: readonly TableRef[]): void;
}
