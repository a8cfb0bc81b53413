import type { PipelineMetrics } from "@zero-etl/core";
import { createPrometheusMetrics } from "@zero-etl/core/prometheus";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";

/**
 * Serves a pipeline's metrics as Prometheus series on `port` (0: a free one).
 * Its own module, imported only by a run given `--metrics-port`: the
 * Prometheus client costs tens of milliseconds of CPU to load, which the
 * compiled CLI (one bundle, split at dynamic imports) otherwise spares.
 */
export function servePipelineMetrics(metrics: PipelineMetrics, pipeline: string, port: number): Promise<MetricsServer> {
  return startMetricsServer(createPrometheusMetrics(metrics, { pipeline }), port);
}
