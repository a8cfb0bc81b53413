import type { MetricEvent, PipelineMetrics } from "@zero-etl/core";

/**
 * Shows snapshot progress per table: a live line on a terminal, a log-style
 * line every few seconds otherwise. Returns a function that stops it.
 */
export function showSnapshotProgress(metrics: PipelineMetrics, out: NodeJS.WriteStream): () => void {
  const started = new Map<string, number>();
  let lastPrinted = 0;
  let lastLine = "";
  const stop = metrics.subscribe((event: MetricEvent) => {
    if (event.type !== "snapshot-progress") return;
    if (!started.has(event.table)) started.set(event.table, Date.now());
    const seconds = (Date.now() - (started.get(event.table) ?? Date.now())) / 1000;
    const rate = seconds > 0 ? Math.round(event.rowsRead / seconds) : 0;
    const total = event.rowsEstimated !== undefined && event.rowsEstimated > 0 ? event.rowsEstimated : undefined;
    const percent = total === undefined ? "" : ` ${Math.min(100, Math.round((event.rowsRead / total) * 100))}%`;
    const line = `snapshot ${event.table}: ${event.rowsRead.toLocaleString("en")} rows${percent}${event.done ? " done" : ""} (${rate.toLocaleString("en")} rows/s)`;
    if (out.isTTY) {
      out.write(`\r\x1b[2K${line}${event.done ? "\n" : ""}`);
    } else if (event.done || Date.now() - lastPrinted > 5_000) {
      out.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    lastLine = line;
  });
  return () => {
    stop();
    if (out.isTTY && lastLine !== "" && !lastLine.endsWith("done")) out.write("\n");
  };
}
