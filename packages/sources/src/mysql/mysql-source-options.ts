import type { ConnectionTimeouts, Logger, TableRef } from "@zero-etl/core";
import { ConfigError, resolveConnectionTimeouts } from "@zero-etl/core";

/** Options of `createMysqlSource`. */
export interface MysqlSourceOptions {
  /** `mysql://user:pass@host:port/db`; the database (when given) is the default table selection. */
  readonly url: string;
  /** The pipeline name; the default replica server id derives from it. */
  readonly pipeline: string;
  /** Replica server id, unique among the server's replicas (default: a hash of `pipeline` in 0x40000000–0x7fffffff). */
  readonly serverId?: number;
  /** Tables to replicate: a list, or a predicate over the tables of the URL's database (default: all of them). */
  readonly tables?: readonly TableRef[] | ((table: TableRef) => boolean);
  /** TLS options, passed through to mysql2's `ssl`. */
  readonly ssl?: unknown;
  /** Rows per snapshot chunk (default 10,000). */
  readonly snapshotChunkRows?: number;
  /** Most events per streamed batch (default 10,000); larger transactions span several batches. */
  readonly maxBatchEvents?: number;
  /** Seconds between server heartbeats while idle (default 1). */
  readonly heartbeatSeconds?: number;
  /** Connect, query and binlog-silence timeouts; defaults in `DEFAULT_CONNECTION_TIMEOUTS` (10 s, 5 min, 60 s). */
  readonly timeouts?: Partial<ConnectionTimeouts>;
  readonly logger?: Logger;
}

/** Validated options with defaults filled in. */
export interface ResolvedMysqlSourceOptions {
  readonly url: string;
  readonly pipeline: string;
  readonly database: string | undefined;
  readonly serverId: number;
  readonly tables?: readonly TableRef[];
  readonly include?: (table: TableRef) => boolean;
  readonly ssl?: unknown;
  readonly snapshotChunkRows: number;
  readonly maxBatchEvents: number;
  readonly heartbeatSeconds: number;
  readonly timeouts: ConnectionTimeouts;
  readonly logger?: Logger;
}

/** Validates options once, at the edge; throws `ConfigError` naming the `source.*` path. */
export function resolveMysqlSourceOptions(options: MysqlSourceOptions): ResolvedMysqlSourceOptions {
  if (typeof options.url !== "string") throw new ConfigError("source.url", "a mysql://user:pass@host:port/db URL");
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigError("source.url", "a mysql://user:pass@host:port/db URL");
  }
  if (url.protocol !== "mysql:" && url.protocol !== "mariadb:") throw new ConfigError("source.url", "a mysql:// or mariadb:// URL", url.protocol);
  if (url.hostname === "") throw new ConfigError("source.url", "a URL with a host");
  if (typeof options.pipeline !== "string" || options.pipeline.trim() === "") throw new ConfigError("source.pipeline", "a non-empty pipeline name");
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || undefined;
  if (url.protocol === "mariadb:") url.protocol = "mysql:";
  const serverId = options.serverId ?? deriveServerId(options.pipeline);
  if (!Number.isInteger(serverId) || serverId < 1 || serverId > 0xffffffff) throw new ConfigError("source.serverId", "an integer between 1 and 4294967295", String(serverId));
  const positive = (path: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(path, "a positive integer", String(value));
    return value;
  };
  const snapshotChunkRows = positive("source.snapshotChunkRows", options.snapshotChunkRows, 10_000);
  const maxBatchEvents = positive("source.maxBatchEvents", options.maxBatchEvents, 10_000);
  const heartbeatSeconds = options.heartbeatSeconds ?? 1;
  if (!(heartbeatSeconds > 0 && heartbeatSeconds <= 4_294_967)) throw new ConfigError("source.heartbeatSeconds", "a number of seconds above 0");
  let tables: readonly TableRef[] | undefined;
  let include: ((table: TableRef) => boolean) | undefined;
  if (typeof options.tables === "function") {
    include = options.tables;
  } else if (options.tables !== undefined) {
    if (!Array.isArray(options.tables)) throw new ConfigError("source.tables", "a list of { namespace, name } or a predicate");
    tables = options.tables.map((t, i) => {
      if (typeof t?.name !== "string" || t.name === "") throw new ConfigError(`source.tables[${i}].name`, "a table name");
      const namespace = typeof t.namespace === "string" && t.namespace !== "" ? t.namespace : database;
      if (namespace === undefined) throw new ConfigError(`source.tables[${i}].namespace`, "a database name (the URL names none)");
      return Object.freeze({ namespace, name: t.name });
    });
  }
  if (tables === undefined && database === undefined) throw new ConfigError("source.url", "a URL naming a database, or source.tables listing tables");
  return Object.freeze({
    url: url.toString(),
    pipeline: options.pipeline,
    database,
    serverId,
    ...(tables === undefined ? {} : { tables }),
    ...(include === undefined ? {} : { include }),
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    snapshotChunkRows,
    maxBatchEvents,
    heartbeatSeconds,
    timeouts: resolveConnectionTimeouts(validTimeouts(options.timeouts)),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}

/** Checks each given timeout: milliseconds, positive (`queryMs` may be 0: no limit). */
function validTimeouts(timeouts: Partial<ConnectionTimeouts> | undefined): Partial<ConnectionTimeouts> | undefined {
  for (const [field, value] of Object.entries(timeouts ?? {})) {
    if (value !== undefined && (!Number.isInteger(value) || value < (field === "queryMs" ? 0 : 1))) {
      throw new ConfigError(`timeouts.${field}`, field === "queryMs" ? "an integer of at least 0 (0: no limit)" : "a positive integer (milliseconds)");
    }
  }
  return timeouts;
}

/** A stable replica id for a pipeline: FNV-1a of the name folded into 0x40000000–0x7fffffff, far from usual server ids. */
export function deriveServerId(pipeline: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < pipeline.length; i++) {
    hash ^= pipeline.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return 0x40000000 + (hash & 0x3fffffff);
}
