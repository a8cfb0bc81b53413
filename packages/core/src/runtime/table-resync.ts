import type { PipelineCheckpoint } from "../checkpoint/pipeline-checkpoint.js";
import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { Logger } from "../observability/logger.js";
import type { TableSchema } from "../schema/table-schema.js";
import { tableKey } from "../schema/table-schema.js";
import type { Sink } from "../sink/sink.js";
import type { Source } from "../source/source.js";
import type { PipelineTarget } from "./pipeline-target.js";
import { isRefusal } from "./pipeline-target.js";
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
  const refused = new Set<string>();
  const setAside = (key: string, error: unknown): void => {
    if (!isRefusal(error)) throw error;
    // the target still cannot take it: the table stays set aside, the others resync
    refused.add(key);
    tracker.setState(key, "resync-required", error.message);
    log.error("resync refused by the target; the table stays set aside", { table: key, error: error.message });
  };
  // every replacement first, then the resets: a sink replaces a table only with nothing pending,
  // and a reset is pending until the next flush
  const resets: { key: string; target: TableSchema }[] = [];
  const replace = sink.replaceTable?.bind(sink);
  for (const schema of session.schemas) {
    const key = tableKey(schema.table);
    target.remember(schema);
    target.resetMapperState(schema.table);
    try {
      // a table set aside for a refused schema change gets a new target table where the sink can make one
      const targets = replace === undefined ? await target.prepare(schema) : target.targetsOf(schema);
      if (tracker.state(key) !== "resyncing") throw new ZeroEtlError(tracker.snapshot()[key]?.lastError ?? `${key} was refused`, { code: "schema-refused", table: key });
      for (const mapped of targets) {
        if (replace !== undefined) {
          await retrying(`replace ${tableKey(mapped.table)}`, () => replace(mapped));
          target.prepared(mapped);
        }
        resets.push({ key, target: mapped });
      }
    } catch (error) {
      setAside(key, error);
    }
  }
  for (const reset of resets) {
    if (refused.has(reset.key)) continue;
    try {
      await target.reset(reset.target);
    } catch (error) {
      setAside(reset.key, error);
    }
  }
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
