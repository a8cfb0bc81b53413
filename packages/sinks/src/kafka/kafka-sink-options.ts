import type { Logger } from "@zero-etl/core";
import { ConfigError, silentLogger } from "@zero-etl/core";

/** Options of {@link createKafkaSink}. */
export interface KafkaSinkOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** Prefix of every topic: tables go to `<prefix>.<namespace>.<table>`, schema changes to `<prefix>.schema-changes`, checkpoints to `<prefix>.zeroetl-checkpoints`. */
  readonly topicPrefix: string;
  /** The value format; `debezium-json` (Debezium's JSON envelope with schemas) is the one there is. */
  readonly format?: "debezium-json";
  /** Partitions of the table topics the sink creates (default 6). Topics that exist are left as they are. */
  readonly partitions?: number;
  /** Replication factor of the topics the sink creates (default: the broker's `default.replication.factor`). */
  readonly replicationFactor?: number;
  /** The producer's transactional id (default `zeroetl-<pipeline>`): one per pipeline, so a second run fences the first. */
  readonly transactionalId?: string;
  /** Client id sent to the brokers (default `zeroetl`). */
  readonly clientId?: string;
  /** Most bytes of records sent in one produce request inside a transaction (default 512 KiB, under the broker's default `message.max.bytes`). */
  readonly maxRequestBytes?: number;
  /**
   * Hand the initial snapshot of plain PostgreSQL tables out to the workers
   * (Kafka sources with `distributedSnapshot`) as work items, one per CTID
   * range, instead of reading it here; `true` takes the defaults.
   */
  readonly distributedSnapshot?: boolean | DistributedSnapshotOptions;
  readonly logger?: Logger;
}

/** Options of the distributed snapshot ({@link KafkaSinkOptions.distributedSnapshot}). */
export interface DistributedSnapshotOptions {
  /** Blocks (8 KiB pages) of the table per work item (default 1,024, about 8 MB). */
  readonly chunkBlocks?: number | undefined;
  /** Partitions of the work topic the sink creates (default: `partitions`); the most workers that read at once. */
  readonly workPartitions?: number | undefined;
}

/** {@link KafkaSinkOptions} with defaults applied and checked. */
export interface KafkaSinkConfig {
  readonly brokers: readonly string[];
  readonly topicPrefix: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly transactionalId: string | undefined;
  readonly clientId: string;
  readonly maxRequestBytes: number;
  readonly distributedSnapshot: { readonly chunkBlocks: number; readonly workPartitions: number } | undefined;
  readonly logger: Logger;
}

const TOPIC_CHARS = /^[A-Za-z0-9._-]+$/;

/** Applies defaults and checks the options; throws a {@link ConfigError} naming the field. */
export function resolveKafkaSinkConfig(options: KafkaSinkOptions): KafkaSinkConfig {
  if (options.brokers.length === 0) throw new ConfigError("target.brokers", "at least one host:port");
  for (const broker of options.brokers) if (!/^[^\s:/]+:\d+$/.test(broker)) throw new ConfigError("target.brokers", "host:port entries", broker);
  if (!TOPIC_CHARS.test(options.topicPrefix) || options.topicPrefix.length > 200) throw new ConfigError("target.topicPrefix", "1-200 of A-Z a-z 0-9 . _ -");
  if (options.format !== undefined && options.format !== "debezium-json") throw new ConfigError("target.format", '"debezium-json"', String(options.format));
  const partitions = options.partitions ?? 6;
  if (!Number.isInteger(partitions) || partitions < 1) throw new ConfigError("target.partitions", "a positive integer");
  const replicationFactor = options.replicationFactor ?? -1;
  if (!Number.isInteger(replicationFactor) || (replicationFactor < 1 && replicationFactor !== -1)) throw new ConfigError("target.replicationFactor", "a positive integer");
  let distributedSnapshot: KafkaSinkConfig["distributedSnapshot"];
  const distributed = options.distributedSnapshot;
  if (distributed !== undefined && distributed !== false) {
    const given = distributed === true ? {} : distributed;
    const chunkBlocks = given.chunkBlocks ?? 1024;
    if (!Number.isInteger(chunkBlocks) || chunkBlocks < 1) throw new ConfigError("target.distributedSnapshot.chunkBlocks", "a positive integer");
    const workPartitions = given.workPartitions ?? partitions;
    if (!Number.isInteger(workPartitions) || workPartitions < 1) throw new ConfigError("target.distributedSnapshot.workPartitions", "a positive integer");
    distributedSnapshot = { chunkBlocks, workPartitions };
  }
  return {
    distributedSnapshot,
    brokers: options.brokers,
    topicPrefix: options.topicPrefix,
    partitions,
    replicationFactor,
    transactionalId: options.transactionalId,
    clientId: options.clientId ?? "zeroetl",
    maxRequestBytes: options.maxRequestBytes ?? 512 * 1024,
    logger: options.logger ?? silentLogger,
  };
}

/**
 * The topic of a table: `<prefix>.<namespace>.<table>`, characters Kafka
 * does not allow in topic names replaced by `_`.
 */
export function kafkaTopicName(prefix: string, namespace: string, table: string): string {
  return `${prefix}.${namespace}.${table}`.replace(/[^A-Za-z0-9._-]/g, "_");
}
