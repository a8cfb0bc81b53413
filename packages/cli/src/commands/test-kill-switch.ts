import type { MetricEvent, PipelineMetrics } from "@zero-etl/core";

/** The environment variable that arms {@link armTestKillSwitch}. Test-only. */
export const TEST_KILL_ENV = "ZEROETL_TEST_KILL_AFTER";

/** One step of a kill plan: an event type and the fields it must have (compared as text). */
interface KillStep {
  readonly type: string;
  readonly fields: ReadonlyMap<string, string>;
}

/**
 * Parses a kill plan: steps separated by `>`, each `type` or
 * `type:field=value,field=value` (e.g.
 * `snapshot-progress:table=db.t,done=true>checkpoint`). Throws on a step
 * without a type.
 */
export function parseKillPlan(text: string): readonly KillStep[] {
  return text.split(">").map((part) => {
    const [type = "", rest] = part.trim().split(/:(.*)/s);
    if (type === "") throw new Error(`${TEST_KILL_ENV}: a step without an event type in ${JSON.stringify(text)}`);
    const fields = new Map<string, string>();
    for (const pair of rest === undefined || rest === "" ? [] : rest.split(",")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new Error(`${TEST_KILL_ENV}: ${JSON.stringify(pair)} is not field=value`);
      fields.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return { type, fields };
  });
}

function matches(step: KillStep, event: MetricEvent): boolean {
  if (event.type !== step.type) return false;
  const record = event as unknown as Record<string, unknown>;
  for (const [field, value] of step.fields) if (String(record[field]) !== value) return false;
  return true;
}

/**
 * Crash-test fault injection (test-only, documented in docs/fidelity.md):
 * when `ZEROETL_TEST_KILL_AFTER` holds a kill plan, the process sends itself
 * SIGKILL the moment the pipeline has emitted the plan's metric events in
 * order. Metric events are emitted synchronously where the runtime does the
 * thing they report (a `checkpoint` right after the checkpoint is saved and
 * acknowledged), so the kill lands at an exact point of the run, as a
 * `kill -9` could only by luck. Does nothing without the variable.
 */
export function armTestKillSwitch(metrics: PipelineMetrics, env: NodeJS.ProcessEnv = process.env): void {
  const text = env[TEST_KILL_ENV];
  if (text === undefined || text === "") return;
  const plan = parseKillPlan(text);
  let next = 0;
  metrics.subscribe((event) => {
    const step = plan[next];
    if (step === undefined || !matches(step, event)) return;
    next++;
    if (next === plan.length) process.kill(process.pid, "SIGKILL");
  });
}
