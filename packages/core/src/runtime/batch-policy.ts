/** When the runtime makes accepted changes durable. Whichever limit is reached first triggers a flush. */
export interface BatchPolicy {
  /** Changed rows accepted since the last flush. */
  readonly maxRows: number;
  /** Approximate bytes accepted since the last flush. */
  readonly maxBytes: number;
  /** Milliseconds since the first change accepted after the last flush: bounds end-to-end latency. */
  readonly maxWaitMs: number;
}

/**
 * 10,000 rows, 32 MiB or 1 s. One second keeps the target within seconds of
 * the source; 10,000 rows keeps one transaction or data file large enough to
 * be efficient at high rates and small enough to bound memory.
 */
export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({ maxRows: 10_000, maxBytes: 32 * 1024 * 1024, maxWaitMs: 1_000 });
