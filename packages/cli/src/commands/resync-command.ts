import { ConfigError, ZeroEtlError, createLogger, encodeMarker, markForResync, tableKey } from "@zero-etl/core";
import type { PipelineConfig } from "../config/pipeline-config.js";
import type { PipelineParts } from "../config/build-pipeline.js";
import { buildPipeline } from "../config/build-pipeline.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { runCommand } from "./run-command.js";
import { readMarkerKey } from "./marker-key-file.js";
import { takeStateDirLock } from "./state-dir-lock.js";

/**
 * `zeroetl resync <config> <table...>`: marks the tables (`namespace.name`)
 * for a resync where the pipeline keeps its checkpoint (the target, or the
 * local state directory), then runs the pipeline until caught up: it
 * re-snapshots just those tables and replays the stream from the checkpoint,
 * so changes made meanwhile are kept.
 *
 * It takes the pipeline's writer lock before it reads or marks anything: while
 * a `zeroetl run` of the same pipeline holds it, resync refuses with a
 * `pipeline-locked` error and leaves the target untouched (stop the run,
 * resync, start it again) — unless the config says `snapshot.mode:
 * "incremental"`: then the request goes to the running pipeline through the
 * source's change stream (a `resync` marker), which it meets in order and
 * answers with incremental snapshots of the tables while the others stream.
 * The marker is signed with the key the running pipeline keeps in its state
 * directory (`<state dir>/<pipeline>.marker-key`); it obeys no other.
 */
export async function resyncCommand(file: string, tables: readonly string[]): Promise<void> {
  const config = await loadPipelineConfig(file);
  const logger = createLogger({ level: config.log?.level ?? "warn" });
  const parts = await buildPipeline(config, logger);
  try {
    try {
      if (parts.sink.lock !== undefined) await parts.sink.lock({ pipeline: config.name });
      else await (await takeStateDirLock(parts.stateDir, config.name))();
    } catch (error) {
      if (!(error instanceof ZeroEtlError && error.code === "pipeline-locked") || config.snapshot?.mode !== "incremental") throw error;
      await signalRunningPipeline(config, parts, tables);
      return;
    }
    const inTarget = parts.sink.capabilities.checkpointsInTarget;
    const stored = inTarget ? await parts.sink.open({ pipeline: config.name }) : await parts.checkpoints.load(config.name);
    if (stored === undefined) {
      process.stdout.write(`pipeline ${config.name} has no checkpoint yet: its first run snapshots every table\n`);
      return;
    }
    const known = Object.keys(stored.tables);
    for (const [index, table] of tables.entries()) {
      if (!known.includes(table)) throw new ConfigError(`tables[${index}]`, `one of the pipeline's tables (${known.join(", ")})`, table);
    }
    const marked = markForResync(stored, tables);
    if (inTarget) await parts.sink.flush(marked);
    await parts.checkpoints.save(marked);
    process.stdout.write(`marked for resync: ${tables.join(", ")}\n`);
  } finally {
    await Promise.allSettled([parts.source.close(), parts.sink.close()]);
  }
  await runCommand(file, { untilCaughtUp: true });
}

/** Asks the running pipeline (which holds the writer lock) to resync `tables`, through the source's stream. */
async function signalRunningPipeline(config: PipelineConfig, parts: PipelineParts, tables: readonly string[]): Promise<void> {
  const incremental = parts.source.incremental;
  if (incremental === undefined) throw new ConfigError("snapshot.mode", `"blocking" (the ${parts.source.kind} source cannot take incremental snapshots)`, '"incremental"');
  if (incremental.inProcessMarkers === true) {
    // its markers reach only the streams of the process that writes them: this one could never reach the run
    throw new ZeroEtlError(
      `pipeline ${config.name} is running, and its ${parts.source.kind} source cannot be signalled from another process (it has no change stream to write a resync marker into); stop the run, then run zeroetl resync again: with snapshot.mode "incremental" the tables are then read in chunks while the other tables stream; nothing was changed`,
      { code: "pipeline-locked" },
    );
  }
  const selected = (await parts.source.introspect()).map((schema) => tableKey(schema.table));
  for (const [index, table] of tables.entries()) {
    if (!selected.includes(table)) throw new ConfigError(`tables[${index}]`, `one of the pipeline's tables (${selected.join(", ")})`, table);
  }
  // signed with the pipeline's key from its state directory: the running pipeline ignores markers it cannot verify
  const key = await readMarkerKey(parts.stateDir, config.name);
  await incremental.emitMarker(encodeMarker({ pipeline: config.name, kind: "resync", tables }, key));
  process.stdout.write(`asked the running pipeline ${config.name} to resync: ${tables.join(", ")} (incremental; see zeroetl status)\n`);
}
