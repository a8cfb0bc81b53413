import pg from "pg";
import { DEFAULT_CONNECTION_TIMEOUTS, ZeroEtlError, redactText } from "@zero-etl/core";
import { CANONICAL_SESSION_SETTINGS } from "./pg-value-decoder.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";

/** The settings {@link connectPostgres} needs. */
export type PostgresConnectionSettings = Pick<PostgresSourceConfig, "url" | "ssl"> & { readonly timeouts?: PostgresSourceConfig["timeouts"] };

/** Options of {@link connectPostgres}. */
export interface ConnectPostgresOptions {
  /** Open a logical replication connection (`replication=database`). */
  readonly replication?: boolean;
  /** Shown in logs as the connection's `application_name`. */
  readonly applicationName?: string;
}

/** A pg type-parser set that returns every column as its raw text, so values go through our decoders. */
export const RAW_TEXT_TYPES = Object.freeze({ getTypeParser: () => (value: string) => value }) as unknown as pg.CustomTypesConfig;

/**
 * Opens a `pg` client with the canonical session settings (ISO dates, UTC,
 * ISO-8601 intervals, shortest exact floats, hex bytea). Failures become a
 * retryable `connection-failed` error naming host, port and database only.
 * `timeouts.connectMs` bounds the connect (a host that accepts TCP but never
 * answers); `timeouts.queryMs` bounds each query, except on a replication
 * connection, whose stream has its own keepalive timeout.
 */
export async function connectPostgres(config: PostgresConnectionSettings, options: ConnectPostgresOptions = {}): Promise<pg.Client> {
  const timeouts = config.timeouts ?? DEFAULT_CONNECTION_TIMEOUTS;
  const settings = Object.entries(CANONICAL_SESSION_SETTINGS)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(" ");
  const clientConfig: pg.ClientConfig = {
    connectionString: config.url,
    options: settings,
    application_name: options.applicationName ?? "zero-etl",
    connectionTimeoutMillis: timeouts.connectMs,
    keepAlive: true,
  };
  if (options.replication !== true && timeouts.queryMs > 0) clientConfig.query_timeout = timeouts.queryMs;
  if (config.ssl !== undefined) clientConfig.ssl = config.ssl as pg.ClientConfig["ssl"];
  if (options.replication === true) (clientConfig as { replication?: string }).replication = "database";
  const client = new pg.Client(clientConfig);
  // an idle client's socket error must not crash the process; callers see it on their next query
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const timedOut = error instanceof Error && /connection timeout|timeout expired/i.test(error.message);
    throw connectionError(config.url, timedOut ? new Error(`no answer within ${timeouts.connectMs} ms (timeouts.connectMs)`) : error, "source");
  }
  return client;
}

/** Where a URL points, without credentials: `host:port/database`. */
export function describeServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port === "" ? "5432" : u.port}${u.pathname}`;
  } catch {
    return "the configured server";
  }
}

/** A retryable `connection-failed` error naming the side and the server but no secret; the cause's message is redacted. */
export function connectionError(url: string, cause: unknown, side: "source" | "target" = "source", during: "connect" | "use" = "connect"): ZeroEtlError {
  const reason = cause instanceof Error ? redactText(cause.message).split(url).join(describeServer(url)) : "unknown error";
  const safeCause = cause instanceof Error ? Object.assign(new Error(reason), { code: (cause as { code?: unknown }).code }) : undefined;
  // bad credentials, a missing database or a refused login: another attempt cannot help
  const sqlState = (cause as { code?: unknown } | undefined)?.code;
  const permanent = typeof sqlState === "string" && /^(28|3D)/.test(sqlState);
  const what = during === "connect" ? "cannot connect to" : "lost the connection to";
  return new ZeroEtlError(`${what} postgres ${side} at ${describeServer(url)}: ${reason}`, {
    code: "connection-failed",
    retryable: !permanent,
    cause: safeCause,
  });
}

/** Quotes an SQL identifier (`"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string as an SQL literal, for the replication protocol's commands, which take no parameters. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
