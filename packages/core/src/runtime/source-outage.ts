import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { Logger } from "../observability/logger.js";
import type { PipelineMetrics } from "../observability/metrics.js";
import { isTransientError } from "./error-classification.js";
import type { BackOff, RetryPolicy } from "./retry.js";
import { createBackOff } from "./retry.js";

/** A failure of the source (as opposed to the sink's), carried to the loop that reconnects or restarts the snapshot. */
export class SourceStreamFailure extends Error {
  constructor(override readonly cause: unknown) {
    super("source stream failed", { cause });
  }
}

/** The source's items, with a failure of the source told apart (as {@link SourceStreamFailure}) from the consumer's. */
export async function* failuresMarked<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = items[Symbol.asyncIterator]();
  try {
    for (;;) {
      let result: IteratorResult<T>;
      try {
        result = await iterator.next();
      } catch (error) {
        throw new SourceStreamFailure(error);
      }
      if (result.done === true) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** The next attempt after a source failure, as a {@link BackOff} gives it. */
export interface SourceRetry {
  readonly attempt: number;
  readonly delayMs: number;
  readonly elapsedMs: number;
}

/**
 * Rides out an outage of the source's stream: one back-off for as long as
 * the stream keeps failing, reset by the first batch after a reconnect
 * ({@link recovered}). It decides whether to try again and reports it; the
 * pipeline makes its state durable and reopens the stream.
 */
export class SourceOutage {
  readonly #policy: RetryPolicy;
  readonly #metrics: PipelineMetrics;
  readonly #log: Logger;
  #current: { readonly backOff: BackOff; attempts: number; readonly since: number } | undefined;

  constructor(policy: RetryPolicy, metrics: PipelineMetrics, log: Logger) {
    this.#policy = policy;
    this.#metrics = metrics;
    this.#log = log;
  }

  /**
   * The stream failed with `error`: returns the delay before reconnecting,
   * or throws `error` when it is not transient, the run is aborted, or the
   * outage outlasted the retry policy.
   */
  failed(error: unknown, signal: AbortSignal | undefined): number {
    if (!isTransientError(error) || signal?.aborted) throw error;
    const outage = (this.#current ??= { backOff: createBackOff(this.#policy), attempts: 0, since: Date.now() });
    const next = outage.backOff.next();
    if (next === undefined) throw error;
    outage.attempts += 1;
    reportSourceRetry(this.#metrics, this.#log, "stream source", "source stream failed, reconnecting from the last checkpoint", error, next);
    return next.delayMs;
  }

  /** A batch arrived: an outage in progress is over. */
  recovered(): void {
    const outage = this.#current;
    if (outage === undefined) return;
    this.#current = undefined;
    const elapsedMs = Date.now() - outage.since;
    this.#metrics.emit({ type: "recovered", operation: "stream source", side: "source", attempts: outage.attempts, elapsedMs });
    this.#log.warn("source stream resumed", { attempts: outage.attempts, elapsedMs });
  }
}

/** Says, in a metric and a log line, that a transient source failure is being ridden out. */
export function reportSourceRetry(metrics: PipelineMetrics, log: Logger, operation: string, what: string, error: unknown, next: SourceRetry): void {
  const code = error instanceof ZeroEtlError ? error.code : "connection-failed";
  const message = error instanceof Error ? error.message : String(error);
  metrics.emit({ type: "error", code, retryable: true });
  metrics.emit({ type: "retrying", operation, side: "source", attempt: next.attempt, delayMs: next.delayMs, elapsedMs: next.elapsedMs, code, error: message });
  log.warn(what, { attempt: next.attempt, delayMs: next.delayMs, elapsedMs: next.elapsedMs, code, error: message });
}
