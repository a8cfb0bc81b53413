import { ZeroEtlError } from "../errors/zero-etl-error.js";
import type { Sink } from "../sink/sink.js";

/** Which call fails, how often, and how. */
export interface Fault {
  readonly method: "prepare" | "resetTable" | "writeSnapshot" | "write" | "flush";
  /** Fail the n-th call of the method (1-based) and the `times - 1` calls after it. */
  readonly onCall: number;
  readonly times?: number;
  readonly retryable?: boolean;
}

/**
 * Wraps a sink so that chosen calls throw `ZeroEtlError`s, to test that the
 * runtime retries what is retryable, stops on what is not, and never
 * acknowledges what was not flushed.
 */
export function createFaultInjectingSink(inner: Sink, faults: readonly Fault[]): Sink & { readonly calls: Readonly<Record<string, number>> } {
  const calls: Record<string, number> = {};
  const guard = <A extends unknown[], R>(method: Fault["method"], call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const n = (calls[method] = (calls[method] ?? 0) + 1);
      for (const fault of faults) {
        if (fault.method === method && n >= fault.onCall && n < fault.onCall + (fault.times ?? 1)) {
          // a failed flush discards what was accepted, as the Sink contract says
          if (method === "flush" && "crash" in inner && typeof inner.crash === "function") inner.crash();
          throw new ZeroEtlError(`injected ${method} fault on call ${n}`, { code: "sink-failed", retryable: fault.retryable ?? false });
        }
      }
      return call(...args);
    };
  return {
    kind: inner.kind,
    capabilities: inner.capabilities,
    calls,
    preflight: (o) => inner.preflight(o),
    open: (c) => inner.open(c),
    prepare: guard("prepare", (s) => inner.prepare(s)),
    resetTable: guard("resetTable", (t) => inner.resetTable(t)),
    writeSnapshot: guard("writeSnapshot", (c) => inner.writeSnapshot(c)),
    write: guard("write", (b) => inner.write(b)),
    flush: guard("flush", (c) => inner.flush(c)),
    close: () => inner.close(),
  };
}
