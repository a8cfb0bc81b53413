import type { ConnectionTimeouts, Logger, TableRef } from "@zero-etl/core";
import { ConfigError, resolveConnectionTimeouts } from "@zero-etl/core";
import type { OracleConnector } from "./oracle-database.js";

/** Options of `createOracleSource`. */
export interface OracleSourceOptions {
  /** `oracle://user:pass@host:port/service`; the user's schema is the default table owner. */
  readonly url: string;
  /** The pipeline name (for logs and the spill directory). */
  readonly pipeline: string;
  /** The schema (owner) whose tables are selected (default: the URL's user, upper-cased as Oracle stores it). */
  readonly owner?: string;
  /** Tables to replicate: a list, or a predicate over the owner's tables (default: all of them). */
  readonly tables?: readonly TableRef[] | ((table: TableRef) => boolean);
  /** SCNs per LogMiner window (default 100,000): a session mines at most this many SCNs at once. */
  readonly windowScns?: number;
  /** Milliseconds between polls when the stream has caught up with the database (default 1,000). */
  readonly pollMs?: number;
  /** Most events per streamed batch (default 10,000); larger transactions span several batches. */
  readonly maxBatchEvents?: number;
  /** Changes per open transaction kept in memory before the rest spill to a file (default 10,000). */
  readonly spillAfterEvents?: number;
  /** Where spilled transactions are written (default the OS temporary directory). */
  readonly spillDir?: string;
  /**
   * A one-row table in the user's schema that the stream updates and commits
   * before each window, so that LGWR writes redo still in the log buffer to
   * the files LogMiner reads (default `ZEROETL_LOG_FLUSH`; created if missing).
   */
  readonly flushTable?: string;
  /** Target rows per snapshot chunk (default 50,000); a table is split into ROWID ranges of about that many rows. */
  readonly snapshotChunkRows?: number;
  /** Snapshot chunks read at once, each on its own session (default 2). */
  readonly snapshotParallelism?: number;
  readonly timeouts?: Partial<ConnectionTimeouts>;
  readonly logger?: Logger;
  /** Opens database sessions; default `oracledb` in thin mode on `url`. Tests pass a scripted database. */
  readonly connect?: OracleConnector;
}

/** Validated options with defaults filled in. */
export interface ResolvedOracleSourceOptions {
  readonly url: string;
  readonly pipeline: string;
  readonly owner: string;
  readonly tables?: readonly TableRef[];
  readonly include?: (table: TableRef) => boolean;
  readonly windowScns: bigint;
  readonly pollMs: number;
  readonly maxBatchEvents: number;
  readonly spillAfterEvents: number;
  readonly spillDir?: string;
  readonly flushTable: string;
  readonly snapshotChunkRows: number;
  readonly snapshotParallelism: number;
  readonly timeouts: ConnectionTimeouts;
  readonly logger?: Logger;
  readonly connect?: OracleConnector;
}

/** Validates options once, at the edge; throws `ConfigError` naming the `source.*` path. */
export function resolveOracleSourceOptions(options: OracleSourceOptions): ResolvedOracleSourceOptions {
  if (typeof options.url !== "string") throw new ConfigError("source.url", "an oracle://user:pass@host:port/service URL");
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigError("source.url", "an oracle://user:pass@host:port/service URL");
  }
  if (url.protocol !== "oracle:") throw new ConfigError("source.url", "an oracle:// URL", url.protocol);
  if (url.hostname === "") throw new ConfigError("source.url", "a URL with a host");
  if (url.pathname.replace(/^\//, "") === "") throw new ConfigError("source.url", "a URL naming the service (oracle://user:pass@host:1521/SERVICE)");
  if (typeof options.pipeline !== "string" || options.pipeline.trim() === "") throw new ConfigError("source.pipeline", "a non-empty pipeline name");
  const user = decodeURIComponent(url.username);
  const owner = options.owner ?? (user === "" ? undefined : user.toUpperCase());
  if (owner === undefined || owner === "") throw new ConfigError("source.owner", "a schema name (the URL names no user)");
  const positive = (path: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(path, "a positive integer", String(value));
    return value;
  };
  const flushTable = options.flushTable ?? "ZEROETL_LOG_FLUSH";
  if (typeof flushTable !== "string" || !/^[A-Za-z][A-Za-z0-9_$#]{0,127}$/.test(flushTable)) throw new ConfigError("source.flushTable", "a table name of letters, digits, _, $ or #", String(flushTable));
  let tables: readonly TableRef[] | undefined;
  let include: ((table: TableRef) => boolean) | undefined;
  if (typeof options.tables === "function") include = options.tables;
  else if (options.tables !== undefined) {
    if (!Array.isArray(options.tables)) throw new ConfigError("source.tables", "a list of { namespace, name } or a predicate");
    tables = options.tables.map((t, i) => {
      if (typeof t?.name !== "string" || t.name === "") throw new ConfigError(`source.tables[${i}].name`, "a table name");
      return Object.freeze({ namespace: typeof t.namespace === "string" && t.namespace !== "" ? t.namespace : owner, name: t.name });
    });
  }
  return Object.freeze({
    url: options.url,
    pipeline: options.pipeline,
    owner,
    ...(tables === undefined ? {} : { tables }),
    ...(include === undefined ? {} : { include }),
    windowScns: BigInt(positive("source.windowScns", options.windowScns, 100_000)),
    pollMs: positive("source.pollMs", options.pollMs, 1_000),
    maxBatchEvents: positive("source.maxBatchEvents", options.maxBatchEvents, 10_000),
    spillAfterEvents: positive("source.spillAfterEvents", options.spillAfterEvents, 10_000),
    ...(options.spillDir === undefined ? {} : { spillDir: options.spillDir }),
    flushTable,
    snapshotChunkRows: positive("source.snapshotChunkRows", options.snapshotChunkRows, 50_000),
    snapshotParallelism: positive("source.snapshotParallelism", options.snapshotParallelism, 2),
    timeouts: resolveConnectionTimeouts(options.timeouts),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.connect === undefined ? {} : { connect: options.connect }),
  });
}
