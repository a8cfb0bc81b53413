/**
 * A generated workload: what the harness runs against the source, in
 * order, as plain statements it can also print as a reproduction script.
 */
export interface Workload {
  /** Statements run before the first `run` (the snapshot path). */
  readonly setup: readonly Step[];
  /** Phases after the first run; each ends with a restart or a kill -9 during it. */
  readonly phases: readonly Phase[];
  /** Pairs of source tables that hold the same values, one snapshotted and one streamed. */
  readonly twins: readonly (readonly [snapshotted: string, streamed: string])[];
  /** Gates (without pair prefix) the generator actually used, for the report. */
  readonly usedFeatures: ReadonlySet<string>;
}

/** One unit of work at the source: a transaction or one DDL statement (SQL), or one DynamoDB request (JSON). */
export interface Step {
  /** SQL text (may hold several statements) or, for DynamoDB, a JSON-encoded request. */
  readonly text: string;
  /** The source tables it touches (for a reproduction filtered to the failing tables). */
  readonly tables: readonly string[];
  /** The feature gates (without pair prefix) this step exercises. */
  readonly features: readonly string[];
}

/**
 * How a phase ends: a clean restart (`run --until-caught-up` after its
 * steps), a kill -9 of a running CLI during them, or `self-kill`: after its
 * steps a `run --until-caught-up` whose test kill switch
 * (`ZEROETL_TEST_KILL_AFTER`, docs/fidelity.md) kills it at an exact point
 * of the run, such as right after a partial flush of a large transaction.
 */
export interface Phase {
  readonly steps: readonly Step[];
  readonly end:
    | { readonly kind: "restart" }
    | { readonly kind: "kill"; readonly afterStep: number; readonly delayMs: number }
    | { readonly kind: "self-kill"; readonly plan: string };
}

/** Answers whether a feature (name without the pair prefix) is enabled. */
export type FeatureCheck = (feature: string) => boolean;
