import { ORACLE_SESSION_NLS_FORMATS } from "./oracle-datetime-mask.js";

/**
 * Every statement the Oracle source sends, in one place, so that tests can
 * check the exact text. Values are always bind variables (`:name`), never
 * part of the text; identifiers that come from the database are double-quoted
 * with {@link quoteOracleIdentifier}.
 */

/** Quotes an identifier as Oracle spells it (case kept, `"` doubled). */
export function quoteOracleIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"OWNER"."TABLE"`. */
export function qualifiedOracleTable(owner: string, table: string): string {
  return `${quoteOracleIdentifier(owner)}.${quoteOracleIdentifier(table)}`;
}

/** The database's current SCN. Columns: `SCN`. */
export const CURRENT_SCN_SQL = "SELECT CURRENT_SCN AS SCN FROM V$DATABASE";

/** The first SCN of the oldest open transaction (NULL when none). Columns: `SCN`. */
export const OLDEST_OPEN_TRANSACTION_SQL = "SELECT MIN(START_SCN) AS SCN FROM V$TRANSACTION";

/**
 * The online redo log groups, one member each. Columns: `NAME`, `THREAD`,
 * `SEQUENCE`, `FIRST_SCN`, `NEXT_SCN` (NULL or the maximum SCN for the
 * current log), `STATUS`, `ARCHIVED`.
 */
export const ONLINE_LOGS_SQL =
  "SELECT MIN(F.MEMBER) AS NAME, L.THREAD# AS THREAD, L.SEQUENCE# AS SEQUENCE, L.FIRST_CHANGE# AS FIRST_SCN, L.NEXT_CHANGE# AS NEXT_SCN, L.STATUS AS STATUS, L.ARCHIVED AS ARCHIVED" +
  " FROM V$LOG L JOIN V$LOGFILE F ON F.GROUP# = L.GROUP#" +
  " WHERE L.STATUS <> 'UNUSED'" +
  " GROUP BY L.THREAD#, L.SEQUENCE#, L.FIRST_CHANGE#, L.NEXT_CHANGE#, L.STATUS, L.ARCHIVED";

/**
 * The archived logs still on disk that end after `:fromScn` (local
 * destinations only). Columns: `NAME`, `THREAD`, `SEQUENCE`, `FIRST_SCN`, `NEXT_SCN`.
 */
export const ARCHIVED_LOGS_SQL =
  "SELECT NAME AS NAME, THREAD# AS THREAD, SEQUENCE# AS SEQUENCE, FIRST_CHANGE# AS FIRST_SCN, NEXT_CHANGE# AS NEXT_SCN" +
  " FROM V$ARCHIVED_LOG" +
  " WHERE NAME IS NOT NULL AND ARCHIVED = 'YES' AND STATUS = 'A' AND STANDBY_DEST = 'NO' AND DELETED = 'NO' AND NEXT_CHANGE# > :fromScn" +
  " ORDER BY THREAD#, SEQUENCE#";

/** The oldest SCN any retained log (archived or online) starts at. Columns: `SCN`. */
export const OLDEST_RETAINED_SCN_SQL =
  "SELECT MIN(SCN) AS SCN FROM (" +
  "SELECT MIN(FIRST_CHANGE#) AS SCN FROM V$ARCHIVED_LOG WHERE NAME IS NOT NULL AND STATUS = 'A' AND DELETED = 'NO'" +
  " UNION ALL SELECT MIN(FIRST_CHANGE#) AS SCN FROM V$LOG WHERE STATUS <> 'UNUSED')";

/** `DBMS_LOGMNR.NEW` (the first file of a session) and `DBMS_LOGMNR.ADDFILE`. */
export const LOGMNR_NEW = 1;
export const LOGMNR_ADDFILE = 3;

/** Adds a redo log file to the LogMiner session; binds `:name`, `:options` ({@link LOGMNR_NEW} or {@link LOGMNR_ADDFILE}). */
export const ADD_LOGFILE_SQL = "BEGIN DBMS_LOGMNR.ADD_LOGFILE(LOGFILENAME => :name, OPTIONS => :options); END;";

/**
 * Starts LogMiner over the added files for SCNs `:startScn` to `:endScn`,
 * with the online catalog as dictionary (table and column names in
 * SQL_REDO), no statement delimiter and no ROWID in the statements. Not
 * `COMMITTED_DATA_ONLY`: the source buffers transactions itself, so a huge
 * transaction does not have to fit in LogMiner's memory.
 */
export const START_LOGMNR_SQL =
  "BEGIN DBMS_LOGMNR.START_LOGMNR(STARTSCN => :startScn, ENDSCN => :endScn, OPTIONS => DBMS_LOGMNR.DICT_FROM_ONLINE_CATALOG + DBMS_LOGMNR.NO_SQL_DELIMITER + DBMS_LOGMNR.NO_ROWID_IN_STMT); END;";

/** Ends the LogMiner session (and forgets its files). */
export const END_LOGMNR_SQL = "BEGIN DBMS_LOGMNR.END_LOGMNR; END;";

/** Whether the log-flush table exists in the user's own schema. Binds `:tableName`. Columns: `N`. */
export const FLUSH_TABLE_EXISTS_SQL = "SELECT COUNT(*) AS N FROM USER_TABLES WHERE TABLE_NAME = :tableName";

/** Creates the log-flush table (in the user's own schema). */
export function createFlushTableSql(table: string): string {
  return `CREATE TABLE ${quoteOracleIdentifier(table)} (LAST_SCN NUMBER(20))`;
}

/** Gives the log-flush table its one row. */
export function seedFlushTableSql(table: string): string {
  return `BEGIN INSERT INTO ${quoteOracleIdentifier(table)} (LAST_SCN) VALUES (0); COMMIT; END;`;
}

/**
 * Updates and commits the log-flush table, binds `:scn`. A commit makes LGWR
 * write the log buffer up to it, so every change with a lower SCN is in the
 * online log files that LogMiner reads before the window is mined.
 */
export function flushLogBufferSql(table: string): string {
  return `BEGIN UPDATE ${quoteOracleIdentifier(table)} SET LAST_SCN = :scn; COMMIT; END;`;
}

/** The LogMiner operation codes the source reads. */
export const OracleOperation = Object.freeze({
  insert: 1,
  delete: 2,
  update: 3,
  ddl: 5,
  start: 6,
  commit: 7,
  selectLobLocator: 9,
  lobWrite: 10,
  lobTrim: 11,
  lobErase: 29,
  rollback: 36,
});

/**
 * The rows of the mined window `(:startScn, :endScn]`: commits, rollbacks
 * and, for the given owners (`:owner0`, `:owner1`, …), row changes, LOB
 * operations and DDL. Columns: `SCN`, `TS` (the redo record's time,
 * `YYYY-MM-DD"T"HH24:MI:SS`), `OPERATION_CODE`, `XID` (hex), `SEG_OWNER`,
 * `TABLE_NAME`, `ROW_ID`, `CSF`, `ROLLBACK`, `RS_ID`, `SSN`, `SQL_REDO`.
 */
export function logminerContentsSql(ownerCount: number): string {
  const owners = Array.from({ length: Math.max(1, ownerCount) }, (_, i) => `:owner${i}`).join(", ");
  return (
    "SELECT SCN, TO_CHAR(TIMESTAMP, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS TS, OPERATION_CODE, RAWTOHEX(XID) AS XID, SEG_OWNER, TABLE_NAME, ROW_ID, CSF, ROLLBACK, RS_ID, SSN, SQL_REDO" +
    " FROM V$LOGMNR_CONTENTS" +
    " WHERE SCN > :startScn AND SCN <= :endScn" +
    ` AND (OPERATION_CODE IN (7, 36) OR (SEG_OWNER IN (${owners}) AND OPERATION_CODE IN (1, 2, 3, 5, 9, 10, 11, 29)))`
  );
}

/** Binds of {@link logminerContentsSql}. */
export function logminerContentsBinds(startScn: bigint, endScn: bigint, owners: readonly string[]): Record<string, string> {
  const binds: Record<string, string> = { startScn: startScn.toString(), endScn: endScn.toString() };
  owners.forEach((owner, i) => (binds[`owner${i}`] = owner));
  return binds;
}

/** The tables of one owner. Binds `:owner`. Columns: `TABLE_NAME`, `NUM_ROWS`. */
export const LIST_TABLES_SQL =
  "SELECT TABLE_NAME, NUM_ROWS FROM ALL_TABLES WHERE OWNER = :owner AND TEMPORARY = 'N' AND DROPPED = 'NO' AND NESTED = 'NO' AND SECONDARY = 'N' ORDER BY TABLE_NAME";

/** One table's visible columns in order. Binds `:owner`, `:tableName`. */
export const TABLE_COLUMNS_SQL =
  "SELECT COLUMN_NAME, DATA_TYPE, DATA_PRECISION, DATA_SCALE, DATA_LENGTH, CHAR_LENGTH, NULLABLE" +
  " FROM ALL_TAB_COLUMNS WHERE OWNER = :owner AND TABLE_NAME = :tableName ORDER BY COLUMN_ID";

/** One table's primary-key columns in key order. Binds `:owner`, `:tableName`. Columns: `COLUMN_NAME`. */
export const PRIMARY_KEY_SQL =
  "SELECT CC.COLUMN_NAME FROM ALL_CONSTRAINTS C JOIN ALL_CONS_COLUMNS CC ON CC.OWNER = C.OWNER AND CC.CONSTRAINT_NAME = C.CONSTRAINT_NAME" +
  " WHERE C.OWNER = :owner AND C.TABLE_NAME = :tableName AND C.CONSTRAINT_TYPE = 'P' ORDER BY CC.POSITION";

/** A table's estimated row count (optimizer statistics). Binds `:owner`, `:tableName`. Columns: `NUM_ROWS`. */
export const TABLE_ROW_ESTIMATE_SQL = "SELECT NUM_ROWS FROM ALL_TABLES WHERE OWNER = :owner AND TABLE_NAME = :tableName";

/**
 * ROWID ranges that split a table as of `:scn` into `:chunks` parts of about
 * equal row counts, in ROWID order. Columns: `LO`, `HI` (ROWID text).
 */
export function rowidRangesSql(owner: string, table: string): string {
  return (
    "SELECT ROWIDTOCHAR(MIN(RID)) AS LO, ROWIDTOCHAR(MAX(RID)) AS HI FROM (" +
    `SELECT ROWID AS RID, NTILE(:chunks) OVER (ORDER BY ROWID) AS BUCKET FROM ${qualifiedOracleTable(owner, table)} AS OF SCN :scn` +
    ") GROUP BY BUCKET ORDER BY BUCKET"
  );
}

/**
 * One snapshot chunk: the given select expressions of the table as of
 * `:scn`, for ROWIDs between `:lo` and `:hi`.
 */
export function snapshotChunkSql(owner: string, table: string, selectList: readonly string[]): string {
  return `SELECT ${selectList.join(", ")} FROM ${qualifiedOracleTable(owner, table)} AS OF SCN :scn WHERE ROWID BETWEEN CHARTOROWID(:lo) AND CHARTOROWID(:hi)`;
}

/** The whole table as of `:scn` (an empty table has no ROWID range). */
export function snapshotTableSql(owner: string, table: string, selectList: readonly string[]): string {
  return `SELECT ${selectList.join(", ")} FROM ${qualifiedOracleTable(owner, table)} AS OF SCN :scn`;
}

/** Database-wide settings for `check`. Columns: `LOG_MODE`, `SUPPLEMENTAL_LOG_DATA_MIN`, `SUPPLEMENTAL_LOG_DATA_ALL`, `SUPPLEMENTAL_LOG_DATA_PK`. */
export const DATABASE_SETTINGS_SQL = "SELECT LOG_MODE, SUPPLEMENTAL_LOG_DATA_MIN, SUPPLEMENTAL_LOG_DATA_PK, SUPPLEMENTAL_LOG_DATA_ALL FROM V$DATABASE";

/** The current user's effective system privileges and roles. Columns: `PRIVILEGE`. */
export const SESSION_PRIVILEGES_SQL = "SELECT PRIVILEGE FROM SESSION_PRIVS UNION SELECT ROLE AS PRIVILEGE FROM SESSION_ROLES";

/** Whether one table logs all columns. Binds `:owner`, `:tableName`. Columns: `LOG_GROUP_TYPE`. */
export const TABLE_LOG_GROUPS_SQL = "SELECT LOG_GROUP_TYPE FROM ALL_LOG_GROUPS WHERE OWNER = :owner AND TABLE_NAME = :tableName";

/** Turns on minimal supplemental logging for the database (what LogMiner needs to pair changes). */
export const ADD_MINIMAL_SUPPLEMENTAL_LOGGING_SQL = "ALTER DATABASE ADD SUPPLEMENTAL LOG DATA";

/** Logs every column of a table with each change (DDL: identifiers quoted, no binds possible). */
export function addTableSupplementalLoggingSql(owner: string, table: string): string {
  return `ALTER TABLE ${qualifiedOracleTable(owner, table)} ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS`;
}

/** The archived-log retention target in RMAN's terms is not queryable; the oldest archived log tells how far back the logs go. Columns: `SCN`, `AGE_HOURS`. */
export const OLDEST_ARCHIVED_LOG_SQL =
  "SELECT MIN(FIRST_CHANGE#) AS SCN, ROUND((SYSDATE - MIN(FIRST_TIME)) * 24, 1) AS AGE_HOURS FROM V$ARCHIVED_LOG WHERE NAME IS NOT NULL AND STATUS = 'A' AND DELETED = 'NO'";

/**
 * Session settings every session sets first: the NLS formats in which
 * LogMiner prints datetimes without a mask and `TO_CHAR` prints snapshot
 * values (the decoder's defaults), `.` as decimal point, and UTC as session
 * time zone (LogMiner prints `TIMESTAMP WITH LOCAL TIME ZONE` in it).
 */
export const SESSION_SETUP_SQL = `ALTER SESSION SET ${Object.entries(ORACLE_SESSION_NLS_FORMATS)
  .map(([name, value]) => `${name} = '${value}'`)
  .join(" ")} TIME_ZONE = 'UTC'`;
