import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { Logger } from "../observability/logger.js";
import type { PipelineMetrics } from "../observability/metrics.js";
import type { RetryPolicy } from "./retry.js";
import { withRetry } from "./retry.js";

/**
 * Runs one call to the source, the sink or the checkpoint store, retrying
 * transient failures under the run's retry policy; `what` names the
 * operation in logs and metrics.
 */
export type RetryingOperation = <T>(what: string, operation: () => Promise<T>) => Promise<T>;

/** What {@link createRetryingOperation} reports to. */
export interface RetryReporting {
  readonly policy: RetryPolicy;
  readonly metrics: PipelineMetrics;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/**
 * A {@link RetryingOperation} that reports every retry (an `error` and a
 * `retrying` metric, a warning) and the recovery after retries.
 */
export function createRetryingOperation(reporting: RetryReporting): RetryingOperation {
  const { policy, metrics, log, signal } = reporting;
  return async <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    const side = sideOf(what);
    let attempts = 0;
    let since = 0;
    const result = await withRetry(operation, {
      policy,
      ...(signal === undefined ? {} : { signal }),
      onRetry: (error, attempt, delayMs, elapsedMs) => {
        if (attempts === 0) since = Date.now();
        attempts += 1;
        const code = error instanceof ZeroEtlError ? error.code : "connection-failed";
        const message = error instanceof Error ? error.message : String(error);
        metrics.emit({ type: "error", code, retryable: true });
        metrics.emit({ type: "retrying", operation: what, side, attempt, delayMs, elapsedMs, code, error: message });
        log.warn(`${what} failed, retrying`, { side, attempt, delayMs, elapsedMs, code, error: message });
      },
    });
    if (attempts > 0) {
      const elapsedMs = Date.now() - since;
      metrics.emit({ type: "recovered", operation: what, side, attempts, elapsedMs });
      log.warn(`${what} succeeded again after ${attempts} retries`, { side, attempts, elapsedMs });
    }
    return result;
  };
}

/** Which side an operation talks to, for logs and the `retrying` metric. */
function sideOf(operation: string): "source" | "target" | "state" {
  if (operation === "save checkpoint") return "state";
  return /source|^start /.test(operation) ? "source" : "target";
}
