import type { Rng } from "./prng.js";
import type { Difference } from "./table-comparator.js";
import type { FeatureCheck, Step, Workload } from "./workload.js";

/** The source -> target pairs the fuzzer drives. */
export type PairName = "pg-pg" | "mysql-pg" | "pg-iceberg" | "dynamodb-pg" | "pg-opensearch";

/** Every pair, in the order CI runs them. */
export const PAIRS: readonly PairName[] = ["pg-pg", "mysql-pg", "pg-iceberg", "dynamodb-pg", "pg-opensearch"];

/** One pair: how to generate a workload, and how to stand up a source and target for one seed. */
export interface PairDriver {
  readonly pair: PairName;
  /** The gate prefix of this pair (`pg`, `mysql`, `iceberg`, `dynamodb`, `opensearch`). */
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
  /** Reads source and target independently of the sink and returns their differences. */
  compare(): Promise<Difference[]>;
  /** Drops what `open` created. */
  close(): Promise<void>;
}
