import type { StatusReport } from "../commands/status-report.js";
import { formatTable } from "./format-table.js";

const BOLD = "\x1b[1m";
const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";
const GREEN = "\x1b[32m";
const RESET = "\x1b[0m";

function colourState(state: string, colour: boolean): string {
  if (!colour) return state;
  if (state === "synced") return `${GREEN}${state}${RESET}`;
  if (state === "failed" || state === "resync-required") return `${RED}${state}${RESET}`;
  return `${YELLOW}${state}${RESET}`;
}

function ago(iso: string | undefined, now: number): string {
  if (iso === undefined) return "-";
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  return seconds < 100 ? `${seconds.toFixed(1)} s ago` : `${Math.round(seconds / 60)} min ago`;
}

/**
 * The frame of `zeroetl status --watch`: the run, the checkpoint and the
 * source's position, then one line per table (state, rows, lag, last error),
 * as many as fit in `height` lines.
 */
export function renderStatusView(report: StatusReport, options: { intervalMs: number; height: number; colour: boolean }): string[] {
  const now = Date.parse(report.generatedAt);
  const bold = (s: string) => (options.colour ? `${BOLD}${s}${RESET}` : s);
  const lines: string[] = [bold(`zeroetl status --watch  pipeline ${report.pipeline}  ${report.generatedAt.slice(11, 19)} UTC  (every ${options.intervalMs / 1000} s, Ctrl-C quits)`), ""];
  const run = report.run;
  if (run === null) {
    lines.push("run: no live run of this pipeline on this host");
  } else {
    const state = run.retrying === undefined ? "running" : `RETRYING since ${run.retrying.since.slice(11, 19)} (${run.retrying.side}: ${run.retrying.operation}, attempt ${run.retrying.attempt}): ${run.retrying.error}`;
    const lag = run.lagSeconds === undefined ? "" : `, lag ${run.lagSeconds.toFixed(1)} s`;
    lines.push(`run: process ${run.pid} since ${run.startedAt.slice(11, 19)}, ${state}${lag}, last checkpoint ${ago(run.lastCheckpointAt, now)}, dead letters ${run.deadLetters ?? 0}, retries ${run.retries}`);
  }
  if (report.checkpoint === null) {
    lines.push(report.checkpointError === null ? "checkpoint: none yet (the next run starts with a snapshot)" : `checkpoint: unavailable (${report.checkpointError})`);
  } else {
    lines.push(`checkpoint: ${report.checkpoint.position ?? "-"} (${report.checkpoint.phase}) saved ${ago(report.checkpoint.savedAt, now)}`);
  }
  lines.push(`source: ${report.sourcePosition ?? `unavailable (${report.sourcePositionError ?? "?"})`}   behind: ${report.logLag ?? "-"}${report.caughtUp ? "  (caught up)" : ""}`);
  lines.push("");
  const rows = report.tables.map((t) => [t.table, t.state, t.rows.toLocaleString("en"), t.lag ?? "-", t.lastError ?? ""]);
  const room = Math.max(1, options.height - lines.length - 2);
  const shown = rows.length > room ? rows.slice(0, room - 1) : rows;
  const table = formatTable(["table", "state", "rows", "lag", "last error"], shown).split("\n");
  // colour after aligning, so the escape codes do not count as width
  lines.push(...table.map((line, i) => (i < 2 ? line : line.replace(` ${shown[i - 2]?.[1] ?? ""} `, ` ${colourState(shown[i - 2]?.[1] ?? "", options.colour)} `))));
  if (shown.length < rows.length) lines.push(`... ${rows.length - shown.length} more tables (zeroetl status --json lists them all)`);
  if (report.tables.length === 0 && report.checkpoint !== null) lines.push("(no tables)");
  return lines;
}
