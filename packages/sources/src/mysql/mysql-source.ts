import type {
  ChangeBatch,
  ChangeEvent,
  PreflightOptions,
  PreflightReport,
  Row,
  SnapshotOptions,
  SnapshotSession,
  Source,
  SourceCapabilities,
  StreamOptions,
  TableRef,
  TableSchema,
  Value,
} from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import mysql from "mysql2/promise";
import { openBinlogClient, type BinlogClient } from "./binlog-client.js";
import { BinlogEventDecoder, type BinlogEvent } from "./binlog-event-decoder.js";
import { introspectMysqlTables, type IntrospectedTable, type TableSelection } from "./mysql-introspector.js";
import { GtidState, mysqlPositionCodec, type MysqlPosition } from "./mysql-position.js";
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
  private acknowledged: MysqlPosition | undefined;

  constructor(options: ResolvedMysqlSourceOptions) {
    this.options = options;
  }

  private connectAdmin(): Promise<mysql.Connection> {
    if (this.admin === undefined) {
      const pending = mysql
        .createConnection({
          uri: this.options.url,
          ...(this.options.ssl === undefined ? {} : { ssl: this.options.ssl as string }),
          supportBigNumbers: true,
          bigNumberStrings: true,
          dateStrings: true,
        })
        .catch((error: unknown) => {
          this.admin = undefined;
          throw new ZeroEtlError("cannot connect to the mysql source", { code: "connection-failed", retryable: true, cause: error });
        });
      this.admin = pending;
    }
    return this.admin;
  }

  private selection(tables?: readonly TableRef[]): TableSelection {
    const o = this.options;
    if (tables !== undefined) return { databases: [], tables };
    return {
      databases: o.database === undefined ? [] : [o.database],
      ...(o.tables === undefined ? {} : { tables: o.tables }),
      ...(o.include === undefined ? {} : { include: o.include }),
    };
  }

  private isSelected(): (database: string, table: string) => boolean {
    const o = this.options;
    if (o.tables !== undefined) {
      const keys = new Set(o.tables.map(tableKey));
      return (database, table) => keys.has(`${database}.${table}`);
    }
    const include = o.include;
    return (database, table) => database === o.database && (include === undefined || include({ namespace: database, name: table }));
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
    return startMysqlSnapshot({
      url: this.options.url,
      ...(this.options.ssl === undefined ? {} : { ssl: this.options.ssl }),
      selection: this.selection(options.tables),
      chunkRows: this.options.snapshotChunkRows,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  async acknowledge(checkpoint: string): Promise<void> {
    // Nothing to release at the server: a binlog replica holds no retention; keep it for diagnostics only.
    this.acknowledged = mysqlPositionCodec.parse(checkpoint);
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
    const admin = this.admin;
    this.admin = undefined;
    if (admin !== undefined) await (await admin.catch(() => undefined))?.end().catch(() => undefined);
    void this.acknowledged;
  }

  stream(from: string, options: StreamOptions): AsyncIterable<ChangeBatch> {
    return this.streamFrom(mysqlPositionCodec.parse(from), options);
  }

  private async *streamFrom(start: MysqlPosition, options: StreamOptions): AsyncGenerator<ChangeBatch> {
    const signal = options.signal;
    if (signal?.aborted === true) return;
    const admin = await this.connectAdmin();
    await assertBinlogAvailable(admin, start);
    const introspected = await introspectMysqlTables(admin, this.selection());
    const hints = new Map<string, IntrospectedTable>(introspected.map((t) => [tableKey(t.schema.table), t]));
    const client = await openBinlogClient({
      url: this.options.url,
      ...(this.options.ssl === undefined ? {} : { ssl: this.options.ssl }),
      serverId: this.options.serverId,
      file: start.file,
      position: start.offset,
      heartbeatSeconds: this.options.heartbeatSeconds,
    });
    const onAbort = (): void => client.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const reader = new TransactionReader({
        start,
        client,
        maxBatchEvents: this.options.maxBatchEvents,
        history: new SchemaHistory(introspected.map((t) => t.schema)),
        decoder: new BinlogEventDecoder({
          checksum: client.info.checksum,
          flavor: client.info.flavor,
          collations: client.info.collations,
          isSelected: this.isSelected(),
          columnHints: (database, table) => {
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

async function assertBinlogAvailable(conn: mysql.Connection, start: MysqlPosition): Promise<void> {
  let files: string[];
  try {
    const [rows] = await conn.query("SHOW BINARY LOGS");
    files = (rows as { Log_name: string }[]).map((r) => r.Log_name);
  } catch {
    return; // Without the privilege to list logs, the dump itself reports a purged file.
  }
  if (!files.includes(start.file)) {
    throw new ZeroEtlError(`mysql binlog file ${start.file} (position ${start.file}:${start.offset}) is no longer on the server (purged or from another server); re-snapshot`, {
      code: "position-lost",
    });
  }
}

interface ReaderOptions {
  readonly start: MysqlPosition;
  readonly client: BinlogClient;
  readonly decoder: BinlogEventDecoder;
  readonly history: SchemaHistory;
  readonly maxBatchEvents: number;
  readonly logger?: { warn(message: string, fields?: Record<string, unknown>): void; info(message: string, fields?: Record<string, unknown>): void };
}

const DDL = /^\s*(?:\/\*.*?\*\/\s*)*(ALTER|CREATE|DROP|RENAME|TRUNCATE)\s+(?:TEMPORARY\s+)?(?:ONLINE\s+)?(?:IGNORE\s+)?(TABLE\b)?/is;

/** Turns decoded binlog events into transaction-aligned change batches. */
class TransactionReader {
  private readonly o: ReaderOptions;
  private file: string;
  private readonly gtids: GtidState;
  private pending: ChangeEvent[] = [];
  private committed: string;
  private lastYielded: string | undefined;
  private inTx = false;
  private explicitTx = false;
  private txGtid: string | undefined;
  private txId: string | undefined;
  private txTime = 0;
  private heartbeat = false;

  constructor(options: ReaderOptions) {
    this.o = options;
    this.file = options.start.file;
    this.gtids = new GtidState(options.start.gtid);
    this.committed = mysqlPositionCodec.serialize(options.start);
  }

  async *read(): AsyncGenerator<ChangeBatch> {
    const { client, decoder } = this.o;
    for (;;) {
      const buffers = await client.take();
      if (buffers === null) return;
      for (const buf of buffers) {
        this.handle(decoder.decode(buf, 0, buf.length));
        if (this.pending.length >= this.o.maxBatchEvents) yield this.flush(false);
      }
      if (this.pending.length > 0 || this.committed !== this.lastYielded || (this.heartbeat && !this.inTx)) {
        yield this.flush(this.heartbeat && !this.inTx);
      }
      this.heartbeat = false;
    }
  }

  private flush(caughtUp: boolean): ChangeBatch {
    const events = this.pending;
    this.pending = [];
    this.lastYielded = this.committed;
    return { events, checkpoint: this.committed, caughtUp };
  }

  private position(event: BinlogEvent): string {
    return `${this.file}:${event.header.nextPosition - event.header.eventSize}`;
  }

  private begin(event: BinlogEvent, gtid: string | undefined): void {
    this.inTx = true;
    this.txGtid = gtid;
    this.txId = gtid ?? this.position(event);
    this.txTime = event.header.timestamp * 1000;
  }

  private commit(event: BinlogEvent): void {
    if (this.txGtid !== undefined) this.gtids.add(this.txGtid);
    const gtid = this.gtids.toString();
    this.committed = mysqlPositionCodec.serialize(gtid === "" ? { file: this.file, offset: event.header.nextPosition } : { file: this.file, offset: event.header.nextPosition, gtid });
    this.inTx = false;
    this.explicitTx = false;
    this.txGtid = undefined;
    this.txId = undefined;
  }

  private handle(event: BinlogEvent): void {
    switch (event.kind) {
      case "rotate":
        this.file = event.file;
        if (!this.inTx && event.header.nextPosition !== 0) {
          const gtid = this.gtids.toString();
          this.committed = mysqlPositionCodec.serialize(gtid === "" ? { file: event.file, offset: event.position } : { file: event.file, offset: event.position, gtid });
        }
        return;
      case "gtid-list":
        if (this.gtids.toString() === "") this.gtids.addSet(event.gtids);
        return;
      case "gtid":
        this.begin(event, event.gtid);
        this.explicitTx = !event.standalone && event.flavor === "mariadb";
        return;
      case "query":
        this.onQuery(event);
        return;
      case "xid":
        this.commit(event);
        return;
      case "table-map":
        if (event.map.selected) {
          if (!this.inTx) this.begin(event, undefined);
          const seen = this.o.history.observe(event.map);
          if (seen.changed) {
            this.pending.push({
              op: "schema",
              table: seen.schema.table,
              position: this.position(event),
              commitTime: this.txTime,
              ...(this.txId === undefined ? {} : { transactionId: this.txId }),
              schema: seen.schema,
              ...(seen.previous === undefined ? {} : { previous: seen.previous }),
            });
          }
        }
        return;
      case "rows":
        if (event.map.selected) this.onRows(event);
        return;
      case "heartbeat":
        this.heartbeat = true;
        return;
      default:
        return;
    }
  }

  private onQuery(event: Extract<BinlogEvent, { kind: "query" }>): void {
    const q = event.query.trim();
    const upper = q.slice(0, 16).toUpperCase();
    if (upper === "BEGIN" || upper.startsWith("XA START")) {
      if (!this.inTx) this.begin(event, undefined);
      this.explicitTx = true;
      return;
    }
    if (upper === "COMMIT" || upper === "ROLLBACK" || upper.startsWith("XA COMMIT") || upper.startsWith("XA ROLLBACK")) {
      // A ROLLBACK in the binlog only ends a group whose non-transactional changes did happen; they stay emitted.
      this.commit(event);
      return;
    }
    if (!this.inTx) this.begin(event, undefined);
    this.onDdl(event, q);
    if (!this.explicitTx) this.commit(event);
  }

  private onDdl(event: Extract<BinlogEvent, { kind: "query" }>, q: string): void {
    const m = DDL.exec(q);
    if (m === null || m[2] === undefined) return;
    const verb = (m[1] ?? "").toUpperCase();
    const names = tableNames(q.slice(m[0].length), event.database);
    for (const table of names) {
      const known = this.o.history.get(table);
      if (verb === "TRUNCATE") {
        if (known === undefined) continue;
        this.pending.push({ op: "truncate", table: known.table, position: this.position(event), commitTime: event.header.timestamp * 1000, ...(this.txId === undefined ? {} : { transactionId: this.txId }) });
      } else if (verb === "DROP" || verb === "RENAME") {
        if (known !== undefined) this.o.logger?.info("mysql table dropped or renamed at source", { table: tableKey(table), position: this.position(event) });
        this.o.history.forget(table);
      }
      if (verb === "RENAME") break; // only the old name of the first pair is certain to be ours
    }
  }

  private onRows(event: Extract<BinlogEvent, { kind: "rows" }>): void {
    const { history } = this.o;
    if (!this.inTx) this.begin(event, undefined);
    const schema = history.observe(event.map).schema;
    const table = schema.table;
    const key = schema.primaryKey;
    const position = this.position(event);
    const commitTime = this.txTime;
    const transactionId = this.txId ?? position;
    const rows = event.rows;
    const out = this.pending;
    if (event.op === "insert") {
      for (let i = 0; i < rows.length; i++) out.push({ op: "insert", table, position, commitTime, transactionId, after: rows[i] as Row });
    } else if (event.op === "delete") {
      for (let i = 0; i < rows.length; i++) {
        const before = rows[i] as Row;
        out.push({ op: "delete", table, position, commitTime, transactionId, key: keyOf(before, key), before });
      }
    } else {
      for (let i = 0; i + 1 < rows.length; i += 2) {
        const before = rows[i] as Row;
        out.push({ op: "update", table, position, commitTime, transactionId, key: keyOf(before, key), before, after: rows[i + 1] as Row });
      }
    }
  }
}

function keyOf(row: Row, key: readonly string[]): Row {
  if (key.length === 0) return row;
  const out: Record<string, Value> = {};
  for (const k of key) out[k] = row[k] ?? null;
  return out;
}

/** The table names right after `ALTER/DROP/TRUNCATE/RENAME TABLE` (first of a RENAME pair), qualified with the statement's default database. */
function tableNames(rest: string, database: string): TableRef[] {
  const out: TableRef[] = [];
  const re = /^\s*(?:IF\s+(?:NOT\s+)?EXISTS\s+)?((?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))?)\s*(,)?/i;
  let text = rest;
  for (let i = 0; i < 64; i++) {
    const m = re.exec(text);
    if (m === null) break;
    const parts = (m[1] ?? "").split(/\s*\.\s*(?=`|[\w$])/).map((p) => (p.startsWith("`") ? p.slice(1, -1).replace(/``/g, "`") : p));
    out.push(parts.length === 2 ? { namespace: parts[0] as string, name: parts[1] as string } : { namespace: database, name: parts[0] as string });
    if (m[2] === undefined) break;
    text = text.slice(m[0].length);
  }
  return out;
}
