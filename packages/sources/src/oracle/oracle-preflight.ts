import type { PreflightCheck, PreflightReport, TableRef } from "@zero-etl/core";
import type { OracleDatabase } from "./oracle-database.js";
import {
  ADD_MINIMAL_SUPPLEMENTAL_LOGGING_SQL,
  DATABASE_SETTINGS_SQL,
  OLDEST_ARCHIVED_LOG_SQL,
  SESSION_PRIVILEGES_SQL,
  TABLE_LOG_GROUPS_SQL,
  addTableSupplementalLoggingSql,

} from "./oracle-sql.js";

/** The database facts `check` judges. */
export interface OracleDatabaseSettings {
  /** `V$DATABASE.LOG_MODE`: `ARCHIVELOG` or `NOARCHIVELOG`. */
  readonly logMode: string;
  /** `V$DATABASE.SUPPLEMENTAL_LOG_DATA_MIN`: `YES`, `IMPLICIT` or `NO`. */
  readonly minimalLogging: string;
  /** `V$DATABASE.SUPPLEMENTAL_LOG_DATA_ALL`: all columns logged for every table. */
  readonly allColumnsLogging: string;
  /** The session's privileges and roles. */
  readonly privileges: ReadonlySet<string>;
  /** Per selected table, whether it logs all columns (an `ALL COLUMN LOGGING` log group). */
  readonly tables: readonly { readonly table: TableRef; readonly allColumns: boolean }[];
  /** Hours back the oldest archived log reaches; `undefined` when there is none. */
  readonly archivedHours: number | undefined;
}

/** A privilege the source needs, and what grants it. */
const NEEDED: readonly { readonly any: readonly string[]; readonly grant: string; readonly why: string }[] = [
  { any: ["CREATE SESSION"], grant: "GRANT CREATE SESSION TO <user>", why: "to connect" },
  { any: ["LOGMINING", "DBA"], grant: "GRANT LOGMINING TO <user>", why: "to run LogMiner (12c and later)" },
  { any: ["EXECUTE_CATALOG_ROLE", "DBA"], grant: "GRANT EXECUTE_CATALOG_ROLE TO <user>", why: "to call DBMS_LOGMNR" },
  { any: ["SELECT ANY TRANSACTION", "DBA"], grant: "GRANT SELECT ANY TRANSACTION TO <user>", why: "to read V$LOGMNR_CONTENTS" },
  { any: ["SELECT ANY DICTIONARY", "SELECT_CATALOG_ROLE", "DBA"], grant: "GRANT SELECT ANY DICTIONARY TO <user>", why: "to read V$DATABASE, V$LOG, V$ARCHIVED_LOG and V$TRANSACTION" },
  { any: ["CREATE TABLE", "DBA"], grant: "GRANT CREATE TABLE TO <user> and a quota on its tablespace (or create its ZEROETL_LOG_FLUSH table once)", why: "for the table whose commits flush the log buffer" },
  { any: ["FLASHBACK ANY TABLE", "DBA"], grant: "GRANT FLASHBACK ANY TABLE TO <user> (or FLASHBACK ON each table)", why: "to read the snapshot AS OF SCN" },
];

const MIN_RETENTION_HOURS = 24;

/**
 * Judges the settings (pure): ARCHIVELOG mode, minimal supplemental logging
 * for the database, all-column supplemental logging per selected table
 * (LogMiner's where clause then carries the whole before row, key included),
 * the privileges LogMiner and the snapshot need, and how far back archived
 * logs reach (a warning under a day: a pipeline stopped longer loses its
 * position). `fixed` names the checks a fix just repaired.
 */
export function checkOracleSettings(settings: OracleDatabaseSettings, fixed: ReadonlySet<string> = new Set()): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  checks.push(
    settings.logMode.toUpperCase() === "ARCHIVELOG"
      ? { id: "oracle.archivelog", ok: true, message: "the database is in ARCHIVELOG mode" }
      : {
          id: "oracle.archivelog",
          ok: false,
          severity: "error",
          fixable: false,
          message: `the database is in ${settings.logMode} mode; redo logs are overwritten before they can be mined`,
          remedy: "SHUTDOWN IMMEDIATE; STARTUP MOUNT; ALTER DATABASE ARCHIVELOG; ALTER DATABASE OPEN; (on RDS: set a backup retention period above 0)",
        },
  );
  const minimal = ["YES", "IMPLICIT"].includes(settings.minimalLogging.toUpperCase());
  checks.push(
    minimal
      ? { id: "oracle.supplemental_logging", ok: true, message: `minimal supplemental logging is ${settings.minimalLogging.toUpperCase()}`, ...(fixed.has("oracle.supplemental_logging") ? { fixed: true, fixable: true } : {}) }
      : {
          id: "oracle.supplemental_logging",
          ok: false,
          severity: "error",
          fixable: true,
          message: "minimal supplemental logging is off (V$DATABASE.SUPPLEMENTAL_LOG_DATA_MIN = NO)",
          remedy: `${ADD_MINIMAL_SUPPLEMENTAL_LOGGING_SQL}; (on RDS: EXEC rdsadmin.rdsadmin_util.alter_supplemental_logging('ADD'))`,
        },
  );
  const allDatabase = settings.allColumnsLogging.toUpperCase() === "YES";
  for (const { table, allColumns } of settings.tables) {
    const id = `oracle.table_logging.${table.namespace}.${table.name}`;
    checks.push(
      allColumns || allDatabase
        ? { id, ok: true, message: `${table.namespace}.${table.name} logs all columns`, ...(fixed.has(id) ? { fixed: true, fixable: true } : {}) }
        : {
            id,
            ok: false,
            severity: "error",
            fixable: true,
            message: `${table.namespace}.${table.name} does not log all columns; updates and deletes would miss the key and unchanged columns`,
            remedy: `${addTableSupplementalLoggingSql(table.namespace, table.name)};`,
          },
    );
  }
  const missing = NEEDED.filter((n) => !n.any.some((p) => settings.privileges.has(p)));
  checks.push(
    missing.length === 0
      ? { id: "oracle.privileges", ok: true, message: "the user has the privileges LogMiner and the snapshot need" }
      : {
          id: "oracle.privileges",
          ok: false,
          severity: "error",
          fixable: false,
          message: `the user lacks ${missing.map((m) => `${m.any[0]} (${m.why})`).join(", ")}`,
          remedy: `as a DBA: ${missing.map((m) => m.grant).join("; ")}; (on RDS: rdsadmin.rdsadmin_util.grant_sys_object for V_$ views)`,
        },
  );
  const hours = settings.archivedHours;
  checks.push(
    hours !== undefined && hours >= MIN_RETENTION_HOURS
      ? { id: "oracle.log_retention", ok: true, topic: "log-retention", message: `archived logs reach back ${hours} hours` }
      : {
          id: "oracle.log_retention",
          ok: false,
          severity: "warning",
          topic: "log-retention",
          message: hours === undefined ? "no archived log is on disk yet" : `archived logs reach back only ${hours} hours; a pipeline stopped longer loses its position`,
          remedy: `keep archived logs for at least ${MIN_RETENTION_HOURS} hours (RMAN retention or, on RDS, EXEC rdsadmin.rdsadmin_util.set_configuration('archivelog retention hours', 24))`,
        },
  );
  return checks;
}

/** Reads the settings for the selected tables. */
export async function readOracleSettings(db: OracleDatabase, tables: readonly TableRef[]): Promise<OracleDatabaseSettings> {
  const database = (await db.query(DATABASE_SETTINGS_SQL))[0] ?? {};
  const privileges = new Set((await db.query(SESSION_PRIVILEGES_SQL)).map((r) => String(r.PRIVILEGE).toUpperCase()));
  const tableLogging = [];
  for (const table of tables) {
    const groups = await db.query(TABLE_LOG_GROUPS_SQL, { owner: table.namespace, tableName: table.name });
    tableLogging.push({ table, allColumns: groups.some((g) => String(g.LOG_GROUP_TYPE).toUpperCase() === "ALL COLUMN LOGGING") });
  }
  const archived = (await db.query(OLDEST_ARCHIVED_LOG_SQL))[0];
  const hours = archived?.AGE_HOURS === null || archived?.AGE_HOURS === undefined ? undefined : Number(archived.AGE_HOURS);
  return {
    logMode: String(database.LOG_MODE ?? "UNKNOWN"),
    minimalLogging: String(database.SUPPLEMENTAL_LOG_DATA_MIN ?? "NO"),
    allColumnsLogging: String(database.SUPPLEMENTAL_LOG_DATA_ALL ?? "NO"),
    privileges,
    tables: tableLogging,
    archivedHours: hours,
  };
}

/** Runs `check`: reads, applies the safe fixes when asked (supplemental logging), reads again and judges. */
export async function runOraclePreflight(db: OracleDatabase, tables: readonly TableRef[], fix: boolean): Promise<PreflightReport> {
  let settings = await readOracleSettings(db, tables);
  const fixed = new Set<string>();
  if (fix) {
    for (const check of checkOracleSettings(settings)) {
      if (check.ok || check.fixable !== true) continue;
      if (check.id === "oracle.supplemental_logging") {
        await db.execute(ADD_MINIMAL_SUPPLEMENTAL_LOGGING_SQL);
        fixed.add(check.id);
      } else {
        const table = settings.tables.find((t) => check.id === `oracle.table_logging.${t.table.namespace}.${t.table.name}`)?.table;
        if (table === undefined) continue;
        await db.execute(addTableSupplementalLoggingSql(table.namespace, table.name));
        fixed.add(check.id);
      }
    }
    if (fixed.size > 0) settings = await readOracleSettings(db, tables);
  }
  return { component: "oracle", checks: checkOracleSettings(settings, fixed) };
}

