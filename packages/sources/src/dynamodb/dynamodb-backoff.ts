import { ZeroEtlError } from "@zero-etl/core";

const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "TooManyRequestsException",
]);

/** True for the DynamoDB and DynamoDB Streams errors that mean "slow down". */
export function isThrottlingError(error: unknown): boolean {
  return typeof error === "object" && error !== null && THROTTLING.has((error as { name?: string }).name ?? "");
}

/** The SDK error name of a failure, for matching and messages (never the message text, which may quote values). */
export function errorName(error: unknown): string {
  return typeof error === "object" && error !== null ? String((error as { name?: unknown }).name ?? "Error") : "Error";
}

/** Waits `ms`, or rejects with an `aborted` error when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new ZeroEtlError("dynamodb source aborted", { code: "aborted", cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ZeroEtlError("dynamodb source aborted", { code: "aborted", cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Exponential back-off with full jitter; `reset()` after a success. */
export interface Backoff {
  /** Sleeps the next delay (base 50 ms, doubling, capped) and returns it. */
  wait(signal?: AbortSignal): Promise<number>;
  reset(): void;
  readonly attempts: number;
}

/** Creates a {@link Backoff} capped at `maxMs` (5 s by default). */
export function createBackoff(maxMs = 5_000, baseMs = 50): Backoff {
  let attempts = 0;
  return {
    get attempts() {
      return attempts;
    },
    async wait(signal) {
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 16));
      attempts++;
      const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      await sleep(delay, signal);
      return delay;
    },
    reset() {
      attempts = 0;
    },
  };
}
