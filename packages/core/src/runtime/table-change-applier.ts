import type { PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { TableChange } from "../change/table-change.js";
import type { TableRef } from "../schema/table-schema.js";
import type { Logger } from "../observability/logger.js";
import type { PipelineMetrics } from "../observability/metrics.js";
import type { PositionCodec } from "../position/position-codec.js";
import { tableKey } from "../schema/table-schema.js";
import type { Sink } from "../sink/sink.js";
import type { PipelineTarget } from "./pipeline-target.js";
import type { RetryingOperation } from "./retrying-operation.js";

/** What a {@link TableChangeApplier} works with. */
export interface TableChangeApplierOptions {
  readonly target: PipelineTarget;
  readonly sink: Sink;
  readonly positions: PositionCodec<unknown>;
  /** Makes what was applied durable as a checkpoint at `position` (see {@link PipelineTarget.flushAt}). */
  readonly flushAt: (previous: PipelineCheckpoint, position: string) => Promise<PipelineCheckpoint>;
  readonly retrying: RetryingOperation;
  readonly metrics: PipelineMetrics;
  readonly log: Logger;
}

/**
 * Applies what the source says about whole tables ({@link TableChange}):
 * a refresh marks the table for a re-read, a drop removes its target tables;
 * and guards a table's new copy against replayed events it already holds
 * (`TableStatus.replacedAt`).
 */
export class TableChangeApplier {
  readonly #o: TableChangeApplierOptions;

  constructor(options: TableChangeApplierOptions) {
    this.#o = options;
  }

  /** What the source selected when this run resumed, and its position then (see {@link resumedWith}). */
  #resumed: { readonly selected: ReadonlySet<string>; readonly position: string } | undefined;

  /**
   * Records the tables the source selected when this run resumed and the
   * source's position read after that: a table the tracker does not know
   * that was not among them (one forgotten on resume, gone or renamed away
   * while the pipeline was stopped) is left behind, and its replayed events
   * from before that position are not applied. Its target table may by now
   * be another table's: a table moved to another schema keeps its name, and
   * a sink that names target tables without the schema (Iceberg) gives the
   * moved table, re-read first, the same target table. Derived again on
   * every resume, so it holds after a crash too.
   */
  resumedWith(selected: ReadonlySet<string>, position: string): void {
    this.#resumed = { selected, position };
  }

  /**
   * Whether an event of `table` at `position` is older than a table change its
   * target copy already reflects, or belongs to a table left behind on resume
   * ({@link resumedWith}).
   */
  isReplaced(table: string, position: string): boolean {
    if (position === "") return false;
    const codec = this.#o.positions;
    if (this.#isLeftBehind(table, position)) return true;
    const replacedAt = this.#o.target.tracker.replacedAt(table);
    if (replacedAt === undefined) return false;
    return codec.compare(codec.parse(position), codec.parse(replacedAt)) < 0;
  }

  #isLeftBehind(table: string, position: string): boolean {
    const resumed = this.#resumed;
    if (resumed === undefined || resumed.selected.has(table) || this.#o.target.tracker.state(table) !== undefined) return false;
    const codec = this.#o.positions;
    return codec.compare(codec.parse(position), codec.parse(resumed.position)) < 0;
  }

  /** Marks a table to be read again from `position` on: the stream stops at the next checkpoint and the resync follows. */
  requestRefresh(key: string, reason: string, position: string): void {
    const target = this.#o.target;
    target.tracker.requestRefresh(key, reason, position);
    this.#o.metrics.emit({ type: "table-state", table: key, state: "resync-required", reason });
    this.#o.log.info("the table will be read again", { table: key, reason, position });
    target.resyncDue = true;
  }

  /**
   * Applies the table changes of a batch, in order, after its events. A
   * refresh marks the table for a re-read (the stream stops at the next
   * checkpoint, the resync runs, the stream resumes); a drop makes what came
   * before durable, then removes the table's target tables.
   */
  async apply(changes: readonly TableChange[], checkpoint: PipelineCheckpoint, latest: string | undefined): Promise<PipelineCheckpoint> {
    const { target, log, metrics } = this.#o;
    let current = checkpoint;
    for (const change of changes) {
      const key = tableKey(change.table);
      // replayed after the re-read or drop it caused
      const replacedAt = target.tracker.replacedAt(key);
      if (replacedAt !== undefined && (replacedAt === change.position || this.isReplaced(key, change.commitPosition ?? change.position))) continue;
      if (change.kind === "refresh") {
        // a table left behind on resume is gone since; its re-read would find nothing
        if (this.#isLeftBehind(key, change.commitPosition ?? change.position)) continue;
        this.requestRefresh(key, change.reason, change.position);
        continue;
      }
      // recorded before the flush: its checkpoint is past the drop, so a crash before the target tables are
      // removed must leave `dropPending` for the resumed run, since the replay will not meet the drop again
      target.tracker.drop(key, change.reason, change.position);
      if (target.pendingRows > 0) current = await this.#o.flushAt(current, latest ?? current.position ?? change.position);
      metrics.emit({ type: "table-state", table: key, state: "dropped-at-source", reason: change.reason });
      log.info("table gone from the source", { table: key, reason: change.reason, position: change.position });
      await this.dropTargets(key, change.table);
    }
    return current;
  }

  /**
   * Removes the target tables of a source table gone from the source
   * (`Sink.dropTable`, idempotent), then clears its `dropPending`. Also
   * called on resume for a table a checkpoint recorded dropped before its
   * target tables were removed; `keep` names target tables (keys) not to
   * drop there, those a selected table maps to.
   */
  async dropTargets(key: string, table: TableRef, keep?: ReadonlySet<string>): Promise<void> {
    const target = this.#o.target;
    const sink = this.#o.sink;
    const drop = sink.dropTable?.bind(sink);
    if (drop !== undefined) {
      // a table forgotten on resume (dropped while the pipeline was stopped) has no known shape: its root target table is found by name
      const schema = target.schemaOf(key) ?? { table, version: 0, primaryKey: [], columns: [] };
      for (const mapped of target.targetsOf(schema)) {
        const targetKey = tableKey(mapped.table);
        if (keep?.has(targetKey) === true) continue;
        await this.#o.retrying(`drop ${targetKey}`, () => drop(mapped.table));
        target.unprepared(targetKey);
      }
    }
    target.tracker.dropDone(key);
  }
}
