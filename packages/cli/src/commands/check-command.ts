import { ConfigError, createLogger, isPreflightPassing, type PreflightReport } from "@zero-etl/core";
import { buildPipeline, type PipelineParts } from "../config/build-pipeline.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { assertDistinctTargetNames } from "../config/target-naming.js";
import { formatTable } from "../terminal/format-table.js";

/** Options of `zeroetl check`. */
export interface CheckCommandOptions {
  readonly fix: boolean;
  /** Abandoned replication slots to drop, named one by one (`--drop-slot NAME`); never implied by `fix`. */
  readonly dropSlots?: readonly string[];
}

/**
 * `zeroetl check <config> [--fix] [--drop-slot NAME...]`: runs the source's
 * and the sink's preflight, prints every finding with its remedy, with
 * `--fix` repairs what is safe, and drops the inactive `zeroetl_*` slots the
 * user names (a slot's owner cannot be known, so none is dropped unasked).
 * Resolves to true when nothing blocks replication.
 */
export async function checkCommand(file: string, options: CheckCommandOptions): Promise<boolean> {
  const config = await loadPipelineConfig(file);
  const logger = createLogger({ level: config.log?.level ?? "warn" });
  const parts = await buildPipeline(config, logger);
  try {
    const dropSlots = options.dropSlots ?? [];
    const reports: PreflightReport[] = [
      await parts.source.preflight({ fix: options.fix, ...(dropSlots.length === 0 ? {} : { dropSlots }) }),
      await parts.sink.preflight({ fix: options.fix }),
      await targetNamesReport(parts),
    ];
    for (const report of reports) {
      const rows = report.checks.map((c) => [
        c.fixed ? "fixed" : c.ok ? "ok" : c.severity === "warning" ? "warn" : "FAIL",
        c.id,
        c.message + (!c.ok && c.remedy !== undefined ? ` -> ${c.remedy}` : "") + (!c.ok && c.fixable && !options.fix ? " (fixable: run with --fix)" : ""),
      ]);
      process.stdout.write(`${report.component}\n${formatTable(["result", "check", "details"], rows)}\n\n`);
    }
    return reports.every(isPreflightPassing);
  } finally {
    await Promise.allSettled([parts.source.close(), parts.sink.close()]);
  }
}

/** The target-naming check: `mapping.target_names` fails when two selected tables would share a target table. */
async function targetNamesReport(parts: PipelineParts): Promise<PreflightReport> {
  const id = "mapping.target_names";
  try {
    assertDistinctTargetNames(await parts.source.introspect(), parts.naming);
    return { component: "mapping", checks: [{ id, ok: true, message: `every selected table has a target table of its own (naming ${parts.naming.naming})` }] };
  } catch (error) {
    if (error instanceof ConfigError) return { component: "mapping", checks: [{ id, ok: false, severity: "error", fixable: false, message: error.message }] };
    // the source's own checks above say why its tables could not be listed
    return { component: "mapping", checks: [{ id, ok: false, severity: "warning", message: `target names not checked: ${(error as Error).message}` }] };
  }
}
