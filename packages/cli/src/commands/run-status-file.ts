import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PipelineMetrics } from "@zero-etl/core";

/** What a running `zeroetl run` says about itself in `<state dir>/<pipeline>.run.json`. */
export interface RunStatus {
  readonly pid: number;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** The outage being ridden out, if any (from the `retrying` metric). */
  readonly retrying?: { readonly operation: string; readonly side: string; readonly since: string; readonly attempt: number; readonly error: string };
  /** Retries since the run started. */
  readonly retries: number;
  /** The lag at the last checkpoint (seconds; from the `lag` metric). */
  readonly lagSeconds?: number;
  /** When the last checkpoint became durable in this run. */
  readonly lastCheckpointAt?: string;
  /** Dead letters and errors since the run started. */
  readonly deadLetters?: number;
  readonly errors?: number;
}

function fileOf(stateDir: string, pipeline: string): string {
  return join(stateDir, `${pipeline}.run.json`);
}

/**
 * Keeps `<state dir>/<pipeline>.run.json` up to date while a run lives:
 * written at its first metric event (so only once it holds the pipeline's
 * lock: a refused second run never touches the file) and on every
 * `retrying`/`recovered` one, after checkpoints with the lag (at most once a
 * second), removed at the end. `zeroetl status` reads it,
 * so "retrying since ..." is visible even while the target is down. Returns
 * the function that removes the file.
 */
export function trackRunStatus(options: { stateDir: string; pipeline: string; metrics: PipelineMetrics }): () => Promise<void> {
  const file = fileOf(options.stateDir, options.pipeline);
  const startedAt = new Date().toISOString();
  let writing: Promise<void> = Promise.resolve();
  let lastCheckpointAt: string | undefined;
  let lastWrite = 0;
  let pending: NodeJS.Timeout | undefined;
  const write = (): void => {
    const totals = options.metrics.totals();
    lastWrite = Date.now();
    const status: RunStatus = {
      pid: process.pid,
      startedAt,
      updatedAt: new Date().toISOString(),
      retries: totals.retries,
      ...(totals.retrying === undefined ? {} : { retrying: totals.retrying }),
      lagSeconds: totals.lagSeconds,
      ...(lastCheckpointAt === undefined ? {} : { lastCheckpointAt }),
      deadLetters: totals.deadLetters,
      errors: totals.errors,
    };
    // one write at a time, in order; a failed write only costs the status line
    writing = writing.then(() => writeFile(file, `${JSON.stringify(status)}\n`).catch(() => undefined));
  };
  let written = false;
  const unsubscribe = options.metrics.subscribe((event) => {
    if (event.type === "checkpoint") lastCheckpointAt = new Date().toISOString();
    if (written && event.type === "lag") {
      // the lag after each checkpoint, for `status --watch`: at most one write a second, the last one always
      pending ??= setTimeout(
        () => {
          pending = undefined;
          write();
        },
        Math.max(0, 1000 - (Date.now() - lastWrite)),
      );
      return;
    }
    if (written && event.type !== "retrying" && event.type !== "recovered") return;
    written = true;
    write();
  });
  return async () => {
    unsubscribe();
    clearTimeout(pending);
    await writing;
    if (written) await rm(file, { force: true });
  };
}

/** The status a live run left, or undefined (no run, or its process is gone). */
export async function readRunStatus(stateDir: string, pipeline: string): Promise<RunStatus | undefined> {
  let status: RunStatus;
  try {
    status = JSON.parse(await readFile(fileOf(stateDir, pipeline), "utf8")) as RunStatus;
  } catch {
    return undefined;
  }
  try {
    process.kill(status.pid, 0);
  } catch {
    return undefined;
  }
  return status;
}
