/**
 * Where a replicated table stands. Kept with the checkpoint, shown by
 * `zeroetl status` and in the target's state table.
 *
 * - `snapshotting`: the initial (or a re-) snapshot is loading it.
 * - `synced`: snapshot done; changes are being applied.
 * - `failed`: set aside after a change could not be applied; `lastError` says why. Other tables go on.
 * - `resync-required`: its target copy can no longer be trusted (e.g. a refused schema change); a resync will fix it.
 * - `resyncing`: being re-snapshotted while the others stream.
 * - `dropped-at-source`: the source table is gone.
 */
export type TableState = "snapshotting" | "synced" | "failed" | "resync-required" | "resyncing" | "dropped-at-source";

/** Per-table progress and health. */
export interface TableStatus {
  readonly state: TableState;
  /** Rows applied: snapshot rows plus inserts, updates and deletes. */
  readonly rows: number;
  /** Serialized source position of the last change applied to this table. */
  readonly lastPosition?: string;
  /** Why the table is `failed` or `resync-required`. */
  readonly lastError?: string;
  /** ISO-8601 time of the last state or row change. */
  readonly updatedAt: string;
  /** Someone asked for a resync (`markForResync`); the next run does it whatever `autoResync` says. */
  readonly resyncRequested?: boolean;
  /**
   * Serialized source position of the table change (a source-requested
   * refresh, or a drop) that the table's current target copy already
   * reflects: replayed events of the table older than it are not applied.
   */
  readonly replacedAt?: string;
  /**
   * The table is `dropped-at-source`, and a checkpoint may say so before its
   * target tables were removed (a crash between the two): a run resuming
   * from it removes them (dropping is idempotent), then clears this.
   */
  readonly dropPending?: boolean;
  /**
   * The table is being read by an incremental snapshot (chunks bracketed by
   * watermarks, while the stream goes on): how far it got. Saved with the
   * checkpoint only once the chunks it counts are durable in the target, so
   * a run resuming from it reads on from `cursor`.
   */
  readonly incremental?: IncrementalProgress;
}

/** Progress of a table's incremental snapshot (see {@link TableStatus.incremental}). */
export interface IncrementalProgress {
  /** The source's cursor after the last chunk applied (`IncrementalChunk.cursor`); absent before the first. */
  readonly cursor?: string;
  /** Chunks applied. */
  readonly chunks: number;
  /** Rows read by those chunks. */
  readonly rowsRead: number;
  /** The source's estimate of the table's rows when the snapshot began, if known. */
  readonly rowsEstimated?: number;
  /** Estimated chunks in all (rows estimated / chunk size), if known. */
  readonly chunksEstimated?: number;
}

/** True for states in which the table's changes are applied. */
export function isTableApplying(state: TableState): boolean {
  return state === "snapshotting" || state === "synced" || state === "resyncing";
}
