import type { ChangeBatch, ChangeEvent, Logger, RejectedRecord, TableChange, TableRef } from "@zero-etl/core";
import { sleep, tableKey } from "@zero-etl/core";
import { buildTransactionChanges } from "./oracle-change-builder.js";
import type { OracleDatabase, OracleRow } from "./oracle-database.js";
import { scnOf } from "./oracle-database.js";
import type { OracleTableModel, OracleTableSelection } from "./oracle-introspector.js";
import { introspectOracleTable, isOracleTableSelected, selectedOwners } from "./oracle-introspector.js";
import { chooseLogFiles, toLogFiles } from "./oracle-log-files.js";
import type { OraclePosition } from "./oracle-position.js";
import { isDeliveredBefore, oraclePositionCodec, resumeScn } from "./oracle-position.js";
import {
  ADD_LOGFILE_SQL,
  ARCHIVED_LOGS_SQL,
  CURRENT_SCN_SQL,
  END_LOGMNR_SQL,
  FLUSH_TABLE_EXISTS_SQL,
  LOGMNR_ADDFILE,
  LOGMNR_NEW,
  ONLINE_LOGS_SQL,
  OracleOperation,
  flushLogBufferSql,
  START_LOGMNR_SQL,
  createFlushTableSql,
  logminerContentsBinds,
  logminerContentsSql,
  seedFlushTableSql,
} from "./oracle-sql.js";
import { TransactionBuffer } from "./oracle-transaction-buffer.js";

/** Options of {@link OracleLogMinerReader}. */
export interface OracleLogMinerReaderOptions {
  readonly db: OracleDatabase;
  readonly selection: OracleTableSelection;
  /** The models of the selected tables at the start, by `owner.table`; kept current by DDL. */
  readonly tables: Map<string, OracleTableModel>;
  readonly start: OraclePosition;
  readonly windowScns: bigint;
  readonly pollMs: number;
  readonly maxBatchEvents: number;
  /** The table updated before each window so that LGWR writes the log buffer (see `ensureFlushTable`). */
  readonly flushTable: string;
  readonly buffer: TransactionBuffer;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

const ROW_OPS = new Set<number>([
  OracleOperation.insert,
  OracleOperation.update,
  OracleOperation.delete,
  OracleOperation.selectLobLocator,
  OracleOperation.lobWrite,
  OracleOperation.lobTrim,
  OracleOperation.lobErase,
]);

/**
 * Streams committed transactions from LogMiner, one SCN window at a time.
 *
 * Each window `(lo, hi]` (at most `windowScns`, never past the database's
 * current SCN) gets its own LogMiner session over exactly the online and
 * archived logs that cover it, so a log switch inside a window, or a window
 * only archived logs hold, is read like any other. Changes of selected
 * tables are buffered by XID ({@link TransactionBuffer}); a commit emits the
 * transaction (in commit-SCN order, the order LogMiner returns commits in),
 * a rollback drops it, and open transactions carry over to the next window.
 * Continuation rows (`CSF = 1`) are joined before anything else looks at
 * them. A DDL row of a selected table re-reads the table's columns and
 * yields a table change (`refresh`, or `dropped` when the table is gone).
 *
 * Checkpoints: after every emitted transaction, and at every window end,
 * the position is (last commit SCN all of whose transactions are delivered,
 * oldest first SCN of a still-open transaction); see {@link OraclePosition}.
 * A batch that ends inside a huge transaction carries the last complete
 * checkpoint (or none).
 */
export class OracleLogMinerReader {
  readonly #o: OracleLogMinerReaderOptions;
  readonly #owners: string[];
  #committed: bigint;
  #xids: string[];
  #events: ChangeEvent[] = [];
  #rejected: RejectedRecord[] = [];
  #checkpoint: string | undefined;

  constructor(options: OracleLogMinerReaderOptions) {
    this.#o = options;
    this.#owners = selectedOwners(options.selection);
    this.#committed = options.start.committed;
    this.#xids = [...(options.start.xids ?? [])];
  }

  async *read(): AsyncGenerator<ChangeBatch> {
    const { db, signal } = this.#o;
    let lo = resumeScn(this.#o.start) - 1n;
    try {
      const flush = flushLogBufferSql(this.#o.flushTable);
      while (signal?.aborted !== true) {
        // redo still in the log buffer is not in the files LogMiner reads: a commit first makes LGWR write it
        await db.execute(flush, { scn: lo.toString() });
        const current = scnOf((await db.query(CURRENT_SCN_SQL))[0]?.SCN) ?? 0n;
        // the current SCN itself may still gain redo: mine up to the one before it (the flush's commit is below it)
        const limit = current - 1n;
        if (limit <= lo) {
          yield* this.#drain(true);
          await sleep(this.#o.pollMs, signal).catch(() => undefined);
          continue;
        }
        const hi = lo + this.#o.windowScns < limit ? lo + this.#o.windowScns : limit;
        yield* this.#mine(lo, hi);
        lo = hi;
        if (hi > this.#committed) {
          this.#committed = hi;
          this.#xids = [];
        }
        this.#checkpoint = this.#serialize();
        yield* this.#drain(hi === limit);
      }
    } finally {
      await db.execute(END_LOGMNR_SQL).catch(() => undefined);
    }
  }

  async *#mine(lo: bigint, hi: bigint): AsyncGenerator<ChangeBatch> {
    const { db } = this.#o;
    const online = toLogFiles(await db.query(ONLINE_LOGS_SQL), true);
    const archived = toLogFiles(await db.query(ARCHIVED_LOGS_SQL, { fromScn: lo.toString() }), false);
    const files = chooseLogFiles([...archived, ...online], lo, hi);
    await db.execute(END_LOGMNR_SQL).catch(() => undefined);
    let options = LOGMNR_NEW;
    for (const file of files) {
      await db.execute(ADD_LOGFILE_SQL, { name: file.name, options });
      options = LOGMNR_ADDFILE;
    }
    await db.execute(START_LOGMNR_SQL, { startScn: lo.toString(), endScn: hi.toString() });
    this.#o.logger?.debug("oracle logminer window", { after: lo.toString(), to: hi.toString(), files: files.map((f) => f.name), open: this.#o.buffer.size });
    let continued: { row: OracleRow; redo: string } | undefined;
    for await (const row of db.stream(logminerContentsSql(this.#owners.length), logminerContentsBinds(lo, hi, this.#owners))) {
      // CSF = 1: SQL_REDO goes on in the next row
      if (Number(row.CSF ?? 0) === 1) {
        continued = continued === undefined ? { row, redo: String(row.SQL_REDO ?? "") } : { row: continued.row, redo: continued.redo + String(row.SQL_REDO ?? "") };
        continue;
      }
      let whole = row;
      let redo = String(row.SQL_REDO ?? "");
      if (continued !== undefined) {
        whole = continued.row;
        redo = continued.redo + redo;
        continued = undefined;
      }
      yield* this.#handle(whole, redo);
      if (this.#events.length >= this.#o.maxBatchEvents) yield* this.#drain(false);
    }
    await db.execute(END_LOGMNR_SQL);
  }

  async *#handle(row: OracleRow, redo: string): AsyncGenerator<ChangeBatch> {
    const op = Number(row.OPERATION_CODE);
    const xid = String(row.XID ?? "");
    const scn = scnOf(row.SCN) ?? 0n;
    const buffer = this.#o.buffer;
    if (op === OracleOperation.commit) {
      const tx = buffer.take(xid);
      if (tx === undefined) return;
      try {
        if (isDeliveredBefore(this.#o.start, scn, xid)) return;
        const position = oraclePositionCodec.serialize({ committed: scn, xids: [xid] });
        const commitTime = timeOf(row.TS);
        const context = {
          xid,
          position,
          ...(commitTime === undefined ? {} : { commitTime }),
          table: (owner: string, table: string) => this.#o.tables.get(`${owner}.${table}`),
        };
        for await (const change of buildTransactionChanges(tx, context)) {
          if (change.event !== undefined) this.#events.push(change.event);
          else this.#rejected.push(change.rejected);
          if (this.#events.length >= this.#o.maxBatchEvents) yield* this.#drain(false);
        }
        this.#delivered(scn, xid);
      } finally {
        await tx.dispose();
      }
      return;
    }
    if (op === OracleOperation.rollback) {
      await buffer.rollback(xid);
      return;
    }
    const owner = String(row.SEG_OWNER ?? "");
    const table = String(row.TABLE_NAME ?? "");
    if (op === OracleOperation.ddl) {
      yield* this.#ddl({ scn, xid, owner, table, redo });
      return;
    }
    if (!ROW_OPS.has(op) || !this.#o.tables.has(`${owner}.${table}`)) return;
    const undo = Number(row.ROLLBACK ?? 0) === 1;
    // an undo of a change this reader never buffered (from before the resume point) has nothing to cancel
    if (undo && !buffer.has(xid)) return;
    await buffer.add(xid, { scn, op, owner, table, rowId: String(row.ROW_ID ?? ""), redo, undo });
  }

  /** A DDL row: re-read the table and report it re-created/changed (refresh) or gone (dropped); a rename also refreshes the new name. */
  async *#ddl(ddl: { scn: bigint; xid: string; owner: string; table: string; redo: string }): AsyncGenerator<ChangeBatch> {
    if (isDeliveredBefore(this.#o.start, ddl.scn, ddl.xid)) return;
    const position = oraclePositionCodec.serialize({ committed: ddl.scn, xids: [ddl.xid] });
    const names = [ddl.table];
    const renamed = /\brename\s+to\s+(?:"((?:[^"]|"")+)"|([A-Za-z][\w$#]*))/i.exec(ddl.redo);
    if (renamed !== null) names.push(renamed[1]?.replace(/""/g, '"') ?? (renamed[2] ?? "").toUpperCase());
    const changes: TableChange[] = [];
    for (const name of names) {
      if (name === "" || !isOracleTableSelected(this.#o.selection, ddl.owner, name)) continue;
      const ref: TableRef = { namespace: ddl.owner, name };
      const key = tableKey(ref);
      const previous = this.#o.tables.get(key);
      const model = await introspectOracleTable(this.#o.db, ref, (previous?.schema.version ?? 0) + 1);
      const verb = /^\s*(\w+(?:\s+\w+)?)/.exec(ddl.redo)?.[1]?.toUpperCase() ?? "DDL";
      if (model === undefined) {
        if (previous === undefined) continue;
        this.#o.tables.delete(key);
        this.#o.logger?.info("oracle table gone after a ddl", { table: key, scn: ddl.scn.toString() });
        changes.push({ kind: "dropped", table: ref, position, reason: `${verb} at SCN ${ddl.scn}` });
      } else {
        this.#o.tables.set(key, model);
        changes.push({ kind: "refresh", table: ref, position, reason: `${verb} at SCN ${ddl.scn}` });
      }
    }
    if (changes.length === 0) return;
    this.#delivered(ddl.scn, ddl.xid);
    yield* this.#drain(false, changes);
  }

  #delivered(scn: bigint, xid: string): void {
    if (scn > this.#committed) {
      this.#committed = scn;
      this.#xids = [xid];
    } else if (scn === this.#committed && !this.#xids.includes(xid)) {
      this.#xids.push(xid);
    }
    this.#checkpoint = this.#serialize();
  }

  #serialize(): string {
    const open = this.#o.buffer.oldestScn();
    return oraclePositionCodec.serialize({ committed: this.#committed, ...(open === undefined ? {} : { open }), ...(this.#xids.length === 0 ? {} : { xids: this.#xids }) });
  }

  /** Yields what is pending: the events so far and the last complete checkpoint among them. */
  *#drain(caughtUp: boolean, tableChanges?: readonly TableChange[]): Generator<ChangeBatch> {
    const events = this.#events;
    const rejected = this.#rejected;
    const checkpoint = this.#checkpoint;
    if (events.length === 0 && rejected.length === 0 && checkpoint === undefined && tableChanges === undefined && !caughtUp) return;
    this.#events = [];
    this.#rejected = [];
    this.#checkpoint = undefined;
    yield {
      events,
      ...(checkpoint === undefined ? {} : { checkpoint }),
      ...(caughtUp ? { caughtUp } : {}),
      ...(tableChanges === undefined ? {} : { tableChanges }),
      ...(rejected.length === 0 ? {} : { rejected }),
    };
  }
}

/** Creates the log-flush table in the user's schema unless it exists (needs CREATE TABLE and a quota, or a DBA creates it once). */
export async function ensureFlushTable(db: OracleDatabase, table: string): Promise<void> {
  const exists = Number((await db.query(FLUSH_TABLE_EXISTS_SQL, { tableName: table }))[0]?.N ?? 0) > 0;
  if (exists) return;
  await db.execute(createFlushTableSql(table));
  await db.execute(seedFlushTableSql(table));
}

/** LogMiner's TIMESTAMP as `YYYY-MM-DDTHH:MM:SS`, read as UTC (the database's clock zone is assumed UTC, as on RDS). */
function timeOf(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const ms = Date.parse(`${value}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}
