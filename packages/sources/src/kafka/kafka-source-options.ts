import type { Logger } from "@zero-etl/core";
import { ConfigError, silentLogger } from "@zero-etl/core";

/** Options of {@link createKafkaSource}. */
export interface KafkaSourceOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** The topics to read; or */
  readonly topics?: readonly string[];
  /** every topic named `<topicPrefix>.*` when the worker starts, except the sink's `schema-changes` and `zeroetl-checkpoints` topics. */
  readonly topicPrefix?: string;
  /** The consumer group: workers of one group share the topics' partitions. */
  readonly group: string;
  readonly clientId?: string;
  /** Most records in one batch handed to the runtime (default 5,000). */
  readonly maxBatchRecords?: number;
  /**
   * Milliseconds a partition newly assigned to this worker is held back
   * before its records are applied (default 5,000): time for its previous
   * owner to flush what it took before the partition was revoked. Longer
   * than the batch policy's `maxWaitMs` plus a flush.
   */
  readonly handoverGraceMs?: number;
  /**
   * Take part in distributed snapshots (the Kafka target's
   * `distributedSnapshot`): claim work items of `<topicPrefix>.zeroetl-snapshot-work`
   * and read their ranges from the capture run's source database, inside its
   * exported snapshot. Needs `topicPrefix`.
   */
  readonly distributedSnapshot?: DistributedSnapshotWorkerOptions;
  readonly logger?: Logger;
}

/** Where a worker reads the ranges of a distributed snapshot. */
export interface DistributedSnapshotWorkerOptions {
  /** The capture run's source database (`postgres://…`), the one its snapshot was exported in. */
  readonly sourceUrl: string;
  /** TLS options for that connection, as the PostgreSQL source's `ssl`. */
  readonly ssl?: boolean | Readonly<Record<string, unknown>> | undefined;
}

/** {@link KafkaSourceOptions} with defaults applied. */
export interface KafkaSourceConfig {
  readonly brokers: readonly string[];
  readonly topics: readonly string[] | undefined;
  readonly topicPrefix: string | undefined;
  readonly group: string;
  readonly clientId: string;
  readonly maxBatchRecords: number;
  readonly handoverGraceMs: number;
  readonly distributedSnapshot: DistributedSnapshotWorkerOptions | undefined;
  readonly logger: Logger;
}

/** Applies defaults and checks the options; throws a {@link ConfigError} naming the field. */
export function resolveKafkaSourceConfig(options: KafkaSourceOptions): KafkaSourceConfig {
  if (options.brokers.length === 0) throw new ConfigError("source.brokers", "at least one host:port");
  for (const broker of options.brokers) if (!/^[^\s:/]+:\d+$/.test(broker)) throw new ConfigError("source.brokers", "host:port entries", broker);
  if ((options.topics === undefined) === (options.topicPrefix === undefined)) throw new ConfigError("source.topics", "either topics or topicPrefix (not both)");
  if (options.topics !== undefined && options.topics.length === 0) throw new ConfigError("source.topics", "at least one topic");
  if (options.group.length === 0) throw new ConfigError("source.group", "a consumer group name");
  const maxBatchRecords = options.maxBatchRecords ?? 5000;
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) throw new ConfigError("source.maxBatchRecords", "a positive integer");
  const handoverGraceMs = options.handoverGraceMs ?? 5000;
  if (!Number.isInteger(handoverGraceMs) || handoverGraceMs < 0) throw new ConfigError("source.handoverGraceMs", "a non-negative integer");
  const distributed = options.distributedSnapshot;
  if (distributed !== undefined) {
    if (options.topicPrefix === undefined) throw new ConfigError("source.distributedSnapshot", "source.topicPrefix set (the work topic is <topicPrefix>.zeroetl-snapshot-work)");
    if (typeof distributed.sourceUrl !== "string" || !/^postgres(ql)?:\/\//.test(distributed.sourceUrl)) throw new ConfigError("source.distributedSnapshot.sourceUrl", "a postgres:// URL of the capture run's source database");
  }
  return {
    handoverGraceMs,
    distributedSnapshot: distributed,
    brokers: options.brokers,
    topics: options.topics,
    topicPrefix: options.topicPrefix,
    group: options.group,
    clientId: options.clientId ?? "zeroetl",
    maxBatchRecords,
    logger: options.logger ?? silentLogger,
  };
}
