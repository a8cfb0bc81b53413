import { ConfigError, createLogger, markForResync } from "@zero-etl/core";
import { buildPipeline } from "../config/build-pipeline.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { runCommand } from "./run-command.js";
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
 * resync, start it again).
 */
export async function resyncCommand(file: string, tables: readonly string[]): Promise<void> {
  const config = await loadPipelineConfig(file);
  const logger = createLogger({ level: config.log?.level ?? "warn" });
  const parts = await buildPipeline(config, logger);
  try {
    if (parts.sink.lock !== undefined) await parts.sink.lock({ pipeline: config.name });
    else await (await takeStateDirLock(parts.stateDir, config.name))();
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
