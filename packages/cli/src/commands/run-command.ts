import { mkdir } from "node:fs/promises";
import { ConfigError, type PipelineOptions, type Source } from "@zero-etl/core";
import { DEFAULT_RETRY_POLICY, SelectionChanges, createLogger, createPipelineMetrics, createPrometheusMetrics, runPipeline, type CloudWatchPublisher, type PipelineResult } from "@zero-etl/core";
import { buildPipeline, withoutUndefined } from "../config/build-pipeline.js";
import { loadPipelineConfig, type PipelineConfig } from "../config/pipeline-config.js";
import { assertDistinctTargetNames } from "../config/target-naming.js";
import { startCloudWatch } from "../observability/cloudwatch-client.js";
import { startMetricsServer, type MetricsServer } from "../observability/metrics-server.js";
import { formatTable } from "../terminal/format-table.js";
import { showSnapshotProgress } from "../terminal/snapshot-progress.js";
import { trackRunStatus } from "./run-status-file.js";
import { loadOrCreateMarkerKey } from "./marker-key-file.js";
import { takeStateDirLock } from "./state-dir-lock.js";
import { armTestKillSwitch } from "./test-kill-switch.js";
import { watchConfigFile } from "./config-file-watcher.js";
import { createFilterReload } from "./filter-reload.js";

/** Tables whose changes are skipped (`failed` or `resync-required`), as `table (state)`. */
export function tablesSetAside(result: PipelineResult): string[] {
  return Object.entries(result.checkpoint.tables)
    .filter(([, status]) => status.state === "failed" || status.state === "resync-required")
    .map(([table, status]) => `${table} (${status.state})`);
}

/** The runtime's snapshot options from the config's `snapshot`; a source without incremental snapshots is a config error naming the field. */
export function incrementalOptions(config: PipelineConfig, source: Source): Pick<PipelineOptions, "snapshotMode" | "incrementalChunkRows" | "markerKey"> {
  const snapshot = config.snapshot;
  if (snapshot?.mode !== "incremental") return {};
  if (source.incremental === undefined) throw new ConfigError("snapshot.mode", `"blocking" (the ${source.kind} source cannot take incremental snapshots)`, '"incremental"');
  return { snapshotMode: "incremental", ...(snapshot.chunkRows === undefined ? {} : { incrementalChunkRows: snapshot.chunkRows }) };
}

/** Options of `zeroetl run`. */
export interface RunCommandOptions {
  readonly untilCaughtUp: boolean;
  /** Serve Prometheus metrics on this port (0: a free one, printed on stderr). */
  readonly metricsPort?: number;
}

/**
 * `zeroetl run <config>`: snapshot if needed, then stream until SIGINT or
 * SIGTERM (or, with `--until-caught-up`, until the target holds everything
 * the source had committed when the command started). The config file is
 * read again on SIGHUP and when it changes: a new `filter` applies to the
 * running pipeline (PostgreSQL and MySQL/MariaDB sources), other changes are
 * logged as needing a restart. Either way pending
 * changes are flushed and checkpointed before exit. Tables set aside at the
 * end (`failed`, `resync-required`) are named on stderr and, with
 * `--until-caught-up`, make the exit code 1.
 */
export async function runCommand(file: string, options: RunCommandOptions): Promise<PipelineResult> {
  const config = await loadPipelineConfig(file);
  const logger = createLogger({ level: config.log?.level ?? "info" });
  const parts = await buildPipeline(config, logger);
  let snapshotOptions: ReturnType<typeof incrementalOptions>;
  try {
    // before anything connects: a source that cannot take incremental snapshots is a config error
    snapshotOptions = incrementalOptions(config, parts.source);
  } catch (error) {
    await Promise.allSettled([parts.source.close(), parts.sink.close()]);
    throw error;
  }
  // a target without a writer lock of its own gets one in the state directory (one host)
  let releaseLock: (() => Promise<void>) | undefined;
  try {
    await mkdir(parts.stateDir, { recursive: true });
    if (parts.sink.lock === undefined) releaseLock = await takeStateDirLock(parts.stateDir, config.name);
    // markers written into the change stream are obeyed only when signed with this key (resync signals, watermarks)
    if (snapshotOptions.snapshotMode === "incremental") snapshotOptions = { ...snapshotOptions, markerKey: await loadOrCreateMarkerKey(parts.stateDir, config.name) };
  } catch (error) {
    await Promise.allSettled([parts.source.close(), parts.sink.close()]);
    throw error;
  }
  const metrics = createPipelineMetrics();
  armTestKillSwitch(metrics);
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    logger.info("stopping: flushing and checkpointing", { signal });
    controller.abort();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const stopProgress = showSnapshotProgress(metrics, process.stderr);
  const stopStatus = trackRunStatus({ stateDir: parts.stateDir, pipeline: config.name, metrics });
  let metricsServer: MetricsServer | undefined;
  let cloudWatch: CloudWatchPublisher | undefined;
  // a changed config file (SIGHUP, or the file saved): the filter applies live, other fields after a restart
  const selectionChanges = new SelectionChanges();
  const stopWatching = watchConfigFile({
    file,
    logger,
    changed: createFilterReload({ config, source: parts.source, naming: parts.naming, liveFilter: parts.liveFilter, selectionChanges, logger }),
  });
  try {
    if (options.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(createPrometheusMetrics(metrics, { pipeline: config.name }), options.metricsPort);
      process.stderr.write(`zeroetl: metrics on http://localhost:${metricsServer.port}/metrics\n`);
    }
    const cloudWatchConfig = config.observability?.cloudwatch;
    if (cloudWatchConfig !== undefined) cloudWatch = await startCloudWatch(metrics, config.name, cloudWatchConfig, logger);
    // refuse before anything is written: two source tables must never share a target table
    const introspected = await parts.source.introspect(controller.signal);
    assertDistinctTargetNames(introspected, parts.naming);
    const result = await runPipeline({
      name: config.name,
      ...parts,
      // a resuming run starts from this look at the source's tables instead of reading its catalog again
      introspected,
      metrics,
      logger,
      untilCaughtUp: options.untilCaughtUp,
      signal: controller.signal,
      ...(config.batch === undefined ? {} : { batch: withoutUndefined(config.batch) }),
      ...(config.retry === undefined ? {} : { retry: { ...DEFAULT_RETRY_POLICY, ...withoutUndefined(config.retry) } }),
      ...(config.onLostPosition === undefined ? {} : { onLostPosition: config.onLostPosition }),
      ...(config.autoResync === undefined ? {} : { autoResync: config.autoResync }),
      ...snapshotOptions,
      selectionChanges,
    });
    stopProgress();
    const totals = metrics.totals();
    const rows = Object.entries(totals.rows).map(([table, ops]) => [
      table,
      String(ops.snapshot ?? 0),
      String(ops.insert ?? 0),
      String(ops.update ?? 0),
      String(ops.delete ?? 0),
    ]);
    process.stdout.write(`${formatTable(["table", "snapshot", "inserts", "updates", "deletes"], rows)}\n`);
    process.stdout.write(
      `checkpoint ${result.checkpoint.position ?? "-"}, lag ${totals.lagSeconds.toFixed(1)} s, dead letters ${result.deadLetters}${result.deadLetters > 0 ? ` (see ${parts.stateDir})` : ""}\n`,
    );
    const aside = tablesSetAside(result);
    if (aside.length > 0) {
      process.stderr.write(`zeroetl: ${aside.length} table(s) set aside, their changes are not applied until a resync: ${aside.join(", ")} (see zeroetl status)\n`);
      // "caught up" is not true of a table whose changes are skipped
      if (options.untilCaughtUp) process.exitCode = 1;
    }
    return result;
  } finally {
    stopWatching();
    stopProgress();
    await stopStatus();
    // the last figures (the final checkpoint) still go out
    await cloudWatch?.stop();
    await metricsServer?.close();
    await releaseLock?.();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await Promise.allSettled([parts.source.close(), parts.sink.close()]);
  }
}
