import type { PipelineCheckpoint, TableStatus } from "@zero-etl/core";
import type { PipelineParts } from "../config/build-pipeline.js";
import { logLag } from "./log-lag-formatter.js";
import { readRunStatus, type RunStatus } from "./run-status-file.js";

/** One table in a {@link StatusReport}. */
export interface TableStatusReport {
  /** `namespace.name` at the source. */
  readonly table: string;
  readonly state: string;
  /** Rows applied (snapshot and changes, all runs) as of the checkpoint. */
  readonly rows: number;
  readonly lastPosition: string | null;
  readonly updatedAt: string;
  readonly lastError: string | null;
  /** For a `synced` table, the source log not yet covered (`caught up`, `1234 bytes of WAL`, `-` when not measurable); else null. */
  readonly lag: string | null;
  /** An incremental snapshot under way (`snapshot.mode: "incremental"`): chunks applied, estimated in all (null when unknown), rows read; else null. */
  readonly incremental: { readonly chunksDone: number; readonly chunksEstimated: number | null; readonly rowsRead: number } | null;
}

/** A table's state for people: with an incremental snapshot's progress, `resyncing (chunk 3 of ~10)`. */
export function describeTableState(status: TableStatus): string {
  const progress = status.incremental;
  if (progress === undefined) return status.state;
  return `${status.state} (chunk ${progress.chunks}${progress.chunksEstimated === undefined ? "" : ` of ~${progress.chunksEstimated}`})`;
}

/**
 * What `zeroetl status --json` prints (one JSON object; schema in
 * docs/monitoring.md) and what `status --watch` draws.
 */
export interface StatusReport {
  readonly pipeline: string;
  readonly generatedAt: string;
  /** The live run's own figures, or null when no run of this pipeline is alive on this host. */
  readonly run: RunStatus | null;
  readonly checkpoint: { readonly phase: string; readonly position: string | null; readonly savedAt: string } | null;
  /** Why the checkpoint could not be read (the target is down), else null. */
  readonly checkpointError: string | null;
  readonly sourcePosition: string | null;
  readonly sourcePositionError: string | null;
  /** The log between checkpoint and source position, in words; null without both. */
  readonly logLag: string | null;
  /** True when the checkpoint is at the source's position and every table is synced. */
  readonly caughtUp: boolean;
  /** By table name. */
  readonly tables: readonly TableStatusReport[];
}

/** Which `PipelineParts` the report reads. */
type StatusParts = Pick<PipelineParts, "source" | "sink" | "checkpoints" | "stateDir">;

/** Reads the checkpoint (the target's, if it keeps one), the source's position and the live run's figures. Never throws for an unreachable side: it says so in the report. */
export async function collectStatus(parts: StatusParts, pipeline: string): Promise<StatusReport> {
  const run = (await readRunStatus(parts.stateDir, pipeline)) ?? null;
  let checkpoint: PipelineCheckpoint | undefined;
  let checkpointError: string | null = null;
  try {
    const fromTarget = parts.sink.capabilities.checkpointsInTarget ? await parts.sink.open({ pipeline }) : undefined;
    checkpoint = fromTarget ?? (await parts.checkpoints.load(pipeline));
  } catch (error) {
    checkpointError = (error as Error).message;
  }
  let sourcePosition: string | null = null;
  let sourcePositionError: string | null = null;
  try {
    sourcePosition = await parts.source.currentPosition();
  } catch (error) {
    sourcePositionError = (error as Error).message;
  }
  const position = checkpoint?.position;
  const lag = position === undefined || sourcePosition === null ? null : logLag(position, sourcePosition);
  const tables = Object.entries(checkpoint?.tables ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(
    ([table, s]): TableStatusReport => ({
      table,
      state: s.state,
      rows: s.rows,
      lastPosition: s.lastPosition ?? null,
      updatedAt: s.updatedAt,
      lastError: s.lastError ?? null,
      lag: s.state === "synced" ? lag : null,
      incremental: s.incremental === undefined ? null : { chunksDone: s.incremental.chunks, chunksEstimated: s.incremental.chunksEstimated ?? null, rowsRead: s.incremental.rowsRead },
    }),
  );
  return {
    pipeline,
    generatedAt: new Date().toISOString(),
    run,
    checkpoint: checkpoint === undefined ? null : { phase: checkpoint.phase, position: checkpoint.position ?? null, savedAt: checkpoint.savedAt },
    checkpointError,
    sourcePosition,
    sourcePositionError,
    logLag: lag,
    caughtUp: lag === "caught up" && checkpoint?.phase === "streaming" && tables.every((t) => t.state === "synced"),
    tables,
  };
}
