import { ZeroEtlError, isRetryable } from "../errors/zero-etl-error.js";

/** How a retried call backs off. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Five attempts, 200 ms doubling to 10 s: rides out a server restart or a failover. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 });

/** Options of {@link withRetry}. */
export interface WithRetryOptions {
  readonly policy?: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Called before each retry with the error and the attempt about to run (2, 3, ...). */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `operation`, retrying errors marked retryable with exponential
 * back-off and full jitter. Other errors, and the last retryable one, are
 * rethrown unchanged.
 */
export async function withRetry<T>(operation: () => Promise<T>, options: WithRetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.maxAttempts || options.signal?.aborted) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      options.onRetry?.(error, attempt + 1, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}

/** Resolves after `ms`, or rejects with an `aborted` error when the signal fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ZeroEtlError("aborted", { code: "aborted" }));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ZeroEtlError("aborted", { code: "aborted" }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
