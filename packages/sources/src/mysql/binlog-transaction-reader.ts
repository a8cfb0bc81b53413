import type { ChangeBatch, ChangeEvent, Row, StreamMarker, TableChange, TableRef, Value } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { BinlogClient } from "./binlog-client.js";
import type { BinlogEvent, BinlogEventDecoder } from "./binlog-event-decoder.js";
import { classifyDdl } from "./mysql-ddl-classifier.js";
import { GtidState, mysqlPositionCodec, type MysqlPosition } from "./mysql-position.js";
import type { SchemaHistory } from "./schema-history.js";

/** Options of {@link BinlogTransactionReader}. */
export interface BinlogTransactionReaderOptions {
  readonly start: MysqlPosition;
  readonly client: BinlogClient;
  readonly decoder: BinlogEventDecoder;
  readonly history: SchemaHistory;
  readonly maxBatchEvents: number;
  /**
   * Per table key, the position of the table's latest re-read (a resync
   * snapshot): its rows before that position are in the re-read, so they are
   * not emitted again (a keyless table would get them twice).
   */
  readonly rereadAt?: ReadonlyMap<string, MysqlPosition>;
  /** Whether the table (as last introspected) has a declared primary key, which no UNIQUE or index change can replace. */
  readonly hasDeclaredPrimaryKey?: (table: TableRef) => boolean;
  /** Whether a table is replicated (the decoder's selection); DDL of other tables is ignored. */
  readonly isSelected: (database: string, table: string) => boolean;
  /**
   * The table the runtime's markers are inserted into (`IncrementalSnapshotSource.emitMarker`):
   * its inserts become `ChangeBatch.markers` (the batch ends at their transaction's commit), never row events.
   */
  readonly markerTable?: TableRef;
  readonly logger?: { warn(message: string, fields?: Record<string, unknown>): void; info(message: string, fields?: Record<string, unknown>): void };
}

/** A table change of the open transaction; a drop keeps its statement's position, a refresh gets the transaction's end. */
type PendingChange = { readonly kind: "refresh"; readonly table: TableRef; readonly reason: string } | { readonly kind: "dropped"; readonly table: TableRef; readonly reason: string; readonly position: string };

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
 *
 * DDL the row events cannot express becomes `tableChanges` (see
 * {@link classifyDdl}): a table created, renamed into, or altered so that its
 * existing rows changed (a column added with a value, a type or key change)
 * is `refresh`ed; a dropped or renamed-away table is `dropped`. A TABLE_MAP
 * whose key differs from the one in force (a UNIQUE key that became the
 * key) refreshes the table too. A refresh carries the position after its
 * transaction, a drop its statement's position (so a swap's refresh of the
 * same name comes after the drop); the batch ends right after them, and rows
 * of a table being refreshed in that transaction are left to the re-read.
 */
export class BinlogTransactionReader {
  private readonly o: BinlogTransactionReaderOptions;
  private file: string;
  private readonly gtids: GtidState;
  private pending: ChangeEvent[] = [];
  /** Table changes of the open transaction; they get its end position at commit. */
  private txChanges: PendingChange[] = [];
  /** Table changes of committed transactions, not yet yielded. */
  private changes: TableChange[] = [];
  /** Keys of tables refreshed by the open transaction: their rows are left to the re-read. */
  private readonly refreshing = new Set<string>();
  /** Columns dropped in place per table (key), so that re-adding one re-reads the table. */
  private readonly droppedColumns = new Map<string, Set<string>>();
  /** Columns added in place per table (key) by ALTERs this reader saw: their type came with the statement, not from introspection. */
  private readonly addedColumns = new Map<string, Set<string>>();
  /** Markers of the open transaction; committed ones move to {@link markers}. */
  private txMarkers: string[] = [];
  /** Markers of committed transactions, not yet yielded (with the position after their commit). */
  private markers: StreamMarker[] = [];
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
        if (this.changes.length > 0 || this.markers.length > 0 || this.pending.length >= this.o.maxBatchEvents) yield this.flush(false);
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
    const markers = this.markers;
    if (markers.length > 0) this.markers = [];
    if (this.changes.length === 0) return { events, checkpoint: this.committed, caughtUp, ...(markers.length > 0 ? { markers } : {}) };
    const tableChanges = this.changes;
    this.changes = [];
    return { events, checkpoint: this.committed, caughtUp, tableChanges, ...(markers.length > 0 ? { markers } : {}) };
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
    for (const change of this.txChanges) {
      // a re-read taken after this change already reflects it (e.g. a table created while the pipeline was stopped, snapshotted on resume)
      if (this.isRereadAfter(change.table, change.kind === "refresh" ? { file: this.file, offset: event.header.nextPosition } : mysqlPositionCodec.parse(change.position))) continue;
      this.changes.push(change.kind === "refresh" ? { kind: "refresh", table: change.table, position: this.committed, reason: change.reason } : change);
    }
    this.txChanges = [];
    for (const content of this.txMarkers) this.markers.push({ content, position: this.committed });
    this.txMarkers = [];
    this.refreshing.clear();
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
        if (this.isMarkerTable(event.map.database, event.map.table)) return;
        if (event.map.selected) {
          if (!this.inTx) this.begin(event, undefined);
          const seen = this.o.history.observe(event.map);
          if ((this.refreshing.size > 0 && this.refreshing.has(tableKey(seen.schema.table))) || this.isReread(seen.schema.table, event)) return;
          const untyped = event.map.untyped?.find((c) => this.addedColumns.get(tableKey(seen.schema.table))?.has(c) !== true);
          if (untyped !== undefined) {
            // e.g. resuming from before a DROP COLUMN of a JSON column: decoding it as text would turn the target's jsonb column into text
            this.refresh(seen.schema.table, `column ${untyped} is LONGTEXT in the binlog and gone from the source, so whether it held JSON is unknown`);
            return;
          }
          if (seen.changed && seen.previous !== undefined && seen.previous.primaryKey.join("\0") !== seen.schema.primaryKey.join("\0")) {
            // A key the target cannot take in place (a UNIQUE key that became the key, or stopped being it): re-read the table.
            this.refresh(seen.schema.table, `key changed from (${seen.previous.primaryKey.join(", ")}) to (${seen.schema.primaryKey.join(", ")})`);
            return;
          }
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
        if (this.isMarkerTable(event.map.database, event.map.table)) this.onMarkerRows(event);
        else if (event.map.selected) this.onRows(event);
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
    for (const effect of classifyDdl(q, event.database)) {
      if (effect.kind === "dropped-database") {
        for (const table of this.o.history.tables()) {
          if (table.namespace === effect.database) this.drop(table, `database ${effect.database} dropped at the source`, event);
        }
        continue;
      }
      const table = effect.table;
      if (!this.o.isSelected(table.namespace, table.name)) continue;
      const key = tableKey(table);
      if (effect.kind === "truncate") {
        // a re-read taken after it already holds what followed the TRUNCATE: replaying it would empty the re-read table
        if (this.o.history.get(table) === undefined || this.isReread(table, event)) continue;
        this.pending.push({ op: "truncate", table, position: this.position(event), commitTime: event.header.timestamp * 1000, ...(this.txId === undefined ? {} : { transactionId: this.txId }) });
      } else if (effect.kind === "dropped") {
        this.drop(table, effect.reason, event);
      } else if (effect.kind === "refresh") {
        this.refresh(table, effect.reason);
      } else {
        if (effect.keyMayChange && this.o.hasDeclaredPrimaryKey?.(table) !== true) {
          this.refresh(table, "a UNIQUE key added or an index dropped on a table without a primary key");
          continue;
        }
        const dropped = this.droppedColumns.get(key) ?? new Set<string>();
        const readded = effect.addedColumns.find((c) => dropped.has(c));
        if (readded !== undefined) {
          this.refresh(table, `column ${readded} dropped and added again`);
          continue;
        }
        if (effect.addedColumns.length > 0) {
          const added = this.addedColumns.get(key) ?? new Set<string>();
          for (const c of effect.addedColumns) added.add(c);
          this.addedColumns.set(key, added);
        }
        for (const c of effect.droppedColumns) dropped.add(c);
        if (dropped.size > 0) this.droppedColumns.set(key, dropped);
      }
    }
  }

  private drop(table: TableRef, reason: string, event: BinlogEvent): void {
    const key = tableKey(table);
    this.o.logger?.info("mysql table dropped or renamed away at source", { table: key, position: this.position(event) });
    this.o.history.forget(table);
    this.droppedColumns.delete(key);
    this.refreshing.delete(key);
    // at the statement, so that a refresh of the same name by the same statement (a swap) comes after it
    this.txChanges.push({ kind: "dropped", table, reason, position: this.position(event) });
  }

  /** Whether the event lies before the table's latest re-read, which already holds its effect. */
  private isReread(table: TableRef, event: BinlogEvent): boolean {
    const reread = this.o.rereadAt;
    if (reread === undefined || reread.size === 0) return false;
    const at = reread.get(tableKey(table));
    if (at === undefined) return false;
    return mysqlPositionCodec.compare({ file: this.file, offset: event.header.nextPosition - event.header.eventSize }, at) < 0;
  }

  /** Whether the table's latest re-read was taken at or after `position` (a change's end). */
  private isRereadAfter(table: TableRef, position: MysqlPosition): boolean {
    const at = this.o.rereadAt?.get(tableKey(table));
    return at !== undefined && mysqlPositionCodec.compare(position, at) <= 0;
  }

  /** Queues a re-read of a table at the end of the open transaction; its rows until then are left to the re-read. */
  private refresh(table: TableRef, reason: string): void {
    const key = tableKey(table);
    this.o.logger?.info("mysql table to be re-read", { table: key, reason });
    this.o.history.forget(table);
    this.droppedColumns.delete(key);
    this.refreshing.add(key);
    this.pending = this.pending.filter((e) => tableKey(e.table) !== key || e.transactionId !== this.txId);
    this.txChanges.push({ kind: "refresh", table, reason });
  }

  private isMarkerTable(database: string, table: string): boolean {
    const marker = this.o.markerTable;
    return marker !== undefined && marker.name === table && marker.namespace === database;
  }

  /** Inserts into the marker table are markers; its deletes (of older markers) are nothing. */
  private onMarkerRows(event: Extract<BinlogEvent, { kind: "rows" }>): void {
    if (event.op !== "insert") return;
    if (!this.inTx) this.begin(event, undefined);
    for (const row of event.rows) {
      const content = (row as Row)["content"];
      if (typeof content === "string") this.txMarkers.push(content);
      else if (content instanceof Uint8Array) this.txMarkers.push(Buffer.from(content).toString("utf8"));
    }
  }

  private onRows(event: Extract<BinlogEvent, { kind: "rows" }>): void {
    const { history } = this.o;
    if (!this.inTx) this.begin(event, undefined);
    const schema = history.observe(event.map).schema;
    const table = schema.table;
    if (this.refreshing.size > 0 && this.refreshing.has(tableKey(table))) return;
    if (this.isReread(table, event)) return;
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
