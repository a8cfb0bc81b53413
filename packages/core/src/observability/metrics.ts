import type { ChangeOp } from "../change/change-event.js";
import type { TableStatus } from "../state/table-state.js";

/** Events a pipeline emits; subscribe with {@link PipelineMetrics.subscribe}. */
export type MetricEvent =
  | { readonly type: "rows"; readonly table: string; readonly op: ChangeOp | "snapshot"; readonly rows: number; readonly bytes: number }
  | { readonly type: "lag"; readonly seconds: number }
  /** A checkpoint became durable; `tables` is its per-table state (what `zeroetl status` and the exporters show). */
  | { readonly type: "checkpoint"; readonly position: string; readonly tables?: Readonly<Record<string, TableStatus>> }
  | { readonly type: "error"; readonly code: string; readonly retryable: boolean; readonly table?: string }
  | { readonly type: "dead-letter"; readonly table: string; readonly count: number }
  | { readonly type: "snapshot-progress"; readonly table: string; readonly rowsRead: number; readonly rowsEstimated?: number; readonly done: boolean }
  | { readonly type: "table-state"; readonly table: string; readonly state: string; readonly reason?: string }
  /**
   * A transient failure is being retried: `side` says which end failed,
   * `elapsedMs` how long since the first failure of this outage. Followed by
   * `recovered` once the call succeeds again.
   */
  | { readonly type: "retrying"; readonly operation: string; readonly side: "source" | "target" | "state"; readonly attempt: number; readonly delayMs: number; readonly elapsedMs: number; readonly code: string; readonly error: string }
  | { readonly type: "recovered"; readonly operation: string; readonly side: "source" | "target" | "state"; readonly attempts: number; readonly elapsedMs: number };

/** Running totals, as `zeroetl status` and tests read them. */
export interface MetricTotals {
  /** `table` → op → rows. */
  readonly rows: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly bytes: number;
  readonly errors: number;
  readonly deadLetters: number;
  readonly lagSeconds: number;
  /** Retries made so far (every `retrying` event). */
  readonly retries: number;
  /** The outage being ridden out right now, if any: the last `retrying` event not yet followed by `recovered`. */
  readonly retrying: { readonly operation: string; readonly side: string; readonly since: string; readonly attempt: number; readonly error: string } | undefined;
}

/** Fan-out of metric events plus running totals. */
export interface PipelineMetrics {
  emit(event: MetricEvent): void;
  /** Calls `listener` for every event from now on; returns an unsubscribe function. */
  subscribe(listener: (event: MetricEvent) => void): () => void;
  totals(): MetricTotals;
}

/** Creates a metrics hub. Listeners that throw are ignored, never break the pipeline. */
export function createPipelineMetrics(): PipelineMetrics {
  const listeners = new Set<(event: MetricEvent) => void>();
  const rows: Record<string, Record<string, number>> = {};
  let bytes = 0;
  let errors = 0;
  let deadLetters = 0;
  let lagSeconds = 0;
  let retries = 0;
  let retrying: MetricTotals["retrying"];
  return {
    emit(event) {
      switch (event.type) {
        case "rows": {
          const perTable = (rows[event.table] ??= {});
          perTable[event.op] = (perTable[event.op] ?? 0) + event.rows;
          bytes += event.bytes;
          break;
        }
        case "error":
          errors += 1;
          break;
        case "dead-letter":
          deadLetters += event.count;
          break;
        case "lag":
          lagSeconds = event.seconds;
          break;
        case "retrying":
          retries += 1;
          retrying = {
            operation: event.operation,
            side: event.side,
            since: new Date(Date.now() - event.elapsedMs).toISOString(),
            attempt: event.attempt,
            error: event.error,
          };
          break;
        case "recovered":
          retrying = undefined;
          break;
        default:
          break;
      }
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // a broken listener must not stop replication
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    totals: () => ({ rows: structuredClone(rows), bytes, errors, deadLetters, lagSeconds, retries, retrying }),
  };
}
