import type { ConnectionTimeouts, Logger } from "@zero-etl/core";
import { ConfigError, resolveConnectionTimeouts, silentLogger } from "@zero-etl/core";
import type { AwsCredentials, OpenSearchAwsAuth } from "./opensearch-sigv4-signer.js";

/** HTTP basic auth (`type` may be left out). */
export interface OpenSearchBasicAuth {
  readonly type?: "basic";
  readonly username: string;
  readonly password: string;
}

/** SigV4 signing for Amazon OpenSearch Service (`es`, the default) or Serverless (`aoss`). */
export interface OpenSearchAwsAuthOptions {
  readonly type: "aws-sigv4";
  readonly region: string;
  readonly service?: "es" | "aoss";
  /** Default: the AWS SDK's default credential chain. */
  readonly credentials?: () => Promise<AwsCredentials>;
}

/** Options of {@link createOpenSearchSink}. */
export interface OpenSearchSinkOptions {
  /** The cluster's HTTP endpoint, `http://host:9200` or `https://…`. */
  readonly node: string;
  /** Index name template: `{namespace}` and `{table}` are replaced (lowercased); default `{namespace}.{table}`. */
  readonly index?: string;
  /** HTTP basic auth, or AWS SigV4 (Amazon OpenSearch Service and Serverless). */
  readonly auth?: OpenSearchBasicAuth | OpenSearchAwsAuthOptions;
  /** TLS options passed to Node's `tls.connect` (`ca`, `rejectUnauthorized`, …). */
  readonly tls?: Readonly<Record<string, unknown>>;
  /** Largest `_bulk` request body in bytes (default 5 MiB). */
  readonly bulkMaxBytes?: number;
  /** Most documents in one `_bulk` request (default 1000). */
  readonly bulkMaxDocuments?: number;
  /** Attempts at a bulk (or a bulk's items) refused with 429/503 before giving up (default 8). */
  readonly maxAttempts?: number;
  /** Index holding the pipeline checkpoints (default `zeroetl_state`, a hidden index: OpenSearch refuses names starting with `_`). */
  readonly stateIndex?: string;
  /** Primary shards and replicas of the indices the sink creates (default 1 and 0: a replica on a one-node cluster stays unassigned). */
  readonly shards?: number;
  readonly replicas?: number;
  /** `queryMs` bounds each HTTP request (0: no limit); a request that times out is retried like a refused bulk. */
  readonly timeouts?: Partial<ConnectionTimeouts>;
  readonly logger?: Logger;
}

/** {@link OpenSearchSinkOptions} with defaults applied. */
export interface OpenSearchSinkConfig {
  readonly node: string;
  readonly index: string;
  readonly auth: { readonly type: "basic"; readonly username: string; readonly password: string } | OpenSearchAwsAuth | undefined;
  readonly tls: Readonly<Record<string, unknown>> | undefined;
  readonly bulkMaxBytes: number;
  readonly bulkMaxDocuments: number;
  readonly maxAttempts: number;
  readonly stateIndex: string;
  readonly shards: number;
  readonly replicas: number;
  readonly timeouts: ConnectionTimeouts;
  readonly logger: Logger;
}

/** Applies defaults and checks the options; a bad one is a `ConfigError` naming it. */
export function resolveOpenSearchSinkConfig(options: OpenSearchSinkOptions): OpenSearchSinkConfig {
  let url: URL;
  try {
    url = new URL(options.node);
  } catch {
    throw new ConfigError("target.node", "an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError("target.node", "an http:// or https:// URL", url.protocol);
  if (url.username !== "" || url.password !== "") throw new ConfigError("target.node", "a URL without credentials (put them in target.auth)");
  const index = options.index ?? "{namespace}.{table}";
  if (!index.includes("{table}")) throw new ConfigError("target.index", "a template containing {table}", index);
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`target.${name}`, "a positive integer", String(value));
    return value;
  };
  return {
    node: options.node,
    index,
    auth: resolveAuth(options.auth),
    tls: options.tls,
    bulkMaxBytes: positive("bulkMaxBytes", options.bulkMaxBytes, 5 * 1024 * 1024),
    bulkMaxDocuments: positive("bulkMaxDocuments", options.bulkMaxDocuments, 1000),
    maxAttempts: positive("maxAttempts", options.maxAttempts, 8),
    stateIndex: options.stateIndex ?? "zeroetl_state",
    shards: positive("shards", options.shards, 1),
    replicas: options.replicas ?? 0,
    timeouts: resolveConnectionTimeouts(options.timeouts),
    logger: options.logger ?? silentLogger,
  };
}

const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

function resolveAuth(auth: OpenSearchSinkOptions["auth"]): OpenSearchSinkConfig["auth"] {
  if (auth === undefined) return undefined;
  if (auth.type === undefined || auth.type === "basic") {
    const basic = auth as OpenSearchBasicAuth;
    if (typeof basic.username !== "string" || basic.username === "") throw new ConfigError("target.auth.username", "a user name");
    if (typeof basic.password !== "string") throw new ConfigError("target.auth.password", "a string");
    return { type: "basic", username: basic.username, password: basic.password };
  }
  if (auth.type !== "aws-sigv4") throw new ConfigError("target.auth.type", '"basic" or "aws-sigv4"', String(auth.type));
  if (typeof auth.region !== "string" || auth.region === "") throw new ConfigError("target.auth.region", "an AWS region such as eu-west-1 (the field is required)");
  if (!AWS_REGION.test(auth.region)) throw new ConfigError("target.auth.region", "an AWS region such as eu-west-1", auth.region);
  const service = auth.service ?? "es";
  if (service !== "es" && service !== "aoss") throw new ConfigError("target.auth.service", '"es" (OpenSearch Service) or "aoss" (Serverless)', String(service));
  return { type: "aws-sigv4", region: auth.region, service, ...(auth.credentials === undefined ? {} : { credentials: auth.credentials }) };
}
