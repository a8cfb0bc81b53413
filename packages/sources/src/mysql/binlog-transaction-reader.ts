import type { ChangeBatch, ChangeEvent, Row, TableRef, Value } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { BinlogClient } from "./binlog-client.js";
import type { BinlogEvent, BinlogEventDecoder } from "./binlog-event-decoder.js";
import { GtidState, mysqlPositionCodec, type MysqlPosition } from "./mysql-position.js";
import type { SchemaHistory } from "./schema-history.js";

/** Options of {@link BinlogTransactionReader}. */
export interface BinlogTransactionReaderOptions {
  readonly start: MysqlPosition;
  readonly client: BinlogClient;
  readonly decoder: BinlogEventDecoder;
  readonly history: SchemaHistory;
  readonly maxBatchEvents: number;
  readonly logger?: { warn(message: string, fields?: Record<string, unknown>): void; info(message: string, fields?: Record<string, unknown>): void };
}

const DDL = /^\s*(?:\/\*.*?\*\/\s*)*(ALTER|CREATE|DROP|RENAME|TRUNCATE)\s+(?:TEMPORARY\s+)?(?:ONLINE\s+)?(?:IGNORE\s+)?(TABLE\b)?/is;

/**
 * Turns decoded binlog events into transaction-aligned change batches.
 *
 * A transaction starts at a GTID event, a `BEGIN` query or (without either)
 * its first TABLE_MAP, and ends at XID, `COMMIT`/`ROLLBACK` (MariaDB logs
 * rolled-back InnoDB work not at all, and non-transactional changes with a
 * ROLLBACK, which did happen and are emitted) or, for DDL, its own query. The
 * checkpoint moves only at those ends: file, offset after the ending event,
 * GTID set. Batches are yielded when `maxBatchEvents` are pending (inside a
 * transaction they carry the previous checkpoint) and whenever the events
 * received so far are exhausted; outside a transaction, a heartbeat or an
 * empty receive queue yields `caughtUp: true` (the runtime then flushes after
 * a short linger instead of its full wait).
 */
export class BinlogTransactionReader {
  private readonly o: BinlogTransactionReaderOptions;
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

  constructor(options: BinlogTransactionReaderOptions) {
    this.o = options;
    this.file = options.start.file;
    this.gtids = new GtidState(options.start.gtid);
    this.committed = mysqlPositionCodec.serialize(options.start);
  }

  /** Reads until the client ends (close, abort, or a non-blocking dump's end). */
  async *read(): AsyncGenerator<ChangeBatch> {
    const { client, decoder } = this.o;
    for (;;) {
      const buffers = await client.take();
      if (buffers === null) return;
      for (const buf of buffers) {
        this.handle(decoder.decode(buf, 0, buf.length));
        if (this.pending.length >= this.o.maxBatchEvents) yield this.flush(false);
      }
      // caught up: a heartbeat came, or everything the server sent so far is decoded (outside a transaction)
      const caughtUp = !this.inTx && (this.heartbeat || client.queuedBytes === 0);
      if (this.pending.length > 0 || this.committed !== this.lastYielded || (this.heartbeat && !this.inTx)) {
        yield this.flush(caughtUp);
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
