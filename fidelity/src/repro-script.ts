import type { Step } from "./workload.js";

/** Options of `renderRepro`. */
export interface ReproOptions {
  readonly pair: string;
  /** Comment lines at the top (seed, gates, config). */
  readonly header: readonly string[];
  /** What ran, in order: steps, and markers for CLI runs and kills. */
  readonly executed: readonly { readonly step: Step; readonly marker?: string }[];
  /** Keep only steps touching these tables (and steps touching no table, e.g. CREATE TYPE); all when undefined. */
  readonly tables: ReadonlySet<string> | undefined;
}

/**
 * Renders the workload that ran as a script: SQL for SQL sources (the
 * markers as comments saying when `zeroetl run` ran or was killed), JSON
 * requests, one per line, for DynamoDB.
 */
export function renderRepro(options: ReproOptions): string {
  const comment = options.pair.startsWith("dynamodb") ? "//" : "--";
  const lines = options.header.map((h) => `${comment} ${h}`);
  for (const { step, marker } of options.executed) {
    if (marker !== undefined) {
      lines.push(`${comment} >>> ${marker}`);
      continue;
    }
    if (options.tables !== undefined && step.tables.length > 0 && !step.tables.some((t) => options.tables?.has(t))) continue;
    lines.push(step.text);
  }
  return lines.join("\n");
}
