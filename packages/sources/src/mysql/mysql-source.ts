import type { ChangeBatch, PreflightOptions, PreflightReport, SnapshotOptions, SnapshotSession, Source, SourceCapabilities, StreamOptions, TableRef, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, isTransientError, tableKey } from "@zero-etl/core";
import mysql from "mysql2/promise";
import { openBinlogClient } from "./binlog-client.js";
import { mysqlConnectionError } from "./mysql-connection-error.js";
import { BinlogEventDecoder } from "./binlog-event-decoder.js";
import { BinlogTransactionReader } from "./binlog-transaction-reader.js";
import { MARKER_TABLE, MysqlIncrementalReader } from "./mysql-incremental-reader.js";
import { introspectMysqlTables, type IntrospectedTable, type TableSelection } from "./mysql-introspector.js";
import { mysqlPositionCodec, type MysqlPosition } from "./mysql-position.js";
import { runMysqlPreflight } from "./mysql-preflight.js";
import { showBinaryLogStatus, startMysqlSnapshot } from "./mysql-snapshot.js";
import { resolveMysqlSourceOptions, type MysqlSourceOptions, type ResolvedMysqlSourceOptions } from "./mysql-source-options.js";
import { SchemaHistory } from "./schema-history.js";

const CAPABILITIES: SourceCapabilities = Object.freeze({ beforeImage: "configurable", transactions: true, schemaChanges: true, truncate: true });

/**
 * A MySQL/MariaDB change-data-capture source over the binary log.
 *
 * - `snapshot` reads a consistent snapshot (no global lock on MariaDB) and
 *   returns the binlog position it matches.
 * - `stream` reads the binlog as a replica (its own protocol client on a
 *   mysql2-authenticated socket) and yields whole transactions: a batch's
 *   `checkpoint` is the position after the last complete transaction in it
 *   (file, offset after the XID/COMMIT, GTID set). A transaction larger than
 *   `maxBatchEvents` spans several batches, which repeat the previous
 *   checkpoint. Rows are decoded with the TABLE_MAP in force at their
 *   position; a changed column list gives a `schema` event first.
 * - `acknowledge` keeps nothing at the server (binlog retention is the
 *   server's `binlog_expire_logs_seconds`); `currentPosition` is
 *   `SHOW MASTER STATUS`.
 */
export function createMysqlSource(options: MysqlSourceOptions): Source {
  return new MysqlSource(resolveMysqlSourceOptions(options));
}

class MysqlSource implements Source {
  readonly kind = "mysql";
  readonly capabilities = CAPABILITIES;
  readonly positions = mysqlPositionCodec;
  private readonly options: ResolvedMysqlSourceOptions;
  private admin: Promise<mysql.Connection> | undefined;
  private incrementalConn: Promise<mysql.Connection> | undefined;
  /** Incremental snapshots: markers as rows of `_zeroetl_watermarks` in the binlog, chunks by keyset reads; absent without a database to hold the marker table. */
  readonly incremental: MysqlIncrementalReader | undefined;
  private acknowledged: MysqlPosition | undefined;
  /** Per table key, where its latest resync snapshot was taken; the stream leaves older rows of it to that snapshot. */
  private readonly rereadAt = new Map<string, MysqlPosition>();
  /** Column facts the binlog cannot carry (MariaDB's JSON alias), per table key; kept current by every introspection. */
  private readonly hints = new Map<string, IntrospectedTable>();

  constructor(options: ResolvedMysqlSourceOptions) {
    this.options = options;
    const database = options.database ?? options.tables?.[0]?.namespace;
    this.incremental = database === undefined ? undefined : new MysqlIncrementalReader({ connect: () => this.connectShared("incrementalConn"), database });
    this.markerDatabase = database;
  }

  /** Where the marker table lives (see {@link MARKER_TABLE}). */
  private readonly markerDatabase: string | undefined;

  /** Whether `database.table` is the marker table, which is never replicated as a table. */
  private isMarkerTable(database: string, table: string): boolean {
    return table === MARKER_TABLE && database === this.markerDatabase;
  }

  private connectAdmin(): Promise<mysql.Connection> {
    return this.connectShared("admin");
  }

  /** The connection kept in `slot` (the admin one, or the incremental snapshots' own, which runs beside the stream), opened on first use and again after it broke. */
  private connectShared(slot: "admin" | "incrementalConn"): Promise<mysql.Connection> {
    const held = this[slot];
    if (held !== undefined) return held;
    {
      const pending = mysql
        .createConnection({
          uri: this.options.url,
          ...(this.options.ssl === undefined ? {} : { ssl: this.options.ssl as string }),
          supportBigNumbers: true,
          bigNumberStrings: true,
          dateStrings: true,
          connectTimeout: this.options.timeouts.connectMs,
        })
        .then((conn) => {
          // a connection the server dropped (a restart) is opened anew by the next caller
          const forget = (): void => {
            if (this[slot] === pending) this[slot] = undefined;
          };
          conn.on("error", forget);
          conn.on("end", forget);
          return conn;
        })
        .catch((error: unknown) => {
          if (this[slot] === pending) this[slot] = undefined;
          throw mysqlConnectionError(this.options.url, error);
        });
      this[slot] = pending;
      return pending;
    }
  }

  private selection(tables?: readonly TableRef[]): TableSelection {
    const o = this.options;
    if (tables !== undefined) return { databases: [], tables };
    const include = o.include;
    return {
      databases: o.database === undefined ? [] : [o.database],
      ...(o.tables === undefined ? {} : { tables: o.tables }),
      include: (ref) => !this.isMarkerTable(ref.namespace, ref.name) && (include === undefined || include(ref)),
    };
  }

  private isSelected(): (database: string, table: string) => boolean {
    const o = this.options;
    if (o.tables !== undefined) {
      const keys = new Set(o.tables.map(tableKey));
      return (database, table) => keys.has(`${database}.${table}`);
    }
    const include = o.include;
    return (database, table) => database === o.database && !this.isMarkerTable(database, table) && (include === undefined || include({ namespace: database, name: table }));
  }

  /** Keeps the column hints of tables introspected (at stream start, or by a snapshot that re-reads a table created or changed later). */
  private remember(tables: readonly IntrospectedTable[]): void {
    for (const t of tables) this.hints.set(tableKey(t.schema.table), t);
  }

  async introspect(signal?: AbortSignal): Promise<readonly TableSchema[]> {
    signal?.throwIfAborted();
    const tables = await introspectMysqlTables(await this.connectAdmin(), this.selection());
    return tables.map((t) => t.schema);
  }

  async preflight(options: PreflightOptions): Promise<PreflightReport> {
    options.signal?.throwIfAborted();
    return runMysqlPreflight(await this.connectAdmin(), { fix: options.fix });
  }

  async snapshot(options: SnapshotOptions): Promise<SnapshotSession> {
    const session = await startMysqlSnapshot({
      url: this.options.url,
      ...(this.options.ssl === undefined ? {} : { ssl: this.options.ssl }),
      selection: this.selection(options.tables),
      chunkRows: this.options.snapshotChunkRows,
      connectTimeoutMs: this.options.timeouts.connectMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onIntrospected: (tables) => this.remember(tables),
    });
    if (options.resync === true) {
      // the stream resumes from before this snapshot: rows it already holds must not be applied twice
      const at = mysqlPositionCodec.parse(session.position);
      for (const schema of session.schemas) this.rereadAt.set(tableKey(schema.table), at);
      // The position is exact (a consistent snapshot whose binlog position is read under it, or under a
      // read lock): a transaction is in the rows read iff its events lie before it, and every event and
      // table change carries its place in the binlog. Saying so makes the runtime keep the re-read's
      // position with the checkpoint (TableStatus.replacedAt, saved in the sink's transaction), so a
      // replay after a crash skips what the re-read holds too, not only this process's stream.
      return { ...session, exact: true };
    }
    return session;
  }

  async acknowledge(checkpoint: string): Promise<void> {
    // Nothing to release at the server (a binlog replica holds no retention); only guard monotonicity.
    const position = mysqlPositionCodec.parse(checkpoint);
    if (this.acknowledged !== undefined && mysqlPositionCodec.compare(position, this.acknowledged) < 0) {
      throw new ZeroEtlError(`mysql acknowledge went backwards: ${checkpoint} is before ${mysqlPositionCodec.serialize(this.acknowledged)}`, { code: "position-regressed" });
    }
    this.acknowledged = position;
  }

  async currentPosition(): Promise<string> {
    const conn = await this.connectAdmin();
    const status = await showBinaryLogStatus(conn);
    let gtid = status.gtid;
    if (gtid === "") {
      try {
        const [rows] = await conn.query("SELECT @@global.gtid_binlog_pos AS g");
        gtid = String((rows as { g: string | null }[])[0]?.g ?? "");
      } catch {
        gtid = "";
      }
    }
    return mysqlPositionCodec.serialize(gtid === "" ? { file: status.file, offset: status.offset } : { file: status.file, offset: status.offset, gtid });
  }

  async close(): Promise<void> {
    const held = [this.admin, this.incrementalConn];
    this.admin = undefined;
    this.incrementalConn = undefined;
    for (const conn of held) if (conn !== undefined) await (await conn.catch(() => undefined))?.end().catch(() => undefined);
  }

  stream(from: string, options: StreamOptions): AsyncIterable<ChangeBatch> {
    return this.streamFrom(mysqlPositionCodec.parse(from), options);
  }

  private async *streamFrom(start: MysqlPosition, options: StreamOptions): AsyncGenerator<ChangeBatch> {
    try {
      yield* this.streamFromUnwrapped(start, options);
    } catch (error) {
      if (error instanceof ZeroEtlError || !isTransientError(error)) throw error;
      // the admin connection broke under a query (a restart): retryable, and reopened next time
      this.admin = undefined;
      throw mysqlConnectionError(this.options.url, error, "use");
    }
  }

  private async *streamFromUnwrapped(start: MysqlPosition, options: StreamOptions): AsyncGenerator<ChangeBatch> {
    const signal = options.signal;
    if (signal?.aborted === true) return;
    const admin = await this.connectAdmin();
    // A MariaDB GTID set lets the stream resume where the file is gone (purged, or another server after failover).
    const mariadbGtid = (await hasBinlogFile(admin, start.file)) ? undefined : mariadbGtidOf(start);
    const introspected = await introspectMysqlTables(admin, this.selection());
    this.remember(introspected);
    const hints = this.hints;
    const client = await openBinlogClient({
      url: this.options.url,
      ...(this.options.ssl === undefined ? {} : { ssl: this.options.ssl }),
      serverId: this.options.serverId,
      file: start.file,
      position: start.offset,
      heartbeatSeconds: this.options.heartbeatSeconds,
      connectTimeoutMs: this.options.timeouts.connectMs,
      keepaliveTimeoutMs: this.options.timeouts.keepaliveMs,
      ...(mariadbGtid === undefined ? {} : { mariadbGtid }),
    });
    if (mariadbGtid !== undefined) this.options.logger?.info("mysql binlog file not on the server; resuming by gtid", { file: start.file, gtid: mariadbGtid });
    const onAbort = (): void => client.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    const isSelected = this.isSelected();
    try {
      const reader = new BinlogTransactionReader({
        isSelected,
        ...(this.markerDatabase === undefined ? {} : { markerTable: { namespace: this.markerDatabase, name: MARKER_TABLE } }),
        rereadAt: this.rereadAt,
        hasDeclaredPrimaryKey: (table) => hints.get(tableKey(table))?.declaredPrimaryKey === true,
        start,
        client,
        maxBatchEvents: this.options.maxBatchEvents,
        history: new SchemaHistory(introspected.map((t) => t.schema)),
        decoder: new BinlogEventDecoder({
          checksum: client.info.checksum,
          flavor: client.info.flavor,
          collations: client.info.collations,
          // the marker table's rows are decoded too: the reader turns them into markers
          isSelected: (database, table) => isSelected(database, table) || this.isMarkerTable(database, table),
          columnHints: (database, table) => {
            if (this.isMarkerTable(database, table)) return { names: ["id", "content"] };
            const t = hints.get(`${database}.${table}`);
            return t === undefined ? undefined : { names: t.columns.map((c) => c.name), json: t.json };
          },
        }),
        ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
      });
      yield* reader.read();
    } finally {
      signal?.removeEventListener("abort", onAbort);
      client.close();
    }
  }
}

async function hasBinlogFile(conn: mysql.Connection, file: string): Promise<boolean> {
  try {
    const [rows] = await conn.query("SHOW BINARY LOGS");
    return (rows as { Log_name: string }[]).some((r) => r.Log_name === file);
  } catch {
    return true; // Without the privilege to list logs, the dump itself reports a missing file.
  }
}

/** The position's GTID set when it is MariaDB's (`domain-server-seq` items); otherwise a missing file is final. */
function mariadbGtidOf(start: MysqlPosition): string {
  if (start.gtid !== undefined && /^\d+-\d+-\d+(,\d+-\d+-\d+)*$/.test(start.gtid)) return start.gtid;
  throw new ZeroEtlError(`mysql binlog file ${start.file} (position ${start.file}:${start.offset}) is no longer on the server (purged or from another server); re-snapshot`, {
    code: "position-lost",
  });
}
