import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "@zero-etl/core";
import { ConfigError } from "@zero-etl/core";
import { loadPipelineConfig, type PipelineConfig } from "../config/pipeline-config.js";

/** Options of {@link watchConfigFile}. */
export interface ConfigFileWatcherOptions {
  readonly file: string;
  /** Called with each valid config read (it may equal the one in force: the callee compares), one call at a time, in order. */
  readonly changed: (config: PipelineConfig, why: "SIGHUP" | "file changed") => Promise<void>;
  readonly logger: Logger;
  /** Quiet time after the last file event before the file is read; default 300 ms (editors write in steps). */
  readonly debounceMs?: number;
}

/**
 * Watches a running pipeline's config file: on `SIGHUP`, and when the file
 * changes (debounced), it is read and validated whole; a valid config goes
 * to `changed`, an invalid one is logged as an error naming the field (once
 * per text) and otherwise ignored (the run keeps its config). The file's directory is watched rather than the file, since
 * editors that save by writing a new file and renaming it over the old one
 * leave a watch on the old file's inode deaf. Returns the function that
 * stops watching.
 */
export function watchConfigFile(options: ConfigFileWatcherOptions): () => void {
  const file = resolve(options.file);
  const name = basename(file);
  const { logger } = options;
  const debounceMs = options.debounceMs ?? 300;
  let lastInvalid: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;

  const reload = (why: "SIGHUP" | "file changed"): void => {
    queue = queue.then(async () => {
      if (stopped) return;
      let text: string;
      try {
        // loadPipelineConfig reads it again; the text only tells an invalid file already reported
        text = await readFile(file, "utf8");
      } catch (error) {
        logger.error("config file not reloaded: it cannot be read; the run keeps its current config", { field: "config", file, error: (error as NodeJS.ErrnoException).code ?? String(error) });
        return;
      }
      if (text === lastInvalid && why !== "SIGHUP") return;
      let config: PipelineConfig;
      try {
        config = await loadPipelineConfig(file);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        // a second event for the same broken text does not log again
        lastInvalid = text;
        logger.error("config file not reloaded: invalid; the run keeps its current config", { field: error.path, error: error.message, file });
        return;
      }
      lastInvalid = undefined;
      await options.changed(config, why);
    }).catch((error: unknown) => {
      logger.error("config file reload failed; the run keeps its current config", { file, error: error instanceof Error ? error.message : String(error) });
    });
  };

  const schedule = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      reload("file changed");
    }, debounceMs);
    timer.unref();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      // some platforms give no name: then any change in the directory may be ours
      if (changed === null || changed === name) schedule();
    });
    watcher.on("error", (error) => logger.warn("config file watch failed; SIGHUP still reloads it", { file, error: error.message }));
  } catch (error) {
    logger.warn("config file cannot be watched; SIGHUP still reloads it", { file, error: (error as Error).message });
  }
  const onHangUp = (): void => reload("SIGHUP");
  process.on("SIGHUP", onHangUp);
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    watcher?.close();
    process.off("SIGHUP", onHangUp);
  };
}
