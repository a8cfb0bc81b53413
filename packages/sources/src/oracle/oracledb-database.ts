import { ZeroEtlError } from "@zero-etl/core";
import type { OracleBinds, OracleConnector, OracleDatabase, OracleRow } from "./oracle-database.js";
import { SESSION_SETUP_SQL } from "./oracle-sql.js";

/** The parts of `oracledb` (thin mode) the source uses, typed here so that the driver's own types are not needed. */
interface OracleDbModule {
  readonly NUMBER: unknown;
  readonly CLOB: unknown;
  readonly NCLOB: unknown;
  readonly BLOB: unknown;
  readonly STRING: unknown;
  readonly BUFFER: unknown;
  readonly OUT_FORMAT_OBJECT: number;
  getConnection(attributes: Record<string, unknown>): Promise<OracleDbConnection>;
}
interface OracleDbConnection {
  execute(sql: string, binds: OracleBinds, options: Record<string, unknown>): Promise<{ rows?: OracleRow[] }>;
  queryStream(sql: string, binds: OracleBinds, options: Record<string, unknown>): AsyncIterable<OracleRow> & { destroy(): void };
  close(): Promise<void>;
  callTimeout?: number;
}

/** Connection settings from an `oracle://user:pass@host:port/service` URL. */
export interface OracleConnectOptions {
  readonly url: string;
  readonly connectTimeoutMs: number;
  /** Per round trip; 0 means no limit. */
  readonly queryTimeoutMs: number;
}

/**
 * A connector over `oracledb` in thin mode (pure JavaScript, no Instant
 * Client). The driver is loaded on the first connection, so importing the
 * source never loads it. NUMBER columns are fetched as strings (exact),
 * CLOBs as strings and BLOBs as bytes.
 */
export function createOracleDbConnector(options: OracleConnectOptions): OracleConnector {
  const url = new URL(options.url);
  const connectString = `${url.hostname}:${url.port === "" ? "1521" : url.port}/${decodeURIComponent(url.pathname.replace(/^\//, ""))}`;
  return async () => {
    let driver: OracleDbModule;
    try {
      // a variable specifier: the driver's own types are not needed, its slice is typed above
      const specifier = "oracledb";
      driver = ((await import(specifier)) as { default: OracleDbModule }).default;
    } catch (error) {
      throw new ZeroEtlError("the oracle source needs the oracledb package (npm install oracledb)", { code: "config-invalid", cause: error });
    }
    let connection: OracleDbConnection;
    try {
      connection = await driver.getConnection({
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        connectString,
        connectTimeout: Math.ceil(options.connectTimeoutMs / 1000),
      });
    } catch (error) {
      // the URL (with its password) stays out of the message
      throw new ZeroEtlError(`cannot connect to oracle at ${connectString}`, { code: "connection-failed", retryable: true, cause: error });
    }
    if (options.queryTimeoutMs > 0) connection.callTimeout = options.queryTimeoutMs;
    const executeOptions = {
      outFormat: driver.OUT_FORMAT_OBJECT,
      fetchTypeHandler: (metaData: { dbType: unknown }) => {
        if (metaData.dbType === driver.NUMBER || metaData.dbType === driver.CLOB || metaData.dbType === driver.NCLOB) return { type: driver.STRING };
        if (metaData.dbType === driver.BLOB) return { type: driver.BUFFER };
        return undefined;
      },
    };
    const database: OracleDatabase = {
      async query(sql, binds = {}) {
        return (await connection.execute(sql, binds, executeOptions)).rows ?? [];
      },
      async *stream(sql, binds = {}) {
        const rows = connection.queryStream(sql, binds, { ...executeOptions, fetchArraySize: 1000 });
        try {
          for await (const row of rows) yield row;
        } finally {
          rows.destroy();
        }
      },
      async execute(sql, binds = {}) {
        await connection.execute(sql, binds, {});
      },
      close: () => connection.close(),
    };
    await database.execute(SESSION_SETUP_SQL);
    return database;
  };
}
