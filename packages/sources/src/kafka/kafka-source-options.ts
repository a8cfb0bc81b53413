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
  /** Milliseconds without a heartbeat after which the group gives a worker's partitions to the others (default 10,000). */
  readonly sessionTimeoutMs?: number;
  /** Most records in one batch handed to the runtime (default 5,000). */
  readonly maxBatchRecords?: number;
  readonly logger?: Logger;
}

/** {@link KafkaSourceOptions} with defaults applied. */
export interface KafkaSourceConfig {
  readonly brokers: readonly string[];
  readonly topics: readonly string[] | undefined;
  readonly topicPrefix: string | undefined;
  readonly group: string;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly maxBatchRecords: number;
  readonly logger: Logger;
}

/** Applies defaults and checks the options; throws a {@link ConfigError} naming the field. */
export function resolveKafkaSourceConfig(options: KafkaSourceOptions): KafkaSourceConfig {
  if (options.brokers.length === 0) throw new ConfigError("source.brokers", "at least one host:port");
  for (const broker of options.brokers) if (!/^[^\s:/]+:\d+$/.test(broker)) throw new ConfigError("source.brokers", "host:port entries", broker);
  if ((options.topics === undefined) === (options.topicPrefix === undefined)) throw new ConfigError("source.topics", "either topics or topicPrefix (not both)");
  if (options.topics !== undefined && options.topics.length === 0) throw new ConfigError("source.topics", "at least one topic");
  if (options.group.length === 0) throw new ConfigError("source.group", "a consumer group name");
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
  if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < 1000) throw new ConfigError("source.sessionTimeoutMs", "an integer of at least 1000");
  const maxBatchRecords = options.maxBatchRecords ?? 5000;
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) throw new ConfigError("source.maxBatchRecords", "a positive integer");
  return {
    brokers: options.brokers,
    topics: options.topics,
    topicPrefix: options.topicPrefix,
    group: options.group,
    clientId: options.clientId ?? "zeroetl",
    sessionTimeoutMs,
    maxBatchRecords,
    logger: options.logger ?? silentLogger,
  };
}
