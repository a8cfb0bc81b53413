/** When the runtime makes accepted changes durable. Whichever limit is reached first triggers a flush. */
export interface BatchPolicy {
  /** Changed rows accepted since the last flush. */
  readonly maxRows: number;
  /** Approximate bytes accepted since the last flush. */
  readonly maxBytes: number;
  /** Milliseconds since the first change accepted after the last flush: bounds end-to-end latency. */
  readonly maxWaitMs: number;
  /**
   * Once the source says it is caught up (nothing more to read right now),
   * flush this many milliseconds after the first pending change instead of
   * after `maxWaitMs`: at the head of the log a change lands within tens of
   * milliseconds, also under a steady stream of small transactions that
   * never pauses for this long; while the source has a backlog, batches
   * still fill up to `maxRows`/`maxBytes`. The commit overlaps with reading
   * the next changes, so frequent small flushes cost little throughput.
   */
  readonly lingerMs: number;
}

/**
 * 10,000 rows, 32 MiB or 1 s, and 50 ms of linger once the source caught up.
 * One second bounds latency under steady load; 10,000 rows keeps one
 * transaction or data file large enough to be efficient at high rates and
 * small enough to bound memory; the linger makes a lone change land in well
 * under a second without turning a busy stream into tiny commits.
 */
export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({ maxRows: 10_000, maxBytes: 32 * 1024 * 1024, maxWaitMs: 1_000, lingerMs: 50 });
