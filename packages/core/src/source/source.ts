import type { ChangeBatch, SnapshotChunk } from "../change/change-batch.js";
import type { PositionCodec } from "../position/position-codec.js";
import type { PreflightOptions, PreflightReport } from "../preflight/preflight-report.js";
import type { TableRef, TableSchema } from "../schema/table-schema.js";
import type { SnapshotCopyPredicate } from "../change/snapshot-copy.js";
import type { IncrementalSnapshotSource } from "./incremental-snapshot-source.js";

/** What a source can promise, as data; the runtime and mappers read it, never the class. */
export interface SourceCapabilities {
  /** Whether updates and deletes carry the full old row: always, only when the table is configured for it, or never. */
  readonly beforeImage: "always" | "configurable" | "never";
  /** Whether changes arrive grouped in source transactions. */
  readonly transactions: boolean;
  /** Whether schema changes arrive in the stream (as `schema` events). */
  readonly schemaChanges: boolean;
  /** Whether `truncate` events exist. */
  readonly truncate: boolean;
}

/** A started initial snapshot, consistent with a stream position. */
export interface SnapshotSession {
  /**
   * The serialized position the snapshot is consistent with: streaming from
   * it after the snapshot delivers every change the snapshot did not see
   * (and possibly some it did; sinks apply idempotently).
   */
  readonly position: string;
  /**
   * Whether `position` is exact: the snapshot holds precisely the
   * transactions whose commit (`ChangeEvent.commitPosition`, else its
   * `position`; `TableChange.commitPosition`, else its `position`) is before
   * `position`, and nothing committed at or after it. A resync relies on it:
   * for the tables it re-read, the runtime then skips every replayed event
   * and table change before `position`, because the rows read already hold
   * them (and one applied again may not apply at all: an update that leaves
   * a value unchanged needs the row it updated, which the re-read may hold
   * under a later key already). Absent or false: `position` only bounds the
   * snapshot from below, and the replay re-applies what the re-read holds.
   */
  readonly exact?: boolean;
  /** The table schemas the snapshot reads, as of `position`. */
  readonly schemas: readonly TableSchema[];
  /** The rows, table by table, in chunks. */
  readonly chunks: AsyncIterable<SnapshotChunk>;
}

/** Options of {@link Source.snapshot}. */
export interface SnapshotOptions {
  /** Only these tables; all selected tables when absent. */
  readonly tables?: readonly TableRef[];
  /**
   * A re-snapshot of some tables while a stream position already exists:
   * the source must not disturb its streaming state (no new slot, no reset
   * position). Any read taken after the stored checkpoint is correct, since
   * the runtime replays the stream from that checkpoint afterwards.
   */
  readonly resync?: boolean;
  /**
   * Optional. A source able to deliver a table as binary COPY streams
   * (`SnapshotChunk.copy`) asks this, when the table's turn comes (after the
   * runtime prepared its target), whether to do so; without it, or when it
   * answers false, the table arrives as rows. Sources that cannot ignore it.
   */
  readonly copy?: SnapshotCopyPredicate;
  readonly signal?: AbortSignal;
}

/** Options of {@link Source.stream}. */
export interface StreamOptions {
  readonly signal?: AbortSignal;
}

/**
 * A change-data-capture source.
 *
 * Lifecycle: `introspect`/`preflight` any time; then either `snapshot` (first
 * run) followed by `stream` from the snapshot's position, or `stream` from a
 * stored checkpoint. `acknowledge` tells the source that everything up to a
 * checkpoint is durable in the target, so it may release the log behind it.
 * Methods are not called concurrently except `acknowledge` and `incremental`'s during `stream`.
 */
export interface Source {
  /** A short name for logs and metrics, e.g. `postgres`. */
  readonly kind: string;
  readonly capabilities: SourceCapabilities;
  readonly positions: PositionCodec<unknown>;

  /** The selected tables and their current schemas. */
  introspect(signal?: AbortSignal): Promise<readonly TableSchema[]>;

  /** Checks (and with `fix`, repairs what is safe to repair) the source's settings and privileges. */
  preflight(options: PreflightOptions): Promise<PreflightReport>;

  /** Starts a consistent initial snapshot of the selected tables. */
  snapshot(options: SnapshotOptions): Promise<SnapshotSession>;

  /**
   * Streams changes after `from` (a serialized position from a snapshot
   * session or a checkpoint) until `signal` aborts. Batches are yielded in
   * source order; the iterator waits when the consumer does (back-pressure).
   * Throws a `position-lost` error when the source no longer has `from`.
   */
  stream(from: string, options: StreamOptions): AsyncIterable<ChangeBatch>;

  /** Everything up to and including `checkpoint` is durable in the target. Never called with a position older than a previous call. */
  acknowledge(checkpoint: string): Promise<void>;

  /**
   * The serialized position the source has reached right now (e.g. the
   * current WAL flush LSN). `run --until-caught-up` streams until it has
   * delivered a checkpoint at or after this position.
   */
  currentPosition(): Promise<string>;

  /**
   * Optional: incremental snapshots (chunks bracketed by watermarks written
   * through the change stream itself). A source that has it delivers the
   * markers it writes in `ChangeBatch.markers`. Its methods may run while
   * `stream` does.
   */
  readonly incremental?: IncrementalSnapshotSource | undefined;

  close(): Promise<void>;
}
