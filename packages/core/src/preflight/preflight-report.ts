/**
 * One preflight finding: what was checked, whether it holds, and what to do.
 * `fixable` says whether `check --fix` may change it safely; `fixed` says it
 * was changed in this run.
 */
export interface PreflightCheck {
  /** Stable identifier, e.g. `postgres.wal_level`, `mysql.binlog_format`. */
  readonly id: string;
  readonly ok: boolean;
  /** What was found, in one sentence, naming the setting or object. */
  readonly message: string;
  /** What the user must do when `ok` is false and it cannot be fixed automatically. */
  readonly remedy?: string;
  readonly fixable?: boolean;
  readonly fixed?: boolean;
  /** A failed check that does not stop replication (e.g. low retention) is a warning. */
  readonly severity?: "error" | "warning";
  /**
   * `log-retention`: how much replication log the source keeps for the
   * pipeline (retained WAL, binlog expiry, stream retention); `zeroetl status`
   * shows these next to the pipeline's position.
   */
  readonly topic?: "log-retention";
}

/** The findings of one component's preflight. */
export interface PreflightReport {
  readonly component: string;
  readonly checks: readonly PreflightCheck[];
}

/** Options of a preflight run. */
export interface PreflightOptions {
  /** Apply the safe fixes (`fixable: true`) and report them as `fixed`. */
  readonly fix: boolean;
  /**
   * Replication slots (or the source's equivalent) the user explicitly asked
   * to drop (`zeroetl check --drop-slot NAME`): abandoned ones of other,
   * renamed or removed pipelines. Sources without such a thing ignore it.
   */
  readonly dropSlots?: readonly string[];
  readonly signal?: AbortSignal;
}

/** True when no check failed with error severity. */
export function isPreflightPassing(report: PreflightReport): boolean {
  return report.checks.every((c) => c.ok || c.severity === "warning");
}
