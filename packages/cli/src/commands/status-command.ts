import { createLogger, parseTableKey } from "@zero-etl/core";
import { buildPipeline } from "../config/build-pipeline.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { formatTable } from "../terminal/format-table.js";
import { runLiveView } from "../terminal/live-view.js";
import { renderStatusView } from "../terminal/status-view.js";
import { logLag } from "./log-lag-formatter.js";
import { readRunStatus } from "./run-status-file.js";
import { collectStatus, describeTableState } from "./status-report.js";

/** Options of `zeroetl status`. */
export interface StatusCommandOptions {
  /** Print one JSON object ({@link StatusReport}) instead of text. */
  readonly json?: boolean;
  /** Redraw a live view every `intervalMs` until Ctrl-C. */
  readonly watch?: boolean;
  readonly intervalMs?: number;
}

/**
 * `zeroetl status <config>`: the pipeline's checkpoint (from the target when
 * the sink keeps it there), the source's current position, and each table's
 * state, rows, last applied position, last error and update time; for a
 * sink that can count what it holds (`describeTargets`), each table's target,
 * its rows or documents now, and the lag (the source log between the
 * checkpoint and the source's position, for streaming tables). With
 * `json`, the same as one JSON object ({@link collectStatus}); with `watch`,
 * a view redrawn in place every interval until Ctrl-C.
 */
export async function statusCommand(file: string, options: StatusCommandOptions = {}): Promise<void> {
  const config = await loadPipelineConfig(file);
  // the view owns the terminal: connector warnings would scroll it
  const logger = createLogger({ level: options.watch === true ? "silent" : (config.log?.level ?? "warn") });
  const parts = await buildPipeline(config, logger);
  if (options.json === true || options.watch === true) {
    try {
      if (options.watch === true) {
        const intervalMs = options.intervalMs ?? 1000;
        const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
        await runLiveView({
          out: process.stdout,
          intervalMs,
          render: async ({ rows }) => renderStatusView(await collectStatus(parts, config.name), { intervalMs, height: rows, colour }),
        });
      } else {
        process.stdout.write(`${JSON.stringify(await collectStatus(parts, config.name), null, 2)}\n`);
      }
    } finally {
      await Promise.allSettled([parts.source.close(), parts.sink.close()]);
    }
    return;
  }
  // what a live run says of itself first: it is readable while the target is down
  const run = await readRunStatus(parts.stateDir, config.name);
  if (run !== undefined) {
    const state =
      run.retrying === undefined
        ? "running"
        : `retrying since ${run.retrying.since} (${run.retrying.side}: ${run.retrying.operation}, attempt ${run.retrying.attempt}): ${run.retrying.error}`;
    process.stdout.write(`run: process ${run.pid} started ${run.startedAt}, ${state}; ${run.retries} retries so far\n`);
  }
  try {
    const fromTarget = parts.sink.capabilities.checkpointsInTarget ? await parts.sink.open({ pipeline: config.name }) : undefined;
    const checkpoint = fromTarget ?? (await parts.checkpoints.load(config.name));
    const current = await parts.source.currentPosition().catch((error: unknown) => `unavailable (${(error as Error).message})`);
    process.stdout.write(`pipeline ${config.name}\n`);
    if (checkpoint === undefined) {
      process.stdout.write(`no checkpoint yet: the next run starts with a snapshot\nsource position ${current}\n`);
      return;
    }
    process.stdout.write(`phase ${checkpoint.phase}, checkpoint ${checkpoint.position ?? "-"} saved ${checkpoint.savedAt}\nsource position ${current}\n\n`);
    const rows = Object.entries(checkpoint.tables).map(([table, s]) => [table, describeTableState(s), String(s.rows), s.lastPosition ?? "-", s.updatedAt, s.lastError ?? ""]);
    process.stdout.write(`${formatTable(["table", "state", "rows", "last position", "updated", "error"], rows)}\n`);
    if (parts.sink.describeTargets !== undefined) {
      // what the target holds now, and how much of the source's log the checkpoint has not covered yet
      const stats = await parts.sink.describeTargets(Object.keys(checkpoint.tables).map(parseTableKey)).catch((error: unknown) => (error as Error).message);
      if (typeof stats === "string") {
        process.stdout.write(`\ntarget counts unavailable: ${stats}\n`);
      } else if (stats.length > 0) {
        const known = typeof current === "string" && !current.startsWith("unavailable") ? current : undefined;
        const lines = stats.map((s) => {
          const state = checkpoint.tables[s.table]?.state;
          const lag = state === "synced" ? logLag(checkpoint.position, known) : (state ?? "-");
          return [s.table, s.target, s.rows === undefined ? "missing" : String(s.rows), lag];
        });
        process.stdout.write(`\n${formatTable(["table", "target", "documents", "lag"], lines)}\n`);
      }
    }
    const aside = Object.entries(checkpoint.tables).filter(([, s]) => s.state === "failed" || s.state === "resync-required");
    if (aside.length > 0) {
      process.stdout.write(`\nwarning: ${aside.length} table(s) set aside, their changes are not applied: ${aside.map(([t]) => t).join(", ")} -> zeroetl resync <config> <table>\n`);
    }
    // replication-log retention and anything the source's preflight finds wrong now
    const health = await parts.source.preflight({ fix: false }).catch(() => undefined);
    const notable = health?.checks.filter((c) => c.topic === "log-retention" || !c.ok) ?? [];
    if (notable.length > 0) {
      const lines = notable.map((c) => [c.ok ? "ok" : c.severity === "warning" ? "warn" : "FAIL", c.id, c.message + (!c.ok && c.remedy !== undefined ? ` -> ${c.remedy}` : "")]);
      process.stdout.write(`\n${formatTable(["source", "check", "details"], lines)}\n`);
    }
  } finally {
    await Promise.allSettled([parts.source.close(), parts.sink.close()]);
  }
}
