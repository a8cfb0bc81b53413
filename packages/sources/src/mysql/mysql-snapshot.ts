import type { Row, SnapshotChunk, SnapshotSession, Value } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import mysql from "mysql2/promise";
import { mysqlConnectionError } from "./mysql-connection-error.js";
import { MysqlType, type ColumnDescriptor } from "./mysql-column-type.js";
import { mysqlTimeTextToDuration } from "./mysql-duration.js";
import { introspectMysqlTables, type IntrospectedTable, type TableSelection } from "./mysql-introspector.js";
import { mysqlPositionCodec } from "./mysql-position.js";

/** Options of {@link startMysqlSnapshot}. */
export interface MysqlSnapshotOptions {
  readonly url: string;
  readonly ssl?: unknown;
  readonly selection: TableSelection;
  /** Rows per chunk (keyset page size). */
  readonly chunkRows: number;
  /** Connecting may take this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with the tables as introspected inside the snapshot, e.g. to refresh the stream's column hints. */
  readonly onIntrospected?: (tables: readonly IntrospectedTable[]) => void;
}

/**
 * Starts a consistent snapshot. MariaDB: `START TRANSACTION WITH CONSISTENT
 * SNAPSHOT`, then `Binlog_snapshot_file/position` give the binlog position
 * matching the snapshot without any lock. MySQL: a brief `FLUSH TABLES WITH
 * READ LOCK` around the snapshot start and `SHOW MASTER STATUS`. Rows are read
 * in primary-key order by keyset pagination (tables without a key by offset)
 * inside that one transaction, and converted to exactly the values the binlog
 * decoder produces.
 */
export async function startMysqlSnapshot(options: MysqlSnapshotOptions): Promise<SnapshotSession> {
  const conn = await mysql.createConnection({
    uri: options.url,
    ...(options.ssl === undefined ? {} : { ssl: options.ssl as string }),
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    jsonStrings: true,
    timezone: "Z",
    connectTimeout: options.connectTimeoutMs ?? 10_000,
  }).catch((error: unknown) => {
    // names the server and is retryable when the server is merely restarting
    throw mysqlConnectionError(options.url, error);
  });
  try {
    await conn.query("SET SESSION time_zone = '+00:00'");
    await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    const [versionRows] = await conn.query({ sql: "SELECT @@version", rowsAsArray: true });
    const version = String((versionRows as unknown[][])[0]?.[0] ?? "");
    let file: string;
    let offset: number;
    let gtid = "";
    if (/mariadb/i.test(version)) {
      await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
      const [status] = await conn.query({ sql: "SHOW STATUS LIKE 'binlog_snapshot_%'", rowsAsArray: true });
      const map = new Map((status as [string, string][]).map(([k, v]) => [k.toLowerCase(), v]));
      file = map.get("binlog_snapshot_file") ?? "";
      offset = Number(map.get("binlog_snapshot_position") ?? 0);
      const [g] = await conn.query({ sql: "SELECT BINLOG_GTID_POS(?, ?)", rowsAsArray: true }, [file, offset]);
      gtid = String((g as unknown[][])[0]?.[0] ?? "");
    } else {
      await conn.query("FLUSH TABLES WITH READ LOCK");
      try {
        await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
        const status = await showBinaryLogStatus(conn);
        file = status.file;
        offset = status.offset;
        gtid = status.gtid;
      } finally {
        await conn.query("UNLOCK TABLES");
      }
    }
    if (file === "") throw new ZeroEtlError("mysql snapshot found no binlog position; is log_bin on?", { code: "preflight-failed" });
    const tables = await introspectMysqlTables(conn, options.selection);
    options.onIntrospected?.(tables);
    const position = mysqlPositionCodec.serialize(gtid === "" ? { file, offset } : { file, offset, gtid });
    return { position, schemas: tables.map((t) => t.schema), chunks: readChunks(conn, tables, options) };
  } catch (error) {
    await conn.end().catch(() => undefined);
    throw error;
  }
}

/** `SHOW MASTER STATUS`, or `SHOW BINARY LOG STATUS` on MySQL 8.4+ where the former is gone. */
export async function showBinaryLogStatus(conn: mysql.Connection): Promise<{ file: string; offset: number; gtid: string }> {
  let rows: unknown;
  try {
    [rows] = await conn.query({ sql: "SHOW MASTER STATUS", rowsAsArray: false });
  } catch {
    [rows] = await conn.query({ sql: "SHOW BINARY LOG STATUS", rowsAsArray: false });
  }
  const row = (rows as Record<string, unknown>[])[0];
  if (row === undefined) throw new ZeroEtlError("mysql reports no binlog status; is log_bin on?", { code: "preflight-failed" });
  return { file: String(row.File ?? ""), offset: Number(row.Position ?? 0), gtid: String(row.Executed_Gtid_Set ?? "").replace(/\s+/g, "") };
}

async function* readChunks(conn: mysql.Connection, tables: readonly IntrospectedTable[], options: MysqlSnapshotOptions): AsyncGenerator<SnapshotChunk> {
  try {
    for (const table of tables) {
      const ref = table.schema.table;
      const from = `${quote(ref.namespace)}.${quote(ref.name)}`;
      const select = table.columns.map(selectExpression).join(", ");
      const converters = table.columns.map(converterOf);
      const names = table.columns.map((c) => c.name);
      const keyIndexes = table.schema.primaryKey.map((k) => names.indexOf(k));
      const keyList = table.schema.primaryKey.map(quote).join(", ");
      let last: unknown[] | undefined;
      let chunk = 0;
      let rowsRead = 0;
      for (;;) {
        if (options.signal?.aborted === true) throw new ZeroEtlError("mysql snapshot aborted", { code: "aborted", cause: options.signal.reason });
        let sql: string;
        let params: unknown[] = [];
        if (keyIndexes.length > 0) {
          const where = last === undefined ? "" : ` WHERE (${keyList}) > (${keyIndexes.map(() => "?").join(", ")})`;
          sql = `SELECT ${select} FROM ${from}${where} ORDER BY ${keyList} LIMIT ${options.chunkRows}`;
          params = last ?? [];
        } else {
          sql = `SELECT ${select} FROM ${from} LIMIT ${options.chunkRows} OFFSET ${rowsRead}`;
        }
        const [raw] = await conn.query({ sql, rowsAsArray: true }, params);
        const rawRows = raw as unknown[][];
        const rows: Row[] = new Array<Row>(rawRows.length);
        for (let r = 0; r < rawRows.length; r++) {
          const cells = rawRows[r] as unknown[];
          const row: Record<string, Value> = {};
          for (let i = 0; i < names.length; i++) row[names[i] as string] = (converters[i] as Converter)(cells[i]);
          rows[r] = row;
        }
        rowsRead += rows.length;
        const done = rawRows.length < options.chunkRows;
        const lastRaw = rawRows[rawRows.length - 1];
        if (lastRaw !== undefined && keyIndexes.length > 0) last = keyIndexes.map((i) => lastRaw[i]);
        yield {
          table: ref,
          schema: table.schema,
          rows,
          chunk: chunk++,
          last: done,
          rowsRead,
          ...(table.rowsEstimated === undefined ? {} : { rowsEstimated: table.rowsEstimated }),
        };
        if (done) break;
      }
    }
    await conn.query("COMMIT");
  } finally {
    await conn.end().catch(() => undefined);
  }
}

export type Converter = (raw: unknown) => Value;

export function quote(identifier: string): string {
  return `\`${identifier.replace(/`/g, "``")}\``;
}

/**
 * Selects a column so that the text protocol gives the binlog's value: FLOAT
 * widened exactly, GEOMETRY as WKB. Floats come as text because mysql2 parses
 * a DOUBLE column digit by digit in floating point, which loses the last bits
 * (`1.7976931348623157e308` becomes the next smaller double); the server's
 * text is the shortest round-trip form, which `Number()` reads exactly.
 */
export function selectExpression(column: ColumnDescriptor): string {
  const name = quote(column.name);
  if (column.type === MysqlType.FLOAT) return `CAST(CAST(${name} AS DOUBLE) AS CHAR)`;
  if (column.type === MysqlType.DOUBLE) return `CAST(${name} AS CHAR)`;
  if (column.type === MysqlType.GEOMETRY) return `ST_AsWKB(${name})`;
  return name;
}

const identity: Converter = (raw) => (raw === undefined ? null : (raw as Value));
const toBytes: Converter = (raw) => (raw === null || raw === undefined ? null : new Uint8Array(raw as Buffer));

export function converterOf(column: ColumnDescriptor): Converter {
  switch (column.type) {
    case MysqlType.LONGLONG:
      return (raw) => (raw === null || raw === undefined ? null : BigInt(raw as string));
    case MysqlType.DATE:
      return (raw) => (raw === null || raw === undefined ? null : zeroDate(raw as string));
    case MysqlType.DATETIME2:
      return (raw) => {
        if (raw === null || raw === undefined) return null;
        const text = raw as string;
        return zeroDate(text.slice(0, 10)) === null ? null : `${text.slice(0, 10)}T${text.slice(11)}`;
      };
    case MysqlType.TIMESTAMP2:
      return (raw) => {
        if (raw === null || raw === undefined) return null;
        const text = raw as string;
        return text.startsWith("0000-00-00") ? null : `${text.slice(0, 10)}T${text.slice(11)}Z`;
      };
    case MysqlType.TIME2:
      return (raw) => (raw === null || raw === undefined ? null : (mysqlTimeTextToDuration(raw as string) ?? (raw as string)));
    case MysqlType.YEAR:
    case MysqlType.FLOAT:
    case MysqlType.DOUBLE:
      return (raw) => (raw === null || raw === undefined ? null : Number(raw));
    case MysqlType.TINY:
    case MysqlType.SHORT:
    case MysqlType.INT24:
    case MysqlType.LONG:
    case MysqlType.NEWDECIMAL:
    case MysqlType.ENUM:
    case MysqlType.SET:
    case MysqlType.JSON:
      return identity;
    case MysqlType.BIT:
    case MysqlType.GEOMETRY:
      return toBytes;
    default:
      if (column.charset === "binary" && !column.json && column.realType !== MysqlType.ENUM && column.realType !== MysqlType.SET) return toBytes;
      return identity;
  }
}

function zeroDate(date: string): string | null {
  return date.slice(5, 7) === "00" || date.slice(8, 10) === "00" ? null : date;
}
