import type { Logger, TableRef } from "@zero-etl/core";
import { ConfigError, silentLogger } from "@zero-etl/core";
import type { PartitionKeyCustom } from "@zero-etl/mappers";
import type { RedshiftDataApiOptions } from "./redshift-data-api-runner.js";
import type { RedshiftStatementRunner } from "./redshift-statement-runner.js";
import type { HistorySelector } from "../postgres/postgres-history-table.js";
import { createHistorySelector } from "../postgres/postgres-history-table.js";

/** Where each batch's files are staged for `COPY`. */
export interface RedshiftStagingOptions {
  /** `s3://bucket/prefix`; the sink writes under `<prefix>/<pipeline>/` and removes what it wrote. */
  readonly uri: string;
  /** IAM role Redshift assumes to read the staged files (`COPY ... IAM_ROLE`). */
  readonly iamRole: string;
  readonly region?: string;
  /** A KMS key id or ARN: staged files are written with SSE-KMS under it. */
  readonly kmsKeyId?: string;
  /** Another S3 endpoint (tests, S3-compatible stores); path-style addressing then. */
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
}

/** Options of {@link createRedshiftSink}. Exactly one of `url` and `dataApi`. */
export interface RedshiftSinkOptions {
  /** PostgreSQL wire protocol: `redshift://user:password@host:5439/database`. The password never appears in errors or logs. */
  readonly url?: string;
  /** The Redshift Data API: a cluster or a Serverless workgroup, IAM or Secrets Manager auth. */
  readonly dataApi?: RedshiftDataApiOptions;
  /** Target schema for the tables and the `_zeroetl_*` state tables; `public` by default. */
  readonly schema?: string;
  readonly staging: RedshiftStagingOptions;
  /** Distribution and sort keys per source table (`"namespace.name"`); otherwise `choosePartitionKey` decides. */
  readonly distribution?: Readonly<Record<string, PartitionKeyCustom>>;
  /** Target table name for a source table; the source table's name by default (folded to lower case, at most 127 bytes). */
  readonly tableName?: (ref: TableRef) => string;
  /**
   * History mode (slowly changing dimension type 2) for these source tables
   * (`"namespace.name"` keys, or `"*"`): the target keeps every version of a
   * row, with the same columns and semantics as the PostgreSQL sink's.
   */
  readonly history?: { readonly tables: readonly string[] };
  /**
   * The writer lease time in seconds (60 by default): a run killed without
   * releasing its lease holds the pipeline this long; a second run watches
   * the lease this long before it takes a silent one over.
   */
  readonly writerLeaseSeconds?: number;
  readonly logger?: Logger;
  /**
   * Test support only: makes the statement runner instead of the Data API or
   * wire runner (the repository's tests run the sink's SQL on PostgreSQL
   * through a translating runner). Never set in production.
   */
  readonly statementRunner?: (config: RedshiftSinkConfig) => RedshiftStatementRunner | Promise<RedshiftStatementRunner>;
}

/** The validated, frozen form of {@link RedshiftSinkOptions}. */
export interface RedshiftSinkConfig {
  readonly url: string | undefined;
  readonly dataApi: RedshiftDataApiOptions | undefined;
  readonly schema: string;
  readonly staging: RedshiftStagingOptions & { readonly bucket: string; readonly prefix: string };
  readonly distribution: Readonly<Record<string, PartitionKeyCustom>>;
  readonly tableName: (ref: TableRef) => string;
  /** Whether a table is replicated in history mode. */
  readonly isHistory: HistorySelector;
  readonly writerLeaseMs: number;
  readonly logger: Logger;
  readonly statementRunner: RedshiftSinkOptions["statementRunner"];
  /** `host:port/database` or the cluster/workgroup, for messages: never a password. */
  readonly displayTarget: string;
}

/**
 * Validates the options once, at the edge. Throws a {@link ConfigError}
 * naming the field (`target.staging.uri`, ...); never echoes the URL.
 */
export function resolveRedshiftSinkConfig(options: RedshiftSinkOptions): RedshiftSinkConfig {
  if (typeof options !== "object" || options === null) throw new ConfigError("target", "an object with url or dataApi, and staging");
  if ((options.url === undefined) === (options.dataApi === undefined)) throw new ConfigError("target", "exactly one of url (redshift://...) and dataApi");
  let displayTarget: string;
  if (options.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new ConfigError("target.url", "a redshift:// URL", "a string that is not a URL");
    }
    if (!["redshift:", "postgres:", "postgresql:"].includes(parsed.protocol)) throw new ConfigError("target.url", "a redshift:// URL", `protocol ${parsed.protocol}`);
    if (parsed.hostname === "") throw new ConfigError("target.url", "a URL with a host");
    displayTarget = `${parsed.hostname}:${parsed.port || "5439"}${parsed.pathname}`;
  } else {
    const api = options.dataApi;
    if (api === undefined || typeof api.database !== "string" || api.database === "") throw new ConfigError("target.dataApi.database", "a database name");
    if ((api.clusterIdentifier === undefined) === (api.workgroupName === undefined)) throw new ConfigError("target.dataApi", "exactly one of clusterIdentifier and workgroupName");
    if (api.secretArn !== undefined && api.dbUser !== undefined) throw new ConfigError("target.dataApi", "at most one of secretArn and dbUser");
    if (api.workgroupName !== undefined && api.dbUser !== undefined) throw new ConfigError("target.dataApi.dbUser", "absent for a Serverless workgroup (it uses the caller's IAM identity or secretArn)");
    displayTarget = `${api.clusterIdentifier ?? api.workgroupName ?? ""}/${api.database}`;
  }
  const schema = options.schema ?? "public";
  if (typeof schema !== "string" || schema.length === 0 || Buffer.byteLength(schema) > 127 || schema.includes("\0")) {
    throw new ConfigError("target.schema", "a schema name of 1 to 127 bytes without NUL");
  }
  const staging = options.staging;
  if (typeof staging !== "object" || staging === null) throw new ConfigError("target.staging", "an object with uri and iamRole");
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/([A-Za-z0-9!_.*()=/-]*))?$/.exec(staging.uri ?? "");
  if (m === null) throw new ConfigError("target.staging.uri", "an s3://bucket/prefix URI (prefix of letters, digits and !_.*()=/-)");
  if (typeof staging.iamRole !== "string" || !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(staging.iamRole)) {
    throw new ConfigError("target.staging.iamRole", "an IAM role ARN (arn:aws:iam::123456789012:role/name) Redshift may assume to read the staging bucket");
  }
  if (staging.kmsKeyId !== undefined && (typeof staging.kmsKeyId !== "string" || staging.kmsKeyId === "")) throw new ConfigError("target.staging.kmsKeyId", "a KMS key id or ARN");
  const history = options.history;
  if (history !== undefined) {
    if (typeof history !== "object" || history === null || !Array.isArray(history.tables)) throw new ConfigError("target.history", "an object with a tables list");
    history.tables.forEach((t, i) => {
      if (typeof t !== "string" || (t !== "*" && !/^[^.]+\..+$/.test(t))) throw new ConfigError(`target.history.tables[${i}]`, 'a "namespace.name" table key or "*"');
    });
  }
  const lease = options.writerLeaseSeconds ?? 60;
  if (typeof lease !== "number" || !Number.isFinite(lease) || lease < 1 || lease > 3600) throw new ConfigError("target.writerLeaseSeconds", "a number of seconds from 1 to 3600");
  return Object.freeze({
    url: options.url,
    dataApi: options.dataApi,
    schema,
    staging: Object.freeze({ ...staging, bucket: m[1] ?? "", prefix: (m[2] ?? "").replace(/\/+$/, "") }),
    distribution: Object.freeze({ ...(options.distribution ?? {}) }),
    tableName: options.tableName ?? ((ref: TableRef) => ref.name),
    isHistory: createHistorySelector(history?.tables),
    writerLeaseMs: lease * 1000,
    logger: options.logger ?? silentLogger,
    statementRunner: options.statementRunner,
    displayTarget,
  });
}
