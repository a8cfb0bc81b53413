import type { OracleBinds, OracleConnector, OracleDatabase, OracleRow } from "../../packages/sources/src/oracle/oracle-database.js";
import {
  ADD_LOGFILE_SQL,
  ADD_MINIMAL_SUPPLEMENTAL_LOGGING_SQL,
  ARCHIVED_LOGS_SQL,
  CURRENT_SCN_SQL,
  DATABASE_SETTINGS_SQL,
  END_LOGMNR_SQL,
  FLUSH_TABLE_EXISTS_SQL,
  LIST_TABLES_SQL,
  LOGMNR_NEW,
  OLDEST_ARCHIVED_LOG_SQL,
  OLDEST_OPEN_TRANSACTION_SQL,
  ONLINE_LOGS_SQL,
  OracleOperation,
  PRIMARY_KEY_SQL,
  SESSION_PRIVILEGES_SQL,
  SESSION_SETUP_SQL,
  START_LOGMNR_SQL,
  TABLE_COLUMNS_SQL,
  TABLE_LOG_GROUPS_SQL,
  TABLE_ROW_ESTIMATE_SQL,
  addTableSupplementalLoggingSql,
  createFlushTableSql,
  flushLogBufferSql,
  logminerContentsSql,
  seedFlushTableSql,
} from "../../packages/sources/src/oracle/oracle-sql.js";

/** A column as ALL_TAB_COLUMNS describes it. */
export interface ScriptedColumn {
  readonly name: string;
  readonly dataType: string;
  readonly precision?: number;
  readonly scale?: number;
  readonly length?: number;
  readonly charLength?: number;
  readonly nullable?: boolean;
}

/** A table of the scripted database: its dictionary entry and the rows a snapshot query returns (keyed by column, plus `ROWID`). */
export interface ScriptedTable {
  readonly owner: string;
  readonly name: string;
  columns: ScriptedColumn[];
  primaryKey: string[];
  rows: Record<string, unknown>[];
  allColumnLogging: boolean;
  /** ALL_TABLES.NUM_ROWS (optimizer statistics); absent: never analysed. */
  numRows?: number;
}

/** One V$LOGMNR_CONTENTS row as recorded, with the log it lives in. */
export interface ScriptedRedoRow {
  readonly scn: bigint;
  readonly op: number;
  readonly xid: string;
  readonly owner: string | null;
  readonly table: string | null;
  readonly rowId: string | null;
  readonly csf: 0 | 1;
  readonly rollback: 0 | 1;
  readonly redo: string;
  readonly thread: number;
  readonly sequence: number;
}

interface LogGroup {
  thread: number;
  sequence: number;
  first: bigint;
  next: bigint | undefined;
  member: string;
}

interface ArchivedLog {
  name: string;
  thread: number;
  sequence: number;
  first: bigint;
  next: bigint;
  deleted: boolean;
}

/** One statement a session received, for tests of the exact SQL. */
export interface ScriptedCall {
  readonly session: number;
  readonly kind: "query" | "stream" | "execute";
  readonly sql: string;
  readonly binds: OracleBinds;
}

const MAX_SCN = "18446744073709551615";
const CHUNK_TEXT = 40;

/**
 * An Oracle database for tests: a recorded redo stream (the rows LogMiner
 * would return), the online and archived logs that hold it, and a data
 * dictionary, answering exactly the statements of `oracle-sql.ts` and
 * nothing else (an unknown statement throws). LogMiner sessions are
 * per connection and only return rows of the log files added to them, so a
 * reader that adds the wrong files misses rows, as it would on Oracle.
 *
 * The script appends redo with `insert`/`update`/`delete`/`lob…`/`commit`/
 * `rollback`/`ddl`; each row takes the next SCN. `switchLog` archives the
 * current online log; `purgeArchived` deletes archived logs.
 */
export class ScriptedOracleDatabase {
  scn = 1000n;
  readonly redo: ScriptedRedoRow[] = [];
  readonly calls: ScriptedCall[] = [];
  readonly tables = new Map<string, ScriptedTable>();
  logMode = "ARCHIVELOG";
  minimalLogging = "YES";
  allColumnsLogging = "NO";
  /** Tables of the connecting user's own schema (USER_TABLES), e.g. the log-flush table once created. */
  readonly userTables = new Set<string>();
  privileges = new Set(["CREATE SESSION", "CREATE TABLE", "LOGMINING", "EXECUTE_CATALOG_ROLE", "SELECT ANY TRANSACTION", "SELECT ANY DICTIONARY", "FLASHBACK ANY TABLE"]);
  archivedHours: number | undefined = 48;
  /** Rows that go into an SQL_REDO row before it continues in the next (`CSF = 1`). */
  csfChunk = CHUNK_TEXT;
  readonly #online: LogGroup[] = [];
  readonly #archived: ArchivedLog[] = [];
  readonly #open = new Map<string, bigint>();
  /**
   * The SCN up to which LGWR has written the log buffer to the online log:
   * LogMiner reads files, so later redo is not visible yet. A commit, a log
   * switch or {@link flushLogBuffer} writes everything before it.
   */
  writtenScn = 1000n;
  #sessions = 0;
  /** Errors thrown by the next statements whose text starts with the key (one each), to script failures. */
  readonly failures = new Map<string, Error>();
  /** Online log groups kept before the oldest is reused. */
  readonly groups: number;

  constructor(options: { groups?: number } = {}) {
    this.groups = options.groups ?? 3;
    this.#online.push({ thread: 1, sequence: 1, first: 1n, next: undefined, member: "/u01/oradata/redo01.log" });
  }

  /** A connector whose sessions share this database. */
  connector(): OracleConnector {
    return async () => this.#session(++this.#sessions);
  }

  addTable(table: Omit<ScriptedTable, "rows" | "allColumnLogging"> & { rows?: Record<string, unknown>[]; allColumnLogging?: boolean }): ScriptedTable {
    const t: ScriptedTable = { rows: [], allColumnLogging: true, ...table };
    this.tables.set(`${t.owner}.${t.name}`, t);
    return t;
  }

  /** A DML row of `xid` (opening the transaction); long SQL_REDO is split into continuation rows. */
  dml(xid: string, op: "insert" | "update" | "delete", o: { owner: string; table: string; rowId: string; redo: string; rollback?: boolean }): bigint {
    const code = op === "insert" ? OracleOperation.insert : op === "update" ? OracleOperation.update : OracleOperation.delete;
    return this.#row(xid, code, o.owner, o.table, o.rowId, o.redo, o.rollback === true ? 1 : 0);
  }

  /** A LOB operation row (locator, write, trim, erase) of `xid`. */
  lob(xid: string, op: "locator" | "write" | "trim" | "erase", o: { owner: string; table: string; rowId: string; redo: string }): bigint {
    const code = { locator: OracleOperation.selectLobLocator, write: OracleOperation.lobWrite, trim: OracleOperation.lobTrim, erase: OracleOperation.lobErase }[op];
    return this.#row(xid, code, o.owner, o.table, o.rowId, o.redo, 0);
  }

  commit(xid: string): bigint {
    const scn = this.#row(xid, OracleOperation.commit, null, null, null, "commit", 0);
    this.#open.delete(xid);
    this.writtenScn = scn;
    return scn;
  }

  /** LGWR writes the log buffer (its three-second timer, or any commit). */
  flushLogBuffer(): void {
    this.writtenScn = this.scn;
  }

  rollback(xid: string): bigint {
    const scn = this.#row(xid, OracleOperation.rollback, null, null, null, "rollback", 0);
    this.#open.delete(xid);
    this.writtenScn = scn;
    return scn;
  }

  /** A DDL row in its own transaction, then its commit; `apply` changes the dictionary as the DDL did. */
  ddl(xid: string, o: { owner: string; table: string; redo: string }, apply: () => void): bigint {
    apply();
    const scn = this.#row(xid, OracleOperation.ddl, o.owner, o.table, null, o.redo, 0);
    this.commit(xid);
    return scn;
  }

  /** SCNs pass without redo of interest (other schemas' work). */
  idle(scns: number): void {
    this.scn += BigInt(scns);
  }

  /** Archives the current online log and opens the next one; the oldest group is reused beyond `groups`. */
  switchLog(): void {
    const current = this.#online[this.#online.length - 1];
    if (current === undefined) throw new Error("no online log");
    this.scn += 1n;
    this.writtenScn = this.scn;
    current.next = this.scn;
    this.#archived.push({ name: `/u01/arch/1_${current.sequence}.arc`, thread: 1, sequence: current.sequence, first: current.first, next: this.scn, deleted: false });
    this.#online.push({ thread: 1, sequence: current.sequence + 1, first: this.scn, next: undefined, member: `/u01/oradata/redo0${((current.sequence) % this.groups) + 1}.log` });
    if (this.#online.length > this.groups) this.#online.shift();
  }

  /** Deletes the archived logs up to and including `sequence` (RMAN housekeeping). */
  purgeArchived(sequence: number): void {
    for (const a of this.#archived) if (a.sequence <= sequence) a.deleted = true;
  }

  /** The sequence of the current online log. */
  get currentSequence(): number {
    return this.#online[this.#online.length - 1]?.sequence ?? 0;
  }

  #row(xid: string, op: number, owner: string | null, table: string | null, rowId: string | null, redo: string, rollback: 0 | 1): bigint {
    this.scn += 1n;
    const scn = this.scn;
    if (op !== OracleOperation.commit && op !== OracleOperation.rollback && !this.#open.has(xid)) this.#open.set(xid, scn);
    const sequence = this.currentSequence;
    const pieces: string[] = [];
    for (let i = 0; i < redo.length; i += this.csfChunk) pieces.push(redo.slice(i, i + this.csfChunk));
    if (pieces.length === 0) pieces.push("");
    pieces.forEach((piece, i) => {
      this.redo.push({ scn, op, xid, owner, table, rowId, csf: i < pieces.length - 1 ? 1 : 0, rollback, redo: piece, thread: 1, sequence });
    });
    return scn;
  }

  #session(id: number): OracleDatabase {
    let files: string[] = [];
    let window: { start: bigint; end: bigint } | undefined;
    const record = (kind: ScriptedCall["kind"], sql: string, binds: OracleBinds): void => {
      this.calls.push({ session: id, kind, sql, binds });
      for (const [prefix, error] of this.failures) {
        if (!sql.startsWith(prefix)) continue;
        this.failures.delete(prefix);
        throw error;
      }
    };
    const db = this;
    return {
      async query(sql, binds = {}) {
        record("query", sql, binds);
        return db.#query(sql, binds);
      },
      async *stream(sql, binds = {}) {
        record("stream", sql, binds);
        if (/^SELECT SCN, TO_CHAR\(TIMESTAMP/.test(sql)) {
          if (window === undefined) throw new Error("ORA-01306: dbms_logmnr.start_logmnr() must be invoked before selecting from v$logmnr_contents");
          const owners = Object.keys(binds).filter((k) => k.startsWith("owner")).length;
          if (sql !== logminerContentsSql(owners)) throw new Error(`scripted oracle: unexpected contents query ${sql}`);
          yield* db.#contents(files, BigInt(String(binds.startScn)), BigInt(String(binds.endScn)), Object.keys(binds).filter((k) => k.startsWith("owner")).map((k) => String(binds[k])));
          return;
        }
        yield* db.#query(sql, binds);
      },
      async execute(sql, binds = {}) {
        record("execute", sql, binds);
        switch (sql) {
          case SESSION_SETUP_SQL:
            return;
          case ADD_LOGFILE_SQL: {
            const name = String(binds.name);
            const exists = db.#online.some((g) => g.member === name) || db.#archived.some((a) => a.name === name && !a.deleted);
            if (!exists) throw new Error(`ORA-01284: file ${name} cannot be opened`);
            files = binds.options === LOGMNR_NEW ? [name] : [...files, name];
            return;
          }
          case START_LOGMNR_SQL:
            if (files.length === 0) throw new Error("ORA-01292: no log file has been specified for the current LogMiner session");
            window = { start: BigInt(String(binds.startScn)), end: BigInt(String(binds.endScn)) };
            return;
          case END_LOGMNR_SQL:
            files = [];
            window = undefined;
            return;
          default:
            break;
        }
        for (const name of db.userTables) {
          if (sql === seedFlushTableSql(name)) return;
          if (sql === flushLogBufferSql(name)) {
            // the commit takes an SCN, and LGWR writes everything before it
            db.scn += 1n;
            db.writtenScn = db.scn;
            return;
          }
        }
        const created = /^CREATE TABLE "([A-Z0-9_$#]+)" \(LAST_SCN NUMBER\(20\)\)$/.exec(sql);
        if (created?.[1] !== undefined && sql === createFlushTableSql(created[1])) {
          db.userTables.add(created[1]);
          return;
        }
        switch (sql) {
          case ADD_MINIMAL_SUPPLEMENTAL_LOGGING_SQL:
            db.minimalLogging = "YES";
            return;
          default:
            for (const t of db.tables.values()) {
              if (sql === addTableSupplementalLoggingSql(t.owner, t.name)) {
                t.allColumnLogging = true;
                return;
              }
            }
            throw new Error(`scripted oracle: unexpected statement ${sql}`);
        }
      },
      async close() {},
    };
  }

  /** The rows LogMiner returns for a window over the added files, as the contents query filters them. */
  *#contents(files: readonly string[], after: bigint, to: bigint, owners: readonly string[]): Generator<OracleRow> {
    const sequences = new Set<number>();
    for (const name of files) {
      const online = this.#online.find((g) => g.member === name);
      const archived = this.#archived.find((a) => a.name === name);
      const sequence = online?.sequence ?? archived?.sequence;
      if (sequence !== undefined) sequences.add(sequence);
    }
    const ownOps = new Set<number>([1, 2, 3, 5, 9, 10, 11, 29]);
    for (const r of this.redo) {
      if (r.scn <= after || r.scn > to || r.scn > this.writtenScn || !sequences.has(r.sequence)) continue;
      if (!(r.op === 7 || r.op === 36 || (r.owner !== null && owners.includes(r.owner) && ownOps.has(r.op)))) continue;
      yield {
        SCN: r.scn.toString(),
        TS: "2026-12-07T12:00:00",
        OPERATION_CODE: String(r.op),
        XID: r.xid,
        SEG_OWNER: r.owner,
        TABLE_NAME: r.table,
        ROW_ID: r.rowId,
        CSF: String(r.csf),
        ROLLBACK: String(r.rollback),
        RS_ID: ` 0x000001.00000002.0010 `,
        SSN: "0",
        SQL_REDO: r.redo,
      };
    }
  }

  #query(sql: string, binds: OracleBinds): OracleRow[] {
    const table = (): ScriptedTable | undefined => this.tables.get(`${String(binds.owner)}.${String(binds.tableName)}`);
    switch (sql) {
      case CURRENT_SCN_SQL:
        return [{ SCN: (this.scn + 1n).toString() }];
      case FLUSH_TABLE_EXISTS_SQL:
        return [{ N: this.userTables.has(String(binds.tableName)) ? "1" : "0" }];
      case OLDEST_OPEN_TRANSACTION_SQL: {
        let oldest: bigint | undefined;
        for (const s of this.#open.values()) if (oldest === undefined || s < oldest) oldest = s;
        return [{ SCN: oldest === undefined ? null : oldest.toString() }];
      }
      case ONLINE_LOGS_SQL:
        return this.#online.map((g, i) => ({
          NAME: g.member,
          THREAD: "1",
          SEQUENCE: String(g.sequence),
          FIRST_SCN: g.first.toString(),
          NEXT_SCN: g.next === undefined ? MAX_SCN : g.next.toString(),
          STATUS: i === this.#online.length - 1 ? "CURRENT" : "ACTIVE",
          ARCHIVED: i === this.#online.length - 1 ? "NO" : "YES",
        }));
      case ARCHIVED_LOGS_SQL:
        return this.#archived
          .filter((a) => !a.deleted && a.next > BigInt(String(binds.fromScn)))
          .map((a) => ({ NAME: a.name, THREAD: String(a.thread), SEQUENCE: String(a.sequence), FIRST_SCN: a.first.toString(), NEXT_SCN: a.next.toString() }));
      case LIST_TABLES_SQL:
        return [...this.tables.values()].filter((t) => t.owner === binds.owner).sort((a, b) => (a.name < b.name ? -1 : 1)).map((t) => ({ TABLE_NAME: t.name, NUM_ROWS: t.numRows === undefined ? null : String(t.numRows) }));
      case TABLE_COLUMNS_SQL:
        return (table()?.columns ?? []).map((c) => ({
          COLUMN_NAME: c.name,
          DATA_TYPE: c.dataType,
          DATA_PRECISION: c.precision === undefined ? null : String(c.precision),
          DATA_SCALE: c.scale === undefined ? null : String(c.scale),
          DATA_LENGTH: c.length === undefined ? null : String(c.length),
          CHAR_LENGTH: c.charLength === undefined ? "0" : String(c.charLength),
          NULLABLE: c.nullable === false ? "N" : "Y",
        }));
      case PRIMARY_KEY_SQL:
        return (table()?.primaryKey ?? []).map((c) => ({ COLUMN_NAME: c }));
      case TABLE_ROW_ESTIMATE_SQL: {
        const t = table();
        return t === undefined ? [] : [{ NUM_ROWS: t.numRows === undefined ? null : String(t.numRows) }];
      }
      case DATABASE_SETTINGS_SQL:
        return [{ LOG_MODE: this.logMode, SUPPLEMENTAL_LOG_DATA_MIN: this.minimalLogging, SUPPLEMENTAL_LOG_DATA_PK: "NO", SUPPLEMENTAL_LOG_DATA_ALL: this.allColumnsLogging }];
      case SESSION_PRIVILEGES_SQL:
        return [...this.privileges].map((p) => ({ PRIVILEGE: p }));
      case TABLE_LOG_GROUPS_SQL:
        return table()?.allColumnLogging === true ? [{ LOG_GROUP_TYPE: "ALL COLUMN LOGGING" }] : [];
      case OLDEST_ARCHIVED_LOG_SQL: {
        const live = this.#archived.filter((a) => !a.deleted);
        return [{ SCN: live[0]?.first.toString() ?? null, AGE_HOURS: this.archivedHours === undefined ? null : String(this.archivedHours) }];
      }
      default:
        return this.#snapshotQuery(sql, binds);
    }
  }

  /** ROWID ranges and snapshot reads: `FROM "OWNER"."TABLE" AS OF SCN :scn`, rows in ROWID order. */
  #snapshotQuery(sql: string, binds: OracleBinds): OracleRow[] {
    const from = /FROM "((?:[^"]|"")+)"\."((?:[^"]|"")+)" AS OF SCN :scn/.exec(sql);
    const t = from === null ? undefined : this.tables.get(`${from[1]}.${from[2]}`);
    if (t === undefined) throw new Error(`scripted oracle: unexpected query ${sql}`);
    const rows = [...t.rows].sort((a, b) => (String(a.ROWID) < String(b.ROWID) ? -1 : 1));
    if (sql.includes("NTILE(:chunks)")) {
      const chunks = Number(binds.chunks);
      const out: OracleRow[] = [];
      const size = Math.ceil(rows.length / chunks);
      for (let i = 0; i < rows.length; i += size) out.push({ LO: rows[i]?.ROWID, HI: rows[Math.min(rows.length, i + size) - 1]?.ROWID });
      return out;
    }
    if (sql.includes("ROWID BETWEEN CHARTOROWID(:lo) AND CHARTOROWID(:hi)")) {
      return rows.filter((r) => String(r.ROWID) >= String(binds.lo) && String(r.ROWID) <= String(binds.hi)).map(({ ROWID: _r, ...rest }) => rest);
    }
    return rows.map(({ ROWID: _r, ...rest }) => rest);
  }
}
