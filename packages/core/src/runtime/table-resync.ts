import type { PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { Logger } from "../observability/logger.js";
import { tableKey } from "../schema/table-schema.js";
import type { Sink } from "../sink/sink.js";
import type { Source } from "../source/source.js";
import type { PipelineTarget } from "./pipeline-target.js";
import { emptyTargetCopies } from "./target-copy-emptier.js";
import type { RetryingOperation } from "./retrying-operation.js";
import { isTableApplying } from "../state/table-state.js";

/** What {@link resyncTables} works with. */
export interface TableResyncContext {
  readonly source: Source;
  readonly sink: Sink;
  readonly target: PipelineTarget;
  readonly retrying: RetryingOperation;
  readonly log: Logger;
  /** Whether tables set aside by a refusal are taken without an explicit request (`PipelineOptions.autoResync`). */
  readonly autoResync: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Re-snapshots the tables marked `resync-required` or `resyncing` (by
 * `markForResync`, a table change of the source, or a refused schema
 * change), then lets the stream resume from the unchanged checkpoint. The
 * re-read happens after the checkpoint's position, so replaying the stream
 * from that position afterwards re-applies, in order, every change since:
 * by-key application makes each row converge to its latest state, and no
 * write is lost. When the source says the snapshot's position is exact
 * (`SnapshotSession.exact`), the replay skips, for the tables re-read, what
 * the snapshot already holds (their `replacedAt` becomes that position), so
 * nothing is applied on top of a later state of its row.
 */
export async function resyncTables(context: TableResyncContext, checkpoint: PipelineCheckpoint): Promise<PipelineCheckpoint> {
  const { source, sink, target, retrying, log, signal } = context;
  const tracker = target.tracker;
  const wanted = tracker.tables().filter((key) => {
    const state = tracker.state(key);
    // an incremental snapshot reads its tables beside the stream (IncrementalSnapshotter)
    if (tracker.incremental(key) !== undefined && isTableApplying(state ?? "failed")) return false;
    return state === "resyncing" || (state === "resync-required" && (context.autoResync || tracker.isResyncRequested(key)));
  });
  if (wanted.length === 0) {
    target.resyncDue = false;
    return checkpoint;
  }
  for (const key of wanted) tracker.setState(key, "resyncing");
  log.info("resyncing tables", { tables: wanted });
  const schemas = await source.introspect(signal);
  const tables = schemas.filter((s) => wanted.includes(tableKey(s.table))).map((s) => s.table);
  const found = new Set(tables.map(tableKey));
  for (const key of wanted) {
    // gone again before its re-read (e.g. created and dropped while the pipeline was behind)
    if (!found.has(key)) tracker.setState(key, "dropped-at-source", "not found at the source when resyncing");
  }
  const session = await retrying("start resync snapshot", () => source.snapshot({ tables, resync: true, ...(signal === undefined ? {} : { signal }) }));
  const refused = await emptyTargetCopies(session.schemas, {
    sink,
    target,
    retrying,
    replace: true,
    admit: (key) => {
      if (tracker.state(key) !== "resyncing") throw new ZeroEtlError(tracker.snapshot()[key]?.lastError ?? `${key} was refused`, { code: "schema-refused", table: key });
    },
    refused: (key, error) => {
      // the target still cannot take it: the table stays set aside, the others resync
      tracker.setState(key, "resync-required", error.message);
      log.error("resync refused by the target; the table stays set aside", { table: key, error: error.message });
    },
  });
  const at = (): PipelineCheckpoint => Object.freeze({ ...checkpoint, tables: tracker.snapshot(), savedAt: new Date().toISOString() });
  for await (const chunk of session.chunks) {
    if (refused.has(tableKey(chunk.table))) continue;
    await target.writeChunk(chunk);
    if (target.full) await target.flush(at());
  }
  const codec = source.positions;
  for (const key of wanted) {
    if (tracker.state(key) !== "resyncing") continue;
    tracker.setState(key, "synced");
    // the rows read hold every change committed before the snapshot's exact position: the replay must not apply them again
    const replacedAt = tracker.replacedAt(key);
    if (session.exact === true && (replacedAt === undefined || codec.compare(codec.parse(replacedAt), codec.parse(session.position)) < 0)) tracker.reread(key, session.position);
  }
  const done = at();
  await target.flush(done);
  // what was refused during this resync waits for the next run, not for another turn now
  target.resyncDue = false;
  return done;
}
