import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { RedshiftSinkOptions } from "@zero-etl/sinks/redshift";
import {
  ConfigError,
  createFileCheckpointStore,
  defaultCopyParallelism,
  isOnThisHost,
  createFileDeadLetterQueue,
  type CheckpointStore,
  type ConnectionTimeouts,
  type DeadLetterQueue,
  type Logger,
  type Mapper,
  type Sink,
  type Source,
  type TableRef,
  tableKey,
} from "@zero-etl/core";
import type { PipelineConfig } from "./pipeline-config.js";
import { LiveTableFilter } from "./live-table-filter.js";
import { resolveTargetNaming, type TargetNaming } from "./target-naming.js";

/** The parts a config describes, connected and ready for `runPipeline`. */
export interface PipelineParts {
  readonly source: Source;
  readonly sink: Sink;
  readonly mappers: readonly Mapper[];
  readonly checkpoints: CheckpointStore;
  readonly deadLetters: DeadLetterQueue;
  readonly stateDir: string;
  /** How source tables are named in the target; check it with `assertDistinctTargetNames` before running. */
  readonly naming: TargetNaming;
  /**
   * The table filter the source and the filter mapper select with, when the
   * source can take a new one while it runs (PostgreSQL, MySQL/MariaDB: see
   * `LiveTableFilter`); absent for the other sources.
   */
  readonly liveFilter?: LiveTableFilter;
}

/** Source types whose table selection a running pipeline can change (a config reload of `filter`). */
export const LIVE_FILTER_SOURCES: ReadonlySet<string> = new Set(["postgres", "mysql"]);

/** Where local state lives when the config does not say. */
export const DEFAULT_STATE_DIR = ".zero-etl/state";

/**
 * Builds source, sink and mappers from a validated config. Connectors are
 * imported on demand, so a PostgreSQL pipeline never loads the AWS SDK.
 */
export async function buildPipeline(config: PipelineConfig, logger: Logger): Promise<PipelineParts> {
  const stateDir = config.state?.dir ?? DEFAULT_STATE_DIR;
  const mappers: Mapper[] = [];
  let include: ((ref: TableRef) => boolean) | undefined;
  let includeNamespaces: readonly (string | undefined)[] | undefined;
  let liveFilter: LiveTableFilter | undefined;
  if (config.filter !== undefined || LIVE_FILTER_SOURCES.has(config.source.type)) {
    const { createFilterMapper, parseTableFilter } = await import("@zero-etl/mappers");
    const parsed = config.filter === undefined ? undefined : parseTableFilter(tableFilterOptions(config));
    // where the source can take a new selection while it runs, source and mapper ask the live filter
    const tables = LIVE_FILTER_SOURCES.has(config.source.type) ? (liveFilter = new LiveTableFilter(parsed)) : parsed;
    if (tables !== undefined) {
      include = (ref) => tables.matchesTable(ref);
      includeNamespaces = tables.includeNamespaces;
    }
    if (config.filter !== undefined) mappers.push(createFilterMapper({ tables, ...(config.filter.rows === undefined ? {} : { rows: config.filter.rows }) }));
  }
  if (config.mapping?.unnest !== undefined) {
    const { createUnnestMapper } = await import("@zero-etl/mappers");
    mappers.push(createUnnestMapper(config.mapping.unnest));
  }
  const naming = resolveTargetNaming({
    configured: config.mapping?.tableNames,
    includeNamespaces,
    supportsQualifiedNames: config.target.type === "postgres",
    targetType: config.target.type,
  });
  const sink = await buildSink(config, logger, naming);
  return {
    // a sink that cannot compute stored generated columns gets their values from the source
    source: await buildSource(config, logger, include, sink.capabilities.generatedColumns !== "computed"),
    sink,
    naming,
    mappers,
    checkpoints: createFileCheckpointStore(stateDir),
    deadLetters: createFileDeadLetterQueue(join(stateDir, `${config.name}.dead-letters.jsonl`)),
    stateDir,
    ...(liveFilter === undefined ? {} : { liveFilter }),
  };
}

/** The config's `filter.include`/`exclude` as `parseTableFilter` takes them. */
export function tableFilterOptions(config: PipelineConfig): { include?: readonly string[]; exclude?: readonly string[] } {
  const filter = config.filter;
  return {
    ...(filter?.include === undefined ? {} : { include: filter.include }),
    ...(filter?.exclude === undefined ? {} : { exclude: filter.exclude }),
  };
}

async function buildSource(config: PipelineConfig, logger: Logger, include: ((ref: TableRef) => boolean) | undefined, computeGenerated: boolean): Promise<Source> {
  const source = config.source;
  const common = { pipeline: config.name, logger: logger.child({ component: "source" }), ...(include === undefined ? {} : { include }) };
  switch (source.type) {
    case "postgres": {
      const { createPostgresSource } = await import("@zero-etl/sources/postgres");
      const { type: _type, ...options } = source;
      // a row can enter a row filter through an update that leaves a TOAST value out: read it from the source.
      // Into Kafka every update goes whole: a key-changing update becomes a delete under the old key and a
      // create under the new one, which land in different partitions and may be applied by different
      // workers, so no consumer can take the unsent value from the old row (and Debezium consumers expect
      // full rows anyway)
      const filtered = new Set(Object.keys(config.filter?.rows ?? {}));
      const whole = config.target.type === "kafka";
      const fetch = whole ? { fetchUnchangedFor: () => true } : filtered.size === 0 ? {} : { fetchUnchangedFor: (ref: TableRef) => filtered.has(tableKey(ref)) };
      return createPostgresSource({ ...common, ...timeoutsOf(config), ...withoutUndefined(options), ...fetch, computeGenerated, snapshot: { parallelism: snapshotParallelism(config, source.snapshot?.parallelism) } });
    }
    case "mysql": {
      const { createMysqlSource } = await import("@zero-etl/sources/mysql");
      const { type: _type, ...options } = source;
      const { include: tables, ...rest } = common;
      return createMysqlSource({ ...rest, ...(tables === undefined ? {} : { tables }), ...timeoutsOf(config), ...withoutUndefined(options) });
    }
    case "dynamodb": {
      const { createDynamoDbSource } = await import("@zero-etl/sources/dynamodb");
      const { type: _type, ...options } = source;
      return createDynamoDbSource({ ...common, ...withoutUndefined(options) } as unknown as Parameters<typeof createDynamoDbSource>[0]);
    }
    case "oracle": {
      const { createOracleSource } = await import("@zero-etl/sources/oracle");
      const { type: _type, ...options } = source;
      const { include: tables, ...rest } = common;
      return createOracleSource({ ...rest, ...(tables === undefined ? {} : { tables }), ...timeoutsOf(config), ...withoutUndefined(options) });
    }
    case "kafka": {
      const { createKafkaSource } = await import("@zero-etl/sources/kafka");
      const { type: _type, ...options } = source;
      return createKafkaSource({ logger: common.logger, ...withoutUndefined(options) });
    }
  }
}

async function buildSink(config: PipelineConfig, logger: Logger, naming: TargetNaming): Promise<Sink> {
  const target = config.target;
  const common = { logger: logger.child({ component: "sink" }) };
  switch (target.type) {
    case "postgres": {
      const { createPostgresSink } = await import("@zero-etl/sinks/postgres");
      const { type: _type, ...options } = target;
      return createPostgresSink({ ...common, ...timeoutsOf(config), ...withoutUndefined(options), tableName: naming.tableName });
    }
    case "iceberg": {
      const { createIcebergSink } = await import("@zero-etl/sinks/iceberg");
      const { type: _type, ...options } = target;
      // a DynamoDB number (38 digits, exponent -130..+125) fits no fixed decimal: keep it exact as text unless told otherwise
      const numbers = config.source.type === "dynamodb" && options.unconstrainedDecimal === undefined ? { unconstrainedDecimal: "string" } : {};
      return createIcebergSink({ ...common, ...withoutUndefined(options), ...numbers } as unknown as Parameters<typeof createIcebergSink>[0]);
    }
    case "opensearch": {
      const { createOpenSearchSink } = await import("@zero-etl/sinks/opensearch");
      const { type: _type, auth, ...options } = target;
      return createOpenSearchSink({ ...common, ...timeoutsOf(config), ...withoutUndefined(options), ...(auth === undefined ? {} : { auth: withoutUndefined(auth) }) });
    }
    case "kafka": {
      const { createKafkaSink } = await import("@zero-etl/sinks/kafka");
      const { type: _type, ...options } = target;
      return createKafkaSink({ ...common, ...withoutUndefined(options) });
    }
    case "redshift": {
      const { createRedshiftSink } = await import("@zero-etl/sinks/redshift");
      const { type: _type, statementRunnerModule, ...options } = target;
      // test support only: the repository's tests run the sink's statements on PostgreSQL through a translating runner
      const statementRunner =
        statementRunnerModule === undefined
          ? {}
          : { statementRunner: ((await import(pathToFileURL(resolve(statementRunnerModule)).href)) as { createRedshiftStatementRunner: RedshiftRunnerFactory }).createRedshiftStatementRunner };
      return createRedshiftSink({ ...common, ...(withoutUndefined(options) as Omit<Parameters<typeof createRedshiftSink>[0], "logger">), tableName: naming.tableName, ...statementRunner });
    }
  }
}

/** What a `target.statementRunnerModule` exports (test support only). */
type RedshiftRunnerFactory = NonNullable<RedshiftSinkOptions["statementRunner"]>;

/** The config's `timeouts`, as the connectors' `timeouts` option (absent when the config has none). */
function timeoutsOf(config: PipelineConfig): { timeouts?: Partial<ConnectionTimeouts> } {
  return config.timeouts === undefined ? {} : { timeouts: withoutUndefined(config.timeouts) };
}

/** Drops undefined fields, for options typed with exactOptionalPropertyTypes. */
export function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/**
 * `source.snapshot.parallelism`, or by default as many COPY streams as this
 * host's cores allow with the servers of the load that run here counted
 * (`defaultCopyParallelism`): each stream keeps a backend busy on both.
 */
export function snapshotParallelism(config: PipelineConfig, configured: number | undefined, cores: number = availableParallelism()): number {
  if (configured !== undefined) return configured;
  const urls = [config.source, config.target].map((endpoint) => ("url" in endpoint && typeof endpoint.url === "string" ? endpoint.url : undefined));
  const serversOnThisHost = urls.filter((url) => url !== undefined && isOnThisHost(url)).length;
  return defaultCopyParallelism({ cores, serversOnThisHost });
}
