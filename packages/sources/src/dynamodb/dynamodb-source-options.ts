import { ConfigError } from "@zero-etl/core";
import type { Logger, TableRef } from "@zero-etl/core";
import type { DynamoDbApi, DynamoDbStreamsApi, S3ObjectApi } from "./dynamodb-api.js";
import type { DynamoDbRouting } from "./dynamodb-table-model.js";

/** Options of {@link createDynamoDbSource}. */
export interface DynamoDbSourceOptions {
  /** The table name (3..255 characters of `[A-Za-z0-9_.-]`). */
  readonly table: string;
  /** The AWS region, e.g. `eu-west-1`. */
  readonly region: string;
  /** A custom endpoint (DynamoDB Local, a VPC endpoint); also used for DynamoDB Streams. */
  readonly endpoint?: string;
  /** Static credentials; the SDK's default chain when absent. Never logged. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** The pipeline name, for logs. */
  readonly pipeline: string;
  /** The `TableRef.namespace` of the target tables; the region by default. */
  readonly namespace?: string;
  /** Name of the `json` column holding the whole item (`item` by default). */
  readonly documentColumn?: string;
  /** How the initial snapshot reads the table; a parallel Scan by default. */
  readonly snapshot?: {
    readonly mode: "scan" | "export";
    /** Scan segments; by default one per GiB of table size (1..16). */
    readonly segments?: number;
    /** Share (0..1] of the table's provisioned read capacity the scan may use. */
    readonly capacityShare?: number;
    /** Explicit read-unit budget per second for the scan (on-demand tables). */
    readonly readUnitsPerSecond?: number;
    /** Rows per snapshot chunk (1000). */
    readonly chunkSize?: number;
    /** Scan page size (`Limit`); DynamoDB's 1 MB pages when absent. */
    readonly pageSize?: number;
    readonly export?: {
      readonly bucket: string;
      /** S3 prefix of new exports. */
      readonly prefix?: string;
      /** Read this existing export (its `manifest-summary.json` key) instead of requesting a new one. */
      readonly manifestSummaryKey?: string;
      /** The bucket owner's account id, for cross-account exports. */
      readonly bucketOwner?: string;
      /** S3 connection, when it differs from the table's (region, endpoint, path-style addressing). */
      readonly s3?: { readonly region?: string; readonly endpoint?: string; readonly forcePathStyle?: boolean };
      /** How often to poll DescribeExport (10 s). */
      readonly pollIntervalMs?: number;
    };
  };
  /** Single-table-design routing into `<table>_<entity>` target tables; one target table when absent. */
  readonly routing?: DynamoDbRouting;
  /** Stream polling: idle delay after an empty round (500 ms) and records per GetRecords (1000). */
  readonly stream?: { readonly idleDelayMs?: number; readonly limit?: number };
  readonly logger?: Logger;
  /** Keeps only the target tables this accepts (routed entity tables included). */
  readonly include?: (table: TableRef) => boolean;
  /** Injected clients (tests, custom middleware); built from the SDK when absent. */
  readonly clients?: { readonly dynamodb?: DynamoDbApi; readonly streams?: DynamoDbStreamsApi; readonly s3?: S3ObjectApi };
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value;
}

function positiveInt(value: unknown, path: string, max = Number.MAX_SAFE_INTEGER): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max)) {
    throw new ConfigError(path, `an integer from 1 to ${max}`, describe(value));
  }
}

/**
 * Validates options at the edge and returns them frozen; throws a
 * {@link ConfigError} naming the first invalid field (`source.table`, ...).
 * Secrets are never echoed.
 */
export function validateDynamoDbSourceOptions(input: unknown): DynamoDbSourceOptions {
  if (typeof input !== "object" || input === null) throw new ConfigError("source", "an options object", describe(input));
  const o = input as Record<string, unknown>;
  if (typeof o.table !== "string" || !TABLE_NAME.test(o.table)) throw new ConfigError("source.table", "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)", describe(o.table));
  if (typeof o.region !== "string" || !/^[a-z0-9-]+$/.test(o.region)) throw new ConfigError("source.region", "an AWS region such as us-east-1", describe(o.region));
  if (o.endpoint !== undefined && (typeof o.endpoint !== "string" || !/^https?:\/\//.test(o.endpoint))) {
    throw new ConfigError("source.endpoint", "an http(s) URL", typeof o.endpoint);
  }
  if (typeof o.pipeline !== "string" || o.pipeline === "") throw new ConfigError("source.pipeline", "a non-empty pipeline name", describe(o.pipeline));
  if (o.credentials !== undefined) {
    const c = o.credentials as Record<string, unknown>;
    if (typeof c !== "object" || c === null || typeof c.accessKeyId !== "string" || typeof c.secretAccessKey !== "string") {
      throw new ConfigError("source.credentials", "{ accessKeyId, secretAccessKey, sessionToken? } strings");
    }
  }
  if (o.namespace !== undefined && (typeof o.namespace !== "string" || o.namespace === "")) throw new ConfigError("source.namespace", "a non-empty string", describe(o.namespace));
  if (o.documentColumn !== undefined && (typeof o.documentColumn !== "string" || o.documentColumn === "")) {
    throw new ConfigError("source.documentColumn", "a non-empty column name", describe(o.documentColumn));
  }
  const snapshot = o.snapshot as Record<string, unknown> | undefined;
  if (snapshot !== undefined) {
    if (typeof snapshot !== "object" || snapshot === null) throw new ConfigError("source.snapshot", "an object");
    if (snapshot.mode !== "scan" && snapshot.mode !== "export") throw new ConfigError("source.snapshot.mode", '"scan" or "export"', describe(snapshot.mode));
    positiveInt(snapshot.segments, "source.snapshot.segments", 1_000_000);
    positiveInt(snapshot.chunkSize, "source.snapshot.chunkSize");
    positiveInt(snapshot.pageSize, "source.snapshot.pageSize");
    const share = snapshot.capacityShare;
    if (share !== undefined && !(typeof share === "number" && share > 0 && share <= 1)) throw new ConfigError("source.snapshot.capacityShare", "a number in (0, 1]", describe(share));
    const rate = snapshot.readUnitsPerSecond;
    if (rate !== undefined && !(typeof rate === "number" && rate > 0)) throw new ConfigError("source.snapshot.readUnitsPerSecond", "a positive number", describe(rate));
    const exp = snapshot.export as Record<string, unknown> | undefined;
    if (snapshot.mode === "export" && exp === undefined) throw new ConfigError("source.snapshot.export", "{ bucket, prefix? } when mode is export");
    if (exp !== undefined) {
      if (typeof exp.bucket !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(exp.bucket)) {
        throw new ConfigError("source.snapshot.export.bucket", "an S3 bucket name", describe(exp.bucket));
      }
      if (exp.prefix !== undefined && typeof exp.prefix !== "string") throw new ConfigError("source.snapshot.export.prefix", "a string", describe(exp.prefix));
      if (exp.manifestSummaryKey !== undefined && (typeof exp.manifestSummaryKey !== "string" || !exp.manifestSummaryKey.endsWith("manifest-summary.json"))) {
        throw new ConfigError("source.snapshot.export.manifestSummaryKey", "the key of a manifest-summary.json", describe(exp.manifestSummaryKey));
      }
    }
  }
  const routing = o.routing as Record<string, unknown> | undefined;
  if (routing !== undefined) {
    const prefix = routing.prefix as Record<string, unknown> | undefined;
    const byAttribute = typeof routing.attribute === "string" && routing.attribute !== "";
    const byPrefix =
      typeof prefix === "object" && prefix !== null && (prefix.on === "pk" || prefix.on === "sk") && typeof prefix.separator === "string" && prefix.separator !== "";
    if (byAttribute === byPrefix) {
      throw new ConfigError("source.routing", '{ attribute: "<name>" } or { prefix: { on: "pk" | "sk", separator: "#" } }');
    }
    const entities = routing.entities;
    if (entities !== undefined && !(Array.isArray(entities) && entities.every((e) => typeof e === "string" && e !== ""))) {
      throw new ConfigError("source.routing.entities", "a list of entity names");
    }
  }
  const stream = o.stream as Record<string, unknown> | undefined;
  if (stream !== undefined) {
    positiveInt(stream.limit, "source.stream.limit", 1000);
    if (stream.idleDelayMs !== undefined && !(typeof stream.idleDelayMs === "number" && stream.idleDelayMs >= 0)) {
      throw new ConfigError("source.stream.idleDelayMs", "a number of milliseconds >= 0", describe(stream.idleDelayMs));
    }
  }
  return Object.freeze({ ...(o as unknown as DynamoDbSourceOptions) });
}
