import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { ConfigError } from "@zero-etl/core";
import { z } from "zod";

const identifier = z.string().min(1, "a non-empty name");
const url = (scheme: string) =>
  z.string({ error: `a ${scheme}:// URL` }).refine((value) => {
    try {
      return new URL(value).protocol.startsWith(scheme);
    } catch {
      return false;
    }
  }, `a ${scheme}:// URL`);
const ssl = z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional();

const postgresSource = z.strictObject({
  type: z.literal("postgres"),
  url: url("postgres"),
  publication: identifier.optional(),
  slot: identifier.optional(),
  ssl,
  snapshotChunkRows: z.number().int().positive().optional(),
  snapshot: z.strictObject({ parallelism: z.number().int().min(1).max(64).optional() }).optional(),
  ddlCapture: z.boolean().optional(),
  partitions: z.enum(["root", "leaves"]).optional(),
  resyncSnapshotWaitSeconds: z.number().positive().max(86_400).optional(),
});
const mysqlSource = z.strictObject({
  type: z.literal("mysql"),
  url: url("mysql"),
  serverId: z.number().int().positive().max(4294967295).optional(),
  ssl,
  snapshotChunkRows: z.number().int().positive().optional(),
});
const dynamodbSource = z.strictObject({
  type: z.literal("dynamodb"),
  table: identifier,
  region: identifier,
  endpoint: url("http").optional(),
  snapshot: z.record(z.string(), z.unknown()).optional(),
  routing: z.record(z.string(), z.unknown()).optional(),
});
const oracleSource = z.strictObject({
  type: z.literal("oracle"),
  url: url("oracle"),
  owner: identifier.optional(),
  windowScns: z.number().int().positive().optional(),
  pollMs: z.number().int().positive().optional(),
  maxBatchEvents: z.number().int().positive().optional(),
  spillAfterEvents: z.number().int().positive().optional(),
  spillDir: z.string().min(1, "a directory path").optional(),
  flushTable: identifier.optional(),
  snapshotChunkRows: z.number().int().positive().optional(),
  snapshotParallelism: z.number().int().positive().optional(),
});
const kafkaBrokers = z.array(z.string().regex(/^[^\s:/]+:\d+$/, "host:port")).min(1, "at least one host:port");
const kafkaTopicPrefix = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, "1-200 of A-Z a-z 0-9 . _ -");
const kafkaSource = z
  .strictObject({
    type: z.literal("kafka"),
    brokers: kafkaBrokers,
    topics: z.array(z.string().min(1, "a topic name")).min(1, "at least one topic").optional(),
    topicPrefix: kafkaTopicPrefix.optional(),
    group: z.string().min(1, "a consumer group name"),
    clientId: z.string().min(1).optional(),
    maxBatchRecords: z.number().int().positive().optional(),
    handoverGraceMs: z.number().int().nonnegative().optional(),
    distributedSnapshot: z.strictObject({ sourceUrl: url("postgres"), ssl }).optional(),
  })
  .refine((s) => (s.topics === undefined) !== (s.topicPrefix === undefined), { error: "either topics or topicPrefix (not both)", path: ["topics"] })
  .refine((s) => s.distributedSnapshot === undefined || s.topicPrefix !== undefined, {
    error: "topicPrefix set (the work topic is <topicPrefix>.zeroetl-snapshot-work)",
    path: ["distributedSnapshot"],
  });

const postgresTarget = z.strictObject({
  type: z.literal("postgres"),
  url: url("postgres"),
  schema: identifier.optional(),
  ssl,
  history: z.strictObject({ tables: z.array(z.string().min(1)) }).optional(),
});
const icebergTarget = z.strictObject({
  type: z.literal("iceberg"),
  warehouse: z.string().min(1, "a directory or an s3://bucket/prefix URL"),
  namespace: identifier,
  catalog: z.record(z.string(), z.unknown()).optional(),
  s3: z.record(z.string(), z.unknown()).optional(),
  commit: z.record(z.string(), z.unknown()).optional(),
  partitionSpec: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).optional(),
  targetFileSizeBytes: z.number().int().positive().optional(),
  rowGroupRows: z.number().int().positive().optional(),
  unconstrainedDecimal: z.enum(["decimal(38,10)", "string"]).optional(),
});
const redshiftTarget = z.strictObject({
  type: z.literal("redshift"),
  url: url("redshift").optional(),
  dataApi: z
    .strictObject({
      clusterIdentifier: identifier.optional(),
      workgroupName: identifier.optional(),
      database: identifier,
      secretArn: z.string().startsWith("arn:", "a Secrets Manager secret ARN").optional(),
      dbUser: identifier.optional(),
      region: identifier.optional(),
      endpoint: url("http").optional(),
    })
    .optional(),
  schema: identifier.optional(),
  staging: z.strictObject({
    uri: z.string().startsWith("s3://", "an s3://bucket/prefix URI"),
    iamRole: z.string().startsWith("arn:", "an IAM role ARN"),
    region: identifier.optional(),
    kmsKeyId: identifier.optional(),
    endpoint: url("http").optional(),
    forcePathStyle: z.boolean().optional(),
  }),
  distribution: z
    .record(
      z.string(),
      z.strictObject({ distKey: identifier.optional(), distStyle: z.enum(["AUTO", "EVEN", "ALL"]).optional(), sortKey: z.array(identifier).optional() }),
    )
    .optional(),
  history: z.strictObject({ tables: z.array(z.string().min(1)) }).optional(),
  writerLeaseSeconds: z.number().min(1).max(3600).optional(),
  /** Test support only: a module whose `createRedshiftStatementRunner(config)` replaces the Data API / wire runner. */
  statementRunnerModule: z.string().min(1).optional(),
});
const opensearchTarget = z.strictObject({
  type: z.literal("opensearch"),
  node: url("http"),
  index: z.string().includes("{table}", { error: 'a template containing {table}, e.g. "{namespace}.{table}"' }).optional(),
  auth: z
    .discriminatedUnion(
      "type",
      [
        z.strictObject({ type: z.literal("basic").optional(), username: z.string().min(1, "a user name"), password: z.string() }),
        // credentials come from the AWS SDK's default chain (environment, profile, SSO, instance role), never from the file
        z.strictObject({
          type: z.literal("aws-sigv4"),
          region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, "an AWS region such as eu-west-1"),
          service: z.enum(["es", "aoss"], { error: '"es" (OpenSearch Service) or "aoss" (Serverless)' }).optional(),
        }),
      ],
      { error: '"basic" (or no type, with username and password) or "aws-sigv4"' },
    )
    .optional(),
  tls: z.record(z.string(), z.unknown()).optional(),
  bulkMaxBytes: z.number().int().positive().optional(),
  bulkMaxDocuments: z.number().int().positive().optional(),
  maxAttempts: z.number().int().positive().optional(),
  stateIndex: z.string().min(1, "an index name").optional(),
  shards: z.number().int().positive().optional(),
  replicas: z.number().int().nonnegative().optional(),
});
const kafkaTarget = z.strictObject({
  type: z.literal("kafka"),
  brokers: kafkaBrokers,
  topicPrefix: kafkaTopicPrefix,
  format: z.literal("debezium-json", { error: '"debezium-json"' }).optional(),
  partitions: z.number().int().positive().optional(),
  replicationFactor: z.number().int().positive().optional(),
  transactionalId: z.string().min(1).optional(),
  clientId: z.string().min(1).optional(),
  maxRequestBytes: z.number().int().positive().optional(),
  distributedSnapshot: z
    .union([z.boolean(), z.strictObject({ chunkBlocks: z.number().int().positive().optional(), workPartitions: z.number().int().positive().optional() })])
    .optional(),
});

const unnestMode = z.enum(["none", "top-level", "all", "NO_UNNEST", "NOUNNEST", "TOP_LEVEL", "TOPLEVEL", "FULL"]);

/** The config file's schema. Field docs live in docs/configuration.md. */
export const pipelineConfigSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, "1-48 letters, digits, '_' or '-'"),
  source: z.discriminatedUnion("type", [postgresSource, mysqlSource, dynamodbSource, oracleSource, kafkaSource], {
    error: "an object whose type is one of postgres, mysql, dynamodb, oracle, kafka",
  }),
  target: z.discriminatedUnion("type", [postgresTarget, icebergTarget, redshiftTarget, opensearchTarget, kafkaTarget], {
    error: "an object whose type is one of postgres, redshift, iceberg, opensearch, kafka",
  }),
  filter: z
    .strictObject({
      include: z.array(z.string()).optional(),
      exclude: z.array(z.string()).optional(),
      rows: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  mapping: z
    .strictObject({
      tableNames: z.enum(["table", "schema_table"]).optional(),
      unnest: z
        .strictObject({
          mode: unnestMode,
          columns: z.array(z.string()).optional(),
          separator: z.string().min(1).optional(),
          maxDepth: z.number().int().positive().optional(),
          lists: z.enum(["json", "child-tables"]).optional(),
        })
        .optional(),
    })
    .optional(),
  state: z.strictObject({ dir: z.string().min(1, "a directory path") }).optional(),
  batch: z
    .strictObject({
      maxRows: z.number().int().positive().optional(),
      maxBytes: z.number().int().positive().optional(),
      maxWaitMs: z.number().int().nonnegative().optional(),
      lingerMs: z.number().int().nonnegative().optional(),
    })
    .optional(),
  retry: z
    .strictObject({
      maxElapsedMs: z.number().int().nonnegative().optional(),
      baseDelayMs: z.number().int().positive().optional(),
      maxDelayMs: z.number().int().positive().optional(),
    })
    .refine((r) => r.baseDelayMs === undefined || r.maxDelayMs === undefined || r.maxDelayMs >= r.baseDelayMs, {
      message: "maxDelayMs at least baseDelayMs",
      path: ["maxDelayMs"],
    })
    .optional(),
  timeouts: z
    .strictObject({
      connectMs: z.number().int().positive().optional(),
      queryMs: z.number().int().nonnegative().optional(),
      keepaliveMs: z.number().int().positive().optional(),
    })
    .optional(),
  onLostPosition: z.enum(["fail", "resnapshot"]).optional(),
  autoResync: z.boolean().optional(),
  /**
   * How tables are (re-)read: `blocking` (default) before the stream
   * (re)starts; `incremental` in primary-key chunks bracketed by watermarks
   * written through the change stream, while it goes on (PostgreSQL source).
   */
  snapshot: z
    .strictObject({
      mode: z.enum(["blocking", "incremental"]).optional(),
      chunkRows: z.number().int().positive().max(1_000_000).optional(),
    })
    .optional(),
  log: z.strictObject({ level: z.enum(["debug", "info", "warn", "error", "silent"]) }).optional(),
  observability: z
    .strictObject({
      cloudwatch: z
        .strictObject({
          namespace: z.string().min(1).max(255),
          region: z.string().min(1),
          /** Another endpoint than the region's (a VPC endpoint; tests). */
          endpoint: z.url().optional(),
          intervalSeconds: z.number().positive().optional(),
        })
        .optional(),
    })
    .optional(),
});

/** A validated pipeline config. */
export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

/** Validates a parsed config object; the first problem becomes a {@link ConfigError} naming the field. */
export function validatePipelineConfig(value: unknown): PipelineConfig {
  const result = pipelineConfigSchema.safeParse(value);
  if (result.success) return Object.freeze(result.data);
  const issue = result.error.issues[0];
  if (issue === undefined) throw new ConfigError("config", "a valid pipeline config");
  const path = issue.path.length === 0 ? "config" : issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const prefix = path === "config" ? "" : `${path}.`;
    throw new ConfigError(`${prefix}${issue.keys[0] ?? "?"}`, "no such field (check the spelling; see docs/configuration.md)");
  }
  if (issue.code === "invalid_type" && issue.input === undefined) throw new ConfigError(path, `${expectedOf(issue)} (the field is required)`);
  throw new ConfigError(path, issue.message.replace(/^Invalid (input|option): expected /, ""));
}

function expectedOf(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") return issue.message.startsWith("Invalid input") ? `a ${issue.expected}` : issue.message;
  return issue.message;
}

/** Reads and validates a JSON or YAML config file. */
export async function loadPipelineConfig(file: string): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError("config", `a readable config file at ${file}`, (error as NodeJS.ErrnoException).code ?? "unreadable");
  }
  let parsed: unknown;
  try {
    // the YAML parser (about 50 ms of CPU to load) only for a YAML file
    parsed = [".yaml", ".yml"].includes(extname(file)) ? (await import("yaml")).parse(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError("config", `valid ${extname(file) === ".json" ? "JSON" : "YAML or JSON"} in ${file}`, (error as Error).message);
  }
  return validatePipelineConfig(parsed);
}
