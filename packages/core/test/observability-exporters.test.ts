import { describe, expect, it } from "vitest";
import { createCloudWatchPublisher, createPipelineMetrics, createPrometheusMetrics, type CloudWatchPutInput } from "../src/index.js";

describe("createPrometheusMetrics", () => {
  it("keeps one series per table and operation, table states with their zeros, and the checkpoint age from the clock", async () => {
    let now = 1_000_000;
    const metrics = createPipelineMetrics();
    const prometheus = createPrometheusMetrics(metrics, { pipeline: "p", now: () => now });
    metrics.emit({ type: "rows", table: "s.t", op: "insert", rows: 3, bytes: 30 });
    metrics.emit({ type: "rows", table: "s.t", op: "insert", rows: 2, bytes: 20 });
    metrics.emit({ type: "rows", table: "s.t", op: "delete", rows: 1, bytes: 5 });
    metrics.emit({ type: "checkpoint", position: "0/1", tables: { "s.t": { state: "synced", rows: 6, updatedAt: "x" } } });
    metrics.emit({ type: "table-state", table: "s.u", state: "failed", reason: "no" });
    metrics.emit({ type: "dead-letter", table: "s.t", count: 2 });
    metrics.emit({ type: "retrying", operation: "write changes", side: "target", attempt: 1, delayMs: 1, elapsedMs: 1, code: "connection-failed", error: "down" });
    now += 2_500;
    const text = await prometheus.text();
    expect(text).toContain('zeroetl_rows_total{pipeline="p",table="s.t",operation="insert"} 5');
    expect(text).toContain('zeroetl_bytes_total{pipeline="p",table="s.t",operation="insert"} 50');
    expect(text).toContain('zeroetl_rows_total{pipeline="p",table="s.t",operation="delete"} 1');
    expect(text).toContain('zeroetl_table_state{pipeline="p",table="s.t",state="synced"} 1');
    expect(text).toContain('zeroetl_table_state{pipeline="p",table="s.t",state="failed"} 0');
    expect(text).toContain('zeroetl_table_state{pipeline="p",table="s.u",state="failed"} 1');
    expect(text).toContain('zeroetl_table_rows{pipeline="p",table="s.t"} 6');
    expect(text).toContain('zeroetl_dead_letters_total{pipeline="p",table="s.t"} 2');
    expect(text).toContain('zeroetl_retrying{pipeline="p"} 1');
    expect(text).toContain('zeroetl_retries_total{pipeline="p",side="target"} 1');
    expect(text).toContain('zeroetl_checkpoint_age_seconds{pipeline="p"} 2.5');
    prometheus.close();
    metrics.emit({ type: "rows", table: "s.t", op: "insert", rows: 100, bytes: 1 });
    expect(await prometheus.text()).toContain('zeroetl_rows_total{pipeline="p",table="s.t",operation="insert"} 5');
  });
});

describe("createCloudWatchPublisher", () => {
  it("publishes each interval's counts once, the last lag, and at most 1,000 data per request", async () => {
    const metrics = createPipelineMetrics();
    const sent: CloudWatchPutInput[] = [];
    const publisher = createCloudWatchPublisher(metrics, { namespace: "N", pipeline: "p", intervalMs: 3_600_000, put: async (input) => void sent.push(input) });
    metrics.emit({ type: "rows", table: "s.a", op: "snapshot", rows: 10, bytes: 1 });
    metrics.emit({ type: "rows", table: "s.a", op: "update", rows: 5, bytes: 1 });
    metrics.emit({ type: "error", code: "x", retryable: true });
    metrics.emit({ type: "lag", seconds: 1.5 });
    await publisher.publish();
    const first = sent.flatMap((r) => r.MetricData);
    expect(first.find((d) => d.MetricName === "rows" && d.Dimensions.length === 2)?.Value).toBe(15);
    expect(first.find((d) => d.MetricName === "rows" && d.Dimensions.length === 1)?.Value).toBe(15);
    expect(first.find((d) => d.MetricName === "errors")?.Value).toBe(1);
    expect(first.find((d) => d.MetricName === "lag")).toMatchObject({ Value: 1.5, Unit: "Seconds" });
    // nothing new: the counts of the next interval are 0, not repeated
    sent.length = 0;
    await publisher.publish();
    const second = sent.flatMap((r) => r.MetricData);
    expect(second.find((d) => d.MetricName === "rows" && d.Dimensions.length === 1)?.Value).toBe(0);
    expect(second.find((d) => d.MetricName === "errors")?.Value).toBe(0);
    // 1,200 tables: two requests
    sent.length = 0;
    for (let i = 0; i < 1200; i++) metrics.emit({ type: "rows", table: `s.t${i}`, op: "insert", rows: 1, bytes: 1 });
    await publisher.stop();
    // 1,200 per-table data, then the pipeline total, errors, dead letters, the last lag and the checkpoint age
    expect(sent.map((r) => r.MetricData.length)).toEqual([1000, 205]);
    expect(sent.flatMap((r) => r.MetricData).find((d) => d.MetricName === "rows" && d.Dimensions.length === 1)?.Value).toBe(1200);
  });
});
