import type { PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import type { TableSchema } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import type { TableState } from "../state/table-state.js";
import { emptyTargetCopies } from "./target-copy-emptier.js";
import type { TableResyncContext } from "./table-resync.js";

/** What {@link startIncrementalSnapshots} started. */
export interface IncrementalStart {
  /** The checkpoint that records the emptied target tables and their progress at zero (durable). */
  readonly checkpoint: PipelineCheckpoint;
  /** The tables whose incremental snapshot begins (`namespace.name`). */
  readonly tables: readonly string[];
}

/**
 * Begins incremental snapshots of `schemas` (tables with a primary key): each
 * table's target tables are replaced where the sink can (else reset), the
 * mappers forget the table, its state becomes `state` (`resyncing`, or
 * `snapshotting` for a first snapshot) with `TableStatus.incremental` at zero,
 * and all that is made durable at the checkpoint's unchanged position, so
 * that the stream applies the table's changes from there on onto the empty
 * copy while the chunks fill it. A table the target refuses is set aside
 * (`resync-required` with the reason) and left out.
 */
export async function startIncrementalSnapshots(
  context: TableResyncContext,
  checkpoint: PipelineCheckpoint,
  schemas: readonly TableSchema[],
  state: Extract<TableState, "resyncing" | "snapshotting">,
): Promise<IncrementalStart> {
  const { sink, target, retrying, log } = context;
  const tracker = target.tracker;
  const started: string[] = [];
  for (const schema of schemas) tracker.setState(tableKey(schema.table), state);
  // a first snapshot's tables are new to the target: prepared and reset, never replaced
  const refused = await emptyTargetCopies(schemas, {
    sink,
    target,
    retrying,
    replace: state === "resyncing",
    refused: (key, error) => {
      tracker.setState(key, "resync-required", error.message);
      tracker.setIncremental(key, undefined);
      log.error("incremental snapshot refused by the target; the table stays set aside", { table: key, error: error.message });
    },
  });
  for (const schema of schemas) {
    const key = tableKey(schema.table);
    if (refused.has(key) || target.isSetAside(key)) continue;
    tracker.setIncremental(key, { chunks: 0, rowsRead: 0 });
    started.push(key);
  }
  const done = Object.freeze({ ...checkpoint, tables: tracker.snapshot(), savedAt: new Date().toISOString() });
  await target.flush(done);
  if (started.length > 0) log.info("incremental snapshots begin; the stream goes on", { tables: started, state });
  return { checkpoint: done, tables: started };
}
