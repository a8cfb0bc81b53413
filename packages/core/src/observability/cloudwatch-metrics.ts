import type { MetricEvent, PipelineMetrics } from "./metrics.js";

/** One datum of a CloudWatch `PutMetricData` request (the SDK's `MetricDatum` shape, without the SDK). */
export interface CloudWatchDatum {
  readonly MetricName: string;
  readonly Dimensions: readonly { readonly Name: string; readonly Value: string }[];
  readonly Value: number;
  readonly Unit: "Seconds" | "Count";
  readonly Timestamp: Date;
}

/** A `PutMetricData` request's input. */
export interface CloudWatchPutInput {
  readonly Namespace: string;
  readonly MetricData: readonly CloudWatchDatum[];
}

/** Options of {@link createCloudWatchPublisher}. */
export interface CloudWatchPublisherOptions {
  readonly namespace: string;
  /** The `Pipeline` dimension of every datum. */
  readonly pipeline: string;
  /** Sends one request, e.g. `(input) => client.send(new PutMetricDataCommand(input))`. */
  readonly put: (input: CloudWatchPutInput) => Promise<unknown>;
  /** How often to publish; 60 s by default (CloudWatch's standard resolution). */
  readonly intervalMs?: number;
  /** Told when a publication fails; metrics are best effort and never stop the pipeline. */
  readonly onError?: (error: unknown) => void;
}

/** A running publisher; `stop()` publishes what is left and stops. */
export interface CloudWatchPublisher {
  /** Publishes what was counted since the last publication now. */
  publish(): Promise<void>;
  stop(): Promise<void>;
}

/** CloudWatch accepts at most 1,000 data per `PutMetricData`. */
const MAX_DATA_PER_REQUEST = 1000;

/**
 * Publishes a pipeline's counters to Amazon CloudWatch every interval:
 * `lag` (seconds, the last value), `checkpoint_age` (seconds), and per
 * interval `rows` (per table and for the pipeline), `errors` and
 * `dead_letters` (counts). Dimensions: `Pipeline`, and `Table` on the
 * per-table `rows`. The SDK client stays with the caller (`put`), so the core
 * does not load the AWS SDK.
 */
export function createCloudWatchPublisher(metrics: PipelineMetrics, options: CloudWatchPublisherOptions): CloudWatchPublisher {
  const pipeline = { Name: "Pipeline", Value: options.pipeline };
  const rowsByTable = new Map<string, number>();
  let errors = 0;
  let deadLetters = 0;
  let lagSeconds: number | undefined;
  let lastCheckpointMs = Date.now();
  const unsubscribe = metrics.subscribe((event: MetricEvent) => {
    switch (event.type) {
      case "rows":
        rowsByTable.set(event.table, (rowsByTable.get(event.table) ?? 0) + event.rows);
        break;
      case "error":
        errors += 1;
        break;
      case "dead-letter":
        deadLetters += event.count;
        break;
      case "lag":
        lagSeconds = event.seconds;
        break;
      case "checkpoint":
        lastCheckpointMs = Date.now();
        break;
      default:
        break;
    }
  });

  let sending: Promise<void> = Promise.resolve();
  const publish = (): Promise<void> => {
    const at = new Date();
    const data: CloudWatchDatum[] = [];
    let total = 0;
    for (const [table, rows] of rowsByTable) {
      total += rows;
      data.push({ MetricName: "rows", Dimensions: [pipeline, { Name: "Table", Value: table }], Value: rows, Unit: "Count", Timestamp: at });
    }
    rowsByTable.clear();
    data.push({ MetricName: "rows", Dimensions: [pipeline], Value: total, Unit: "Count", Timestamp: at });
    data.push({ MetricName: "errors", Dimensions: [pipeline], Value: errors, Unit: "Count", Timestamp: at });
    data.push({ MetricName: "dead_letters", Dimensions: [pipeline], Value: deadLetters, Unit: "Count", Timestamp: at });
    if (lagSeconds !== undefined) data.push({ MetricName: "lag", Dimensions: [pipeline], Value: lagSeconds, Unit: "Seconds", Timestamp: at });
    data.push({ MetricName: "checkpoint_age", Dimensions: [pipeline], Value: (at.getTime() - lastCheckpointMs) / 1000, Unit: "Seconds", Timestamp: at });
    errors = 0;
    deadLetters = 0;
    // one request at a time, in order
    sending = sending.then(async () => {
      for (let i = 0; i < data.length; i += MAX_DATA_PER_REQUEST) {
        try {
          await options.put({ Namespace: options.namespace, MetricData: data.slice(i, i + MAX_DATA_PER_REQUEST) });
        } catch (error) {
          options.onError?.(error);
        }
      }
    });
    return sending;
  };
  const timer = setInterval(() => void publish(), options.intervalMs ?? 60_000);
  // a publisher alone must not keep a finished process alive
  timer.unref();
  return {
    publish,
    async stop() {
      clearInterval(timer);
      unsubscribe();
      await publish();
    },
  };
}
