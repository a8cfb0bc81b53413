import { ZeroEtlError } from "../errors/zero-etl-error.js";
import { isTransientError } from "./error-classification.js";

/**
 * How a retried call backs off: exponential delays from `baseDelayMs`,
 * capped at `maxDelayMs`, with jitter, until `maxElapsedMs` have passed
 * since the call first failed (or `maxAttempts` attempts were made, when set).
 */
export interface RetryPolicy {
  /** Stop retrying once this long has passed since the first failure; the last error is then thrown. Default 300 000 (5 min). */
  readonly maxElapsedMs?: number;
  readonly baseDelayMs: number;
  /** The longest single wait between two attempts. */
  readonly maxDelayMs: number;
  /** Attempts in total, the first included; unlimited (only `maxElapsedMs` counts) when absent. */
  readonly maxAttempts?: number;
}

/**
 * Five minutes of retries, waiting 250 ms doubling to at most 15 s between
 * attempts: rides out a server restart, a failover or a network outage of a
 * few minutes. An outage longer than `maxElapsedMs` ends the run with the last
 * error (a supervisor restarts it, and it resumes from the checkpoint).
 */
export const DEFAULT_RETRY_POLICY = Object.freeze({ maxElapsedMs: 300_000, baseDelayMs: 250, maxDelayMs: 15_000 }) satisfies RetryPolicy;

/** What {@link WithRetryOptions.onRetry} is told before each wait. */
export interface RetryAttempt {
  /** The attempt about to run: 2, 3, ... */
  readonly attempt: number;
  readonly delayMs: number;
  /** Milliseconds since the first failure of this call. */
  readonly elapsedMs: number;
}

/** Options of {@link withRetry}. */
export interface WithRetryOptions {
  readonly policy?: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Called before each retry with the error and the attempt about to run (2, 3, ...). */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number, elapsedMs: number) => void;
}

/**
 * Runs `operation`, retrying transient errors ({@link isTransientError}:
 * a `ZeroEtlError` marked retryable, or a dropped or refused connection)
 * with capped exponential back-off and jitter for as long as the policy
 * allows. Other errors, and the last transient one, are rethrown unchanged.
 */
export async function withRetry<T>(operation: () => Promise<T>, options: WithRetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const backOff = createBackOff(policy);
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      const next = isTransientError(error) && !options.signal?.aborted ? backOff.next() : undefined;
      if (next === undefined) throw error;
      options.onRetry?.(error, next.attempt, next.delayMs, next.elapsedMs);
      await sleep(next.delayMs, options.signal);
    }
  }
}

/** A sequence of waits under one {@link RetryPolicy}; `next()` is undefined once the policy gives up. */
export interface BackOff {
  next(): RetryAttempt | undefined;
  /** Starts over, after the failing operation succeeded. */
  reset(): void;
}

/** Creates the wait sequence of a policy; the clock starts at the first `next()`. */
export function createBackOff(policy: RetryPolicy): BackOff {
  let failures = 0;
  let since = 0;
  const budgetMs = policy.maxElapsedMs ?? DEFAULT_RETRY_POLICY.maxElapsedMs;
  return {
    next() {
      const now = Date.now();
      if (failures === 0) since = now;
      failures += 1;
      const elapsedMs = now - since;
      if (policy.maxAttempts !== undefined && failures >= policy.maxAttempts) return undefined;
      if (elapsedMs >= budgetMs) return undefined;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(failures - 1, 30));
      // never wait past the deadline: the last attempt runs when the budget ends
      const jittered = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      const delayMs = Math.max(0, Math.min(jittered, budgetMs - elapsedMs));
      return { attempt: failures + 1, delayMs, elapsedMs };
    },
    reset() {
      failures = 0;
    },
  };
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
