import type { ConnectionOptions } from "node:tls";
import type { ConnectionTimeouts, Logger, TableRef } from "@zero-etl/core";
import { ConfigError, resolveConnectionTimeouts, silentLogger } from "@zero-etl/core";
import type { HistorySelector } from "./postgres-history-table.js";
import { createHistorySelector } from "./postgres-history-table.js";

/** Options of {@link createPostgresSink}. */
export interface PostgresSinkOptions {
  /** `postgres://user:password@host:port/database`; the password never appears in errors or logs. */
  readonly url: string;
  /** Target schema for the replicated tables and the `_zeroetl_*` state tables; `public` by default. */
  readonly schema?: string;
  /** Passed to `pg` as is (`true`, or TLS options). */
  readonly ssl?: boolean | ConnectionOptions;
  readonly logger?: Logger;
  /** Target table name for a source table; the source table's name by default. At most 63 bytes. */
  readonly tableName?: (ref: TableRef) => string;
  /** Connections in the pool; 2 by default (one for the open transaction, one for preflight and catalog reads). */
  readonly maxConnections?: number;
  /**
   * History mode (slowly changing dimension type 2) for these source tables
   * (`"namespace.name"` keys as the sink receives them, or `"*"` for all):
   * their target tables keep every version of every row with validity
   * columns instead of the latest state. Tables need a primary key.
   */
  readonly history?: { readonly tables: readonly string[] };
  /** Connect and statement timeouts; defaults in `DEFAULT_CONNECTION_TIMEOUTS` (10 s, 5 min). */
  readonly timeouts?: Partial<ConnectionTimeouts>;
}

/** The validated, frozen form of {@link PostgresSinkOptions}. */
export interface PostgresSinkConfig {
  readonly url: string;
  readonly schema: string;
  readonly ssl: boolean | ConnectionOptions | undefined;
  readonly logger: Logger;
  readonly tableName: (ref: TableRef) => string;
  readonly maxConnections: number;
  /** `host:port/database`, for messages: never the user's password. */
  readonly displayTarget: string;
  /** Whether a table is replicated in history mode. */
  readonly isHistory: HistorySelector;
  readonly timeouts: ConnectionTimeouts;
}

const MAX_IDENTIFIER_BYTES = 63;

/**
 * Validates the options once, at the edge. Throws {@link ConfigError} naming
 * the field (`target.url`, `target.schema`, ...); the URL is never echoed,
 * since it may carry a password.
 */
export function resolvePostgresSinkConfig(options: PostgresSinkOptions): PostgresSinkConfig {
  if (typeof options !== "object" || options === null) throw new ConfigError("target", "an object with a url");
  if (typeof options.url !== "string" || options.url.length === 0) throw new ConfigError("target.url", "a postgres:// or postgresql:// URL");
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new ConfigError("target.url", "a postgres:// or postgresql:// URL", "a string that is not a URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new ConfigError("target.url", "a postgres:// or postgresql:// URL", `protocol ${parsed.protocol}`);
  }
  if (parsed.hostname === "" && !parsed.searchParams.has("host")) throw new ConfigError("target.url", "a URL with a host");
  const schema = options.schema ?? "public";
  if (typeof schema !== "string" || schema.length === 0 || Buffer.byteLength(schema) > MAX_IDENTIFIER_BYTES || schema.includes("\0")) {
    throw new ConfigError("target.schema", `a schema name of 1 to ${MAX_IDENTIFIER_BYTES} bytes without NUL`);
  }
  if (options.tableName !== undefined && typeof options.tableName !== "function") throw new ConfigError("target.tableName", "a function (TableRef) => string");
  const maxConnections = options.maxConnections ?? 2;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new ConfigError("target.maxConnections", "an integer of at least 1");
  const history = options.history;
  if (history !== undefined) {
    if (typeof history !== "object" || history === null || !Array.isArray(history.tables)) throw new ConfigError("target.history", "an object with a tables list");
    history.tables.forEach((t, i) => {
      if (typeof t !== "string" || (t !== "*" && !/^[^.]+\..+$/.test(t))) throw new ConfigError(`target.history.tables[${i}]`, 'a "namespace.name" table key or "*"');
    });
  }
  const timeouts = options.timeouts ?? {};
  for (const [field, value] of Object.entries(timeouts)) {
    if (value !== undefined && (!Number.isInteger(value) || value < (field === "queryMs" ? 0 : 1))) throw new ConfigError(`timeouts.${field}`, field === "queryMs" ? "an integer of at least 0 (0: no limit)" : "a positive integer (milliseconds)");
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "(default database)";
  return Object.freeze({
    url: options.url,
    schema,
    ssl: options.ssl,
    logger: options.logger ?? silentLogger,
    tableName: options.tableName ?? ((ref: TableRef) => ref.name),
    maxConnections,
    displayTarget: `${parsed.hostname || "(socket)"}:${parsed.port || "5432"}/${database}`,
    isHistory: createHistorySelector(history?.tables),
    timeouts: resolveConnectionTimeouts(timeouts),
  });
}
