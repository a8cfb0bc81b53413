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
   * flush after this many milliseconds without new changes instead of
   * waiting for `maxWaitMs`: low latency when idle, full batches under load.
   */
  readonly lingerMs: number;
}

/**
 * 10,000 rows, 32 MiB or 1 s, and 50 ms of linger when the source is idle.
 * One second bounds latency under steady load; 10,000 rows keeps one
 * transaction or data file large enough to be efficient at high rates and
 * small enough to bound memory; the linger makes a lone change land in well
 * under a second without turning a busy stream into tiny commits.
 */
export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({ maxRows: 10_000, maxBytes: 32 * 1024 * 1024, maxWaitMs: 1_000, lingerMs: 50 });
