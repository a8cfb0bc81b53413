import type { Rng } from "./prng.js";
import type { Difference } from "./table-comparator.js";
import type { FeatureCheck, Step, Workload } from "./workload.js";

/** The source -> target pairs the fuzzer drives. */
export type PairName = "pg-pg" | "mysql-pg" | "pg-iceberg" | "dynamodb-pg" | "pg-opensearch" | "pg-kafka-pg" | "pg-redshift";

/** Every pair, in the order CI runs them. */
export const PAIRS: readonly PairName[] = ["pg-pg", "mysql-pg", "pg-iceberg", "dynamodb-pg", "pg-opensearch", "pg-kafka-pg", "pg-redshift"];

/** One pair: how to generate a workload, and how to stand up a source and target for one seed. */
export interface PairDriver {
  readonly pair: PairName;
  /** The gate prefix of this pair (`pg`, `mysql`, `iceberg`, `dynamodb`, `opensearch`, `kafka`, `redshift`). */
  readonly prefix: string;
  /** `focus` marks features to generate often (the gates turned on explicitly, so that one seed exercises them). */
  generate(rng: Rng, on: FeatureCheck, focus?: FeatureCheck): Workload;
  /** Creates a fresh source and target for one seed (`label` is unique and safe as an identifier). */
  open(label: string, workload: Workload, on: FeatureCheck): Promise<OpenPair>;
}

/** A source and target ready for one seed. */
export interface OpenPair {
  /** The pipeline config's `source`, `target`, `mapping`, … (the harness adds `name`, `state`, `log`). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Extra environment for the CLI (e.g. AWS credentials for DynamoDB Local). */
  readonly env: NodeJS.ProcessEnv;
  /** Runs one step at the source; returns the number of row changes (and DDL statements) it made. */
  execute(step: Step): Promise<number>;
  /** Reads source and target independently of the sink and returns their differences (`twins: false`: without the snapshot-vs-stream twin check, which holds only once the phases wrote the streamed twin). */
  compare(options?: { readonly twins?: boolean }): Promise<Difference[]>;
  /** Drops what `open` created. */
  close(): Promise<void>;
  /** A second pipeline applying what the first wrote (a Kafka worker); absent for a one-process pair. */
  readonly downstream?: DownstreamPipeline;
}

/**
 * A pipeline the harness runs after the first one (`config`) in every phase:
 * after each `run --until-caught-up` of the first it starts `zeroetl run`
 * of this one in the background and stops it (SIGTERM) once `compare()` of
 * the pair finds no difference, or fails the seed with the differences when
 * that does not happen within the run timeout. During a kill phase both
 * pipelines run in the background and both get the SIGKILL.
 */
export interface DownstreamPipeline {
  /** The pipeline config's `source`, `target`, … (the harness adds `name`, `state`, `log`). */
  readonly config: Readonly<Record<string, unknown>>;
}
