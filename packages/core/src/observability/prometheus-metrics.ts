import { Counter, Gauge, Registry } from "prom-client";
import type { TableState } from "../state/table-state.js";
import type { MetricEvent, PipelineMetrics } from "./metrics.js";

/** Every table state, so that `zeroetl_table_state` shows a 0 for the states a table is not in (alerts on `== 1` need the series). */
const TABLE_STATES: readonly TableState[] = ["snapshotting", "synced", "failed", "resync-required", "resyncing", "dropped-at-source"];

/** Options of {@link createPrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** The `pipeline` label of every series. */
  readonly pipeline: string;
  /** Where the metrics are registered; a new registry by default (pass yours to serve them beside your own). */
  readonly registry?: Registry;
  /** Clock in milliseconds, for the checkpoint age. */
  readonly now?: () => number;
}

/** A pipeline's metrics as Prometheus series; see docs/monitoring.md for the names. */
export interface PrometheusMetrics {
  readonly registry: Registry;
  /** The exposition text a `/metrics` endpoint returns. */
  text(): Promise<string>;
  /** The `Content-Type` of {@link text}. */
  readonly contentType: string;
  /** Stops listening to the pipeline's events (the series stay registered). */
  close(): void;
}

/**
 * Subscribes to a pipeline's metric events and keeps Prometheus series
 * (prom-client) up to date: rows and bytes by table and operation, lag,
 * checkpoint age, dead letters, errors, retries, table states and snapshot
 * progress. Counting happens per event (a batch or a snapshot chunk), never
 * per row.
 */
export function createPrometheusMetrics(metrics: PipelineMetrics, options: PrometheusMetricsOptions): PrometheusMetrics {
  const registry = options.registry ?? new Registry();
  const now = options.now ?? Date.now;
  const pipeline = options.pipeline;
  const registers = [registry];
  const rows = new Counter({ name: "zeroetl_rows_total", help: "Rows accepted by the target, by table and operation (snapshot, insert, update, delete, truncate)", labelNames: ["pipeline", "table", "operation"], registers });
  const bytes = new Counter({ name: "zeroetl_bytes_total", help: "Estimated bytes of the rows accepted by the target, by table and operation", labelNames: ["pipeline", "table", "operation"], registers });
  const lag = new Gauge({ name: "zeroetl_lag_seconds", help: "Age of the newest change applied at the last checkpoint (0 when the source had nothing newer)", labelNames: ["pipeline"], registers });
  const checkpoints = new Counter({ name: "zeroetl_checkpoints_total", help: "Checkpoints made durable", labelNames: ["pipeline"], registers });
  const lastCheckpoint = new Gauge({ name: "zeroetl_last_checkpoint_timestamp_seconds", help: "Unix time of the last durable checkpoint", labelNames: ["pipeline"], registers });
  let lastCheckpointMs: number | undefined;
  const startedMs = now();
  new Gauge({
    name: "zeroetl_checkpoint_age_seconds",
    help: "Seconds since the last durable checkpoint (since the start while there is none)",
    labelNames: ["pipeline"],
    registers,
    collect() {
      this.set({ pipeline }, (now() - (lastCheckpointMs ?? startedMs)) / 1000);
    },
  });
  const deadLetters = new Counter({ name: "zeroetl_dead_letters_total", help: "Records sent to the dead-letter queue, by table", labelNames: ["pipeline", "table"], registers });
  const errors = new Counter({ name: "zeroetl_errors_total", help: "Errors met, by code and whether they are retried", labelNames: ["pipeline", "code", "retryable"], registers });
  const retries = new Counter({ name: "zeroetl_retries_total", help: "Retries of a failed call, by side (source, target, state)", labelNames: ["pipeline", "side"], registers });
  const retrying = new Gauge({ name: "zeroetl_retrying", help: "1 while an outage is being ridden out, else 0", labelNames: ["pipeline"], registers });
  const tableState = new Gauge({ name: "zeroetl_table_state", help: "1 for the state each table is in, 0 for the others", labelNames: ["pipeline", "table", "state"], registers });
  const tableRows = new Gauge({ name: "zeroetl_table_rows", help: "Rows applied to each table (snapshot and changes, all runs), as of the last checkpoint", labelNames: ["pipeline", "table"], registers });
  const snapshotRead = new Gauge({ name: "zeroetl_snapshot_rows_read", help: "Rows read so far by the table's current snapshot", labelNames: ["pipeline", "table"], registers });
  const snapshotEstimated = new Gauge({ name: "zeroetl_snapshot_rows_estimated", help: "The source's estimate of the table's rows when its snapshot started", labelNames: ["pipeline", "table"], registers });
  const snapshotDone = new Gauge({ name: "zeroetl_snapshot_done", help: "1 once the table's snapshot has been read completely", labelNames: ["pipeline", "table"], registers });
  lag.set({ pipeline }, 0);
  retrying.set({ pipeline }, 0);

  // children by table and operation: an event costs a map lookup, not a label hash
  const rowChildren = new Map<string, { rows: ReturnType<typeof rows.labels>; bytes: ReturnType<typeof bytes.labels> }>();
  const states = new Map<string, string>();
  const setState = (table: string, state: string): void => {
    if (states.get(table) === state) return;
    states.set(table, state);
    for (const s of TABLE_STATES) tableState.set({ pipeline, table, state: s }, s === state ? 1 : 0);
  };

  const listener = (event: MetricEvent): void => {
    switch (event.type) {
      case "rows": {
        const key = `${event.table}\u0000${event.op}`;
        let child = rowChildren.get(key);
        if (child === undefined) {
          child = { rows: rows.labels(pipeline, event.table, event.op), bytes: bytes.labels(pipeline, event.table, event.op) };
          rowChildren.set(key, child);
        }
        child.rows.inc(event.rows);
        child.bytes.inc(event.bytes);
        break;
      }
      case "lag":
        lag.set({ pipeline }, event.seconds);
        break;
      case "checkpoint":
        lastCheckpointMs = now();
        checkpoints.inc({ pipeline });
        lastCheckpoint.set({ pipeline }, lastCheckpointMs / 1000);
        for (const [table, status] of Object.entries(event.tables ?? {})) {
          setState(table, status.state);
          tableRows.set({ pipeline, table }, status.rows);
        }
        break;
      case "dead-letter":
        deadLetters.inc({ pipeline, table: event.table }, event.count);
        break;
      case "error":
        errors.inc({ pipeline, code: event.code, retryable: String(event.retryable) });
        break;
      case "retrying":
        retries.inc({ pipeline, side: event.side });
        retrying.set({ pipeline }, 1);
        break;
      case "recovered":
        retrying.set({ pipeline }, 0);
        break;
      case "table-state":
        setState(event.table, event.state);
        break;
      case "snapshot-progress":
        if (!states.has(event.table)) setState(event.table, "snapshotting");
        snapshotRead.set({ pipeline, table: event.table }, event.rowsRead);
        if (event.rowsEstimated !== undefined) snapshotEstimated.set({ pipeline, table: event.table }, event.rowsEstimated);
        snapshotDone.set({ pipeline, table: event.table }, event.done ? 1 : 0);
        break;
    }
  };
  const unsubscribe = metrics.subscribe(listener);
  return {
    registry,
    text: () => registry.metrics(),
    contentType: registry.contentType,
    close: unsubscribe,
  };
}
