import type { PreflightCheck, PreflightReport } from "@zero-etl/core";
import type { Connection } from "mysql2/promise";

/** The server facts preflight judges, read from global variables and `SHOW GRANTS`. */
export interface MysqlServerSettings {
  readonly version: string;
  /** Global variables by lowercase name (`log_bin`, `binlog_format`, ...); absent when the server has no such variable. */
  readonly variables: Readonly<Record<string, string | undefined>>;
  /** The lines of `SHOW GRANTS` for the current user. */
  readonly grants: readonly string[];
}

const VARIABLES = ["log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "server_id", "binlog_expire_logs_seconds", "expire_logs_days", "binlog_checksum"] as const;
const MIN_RETENTION_SECONDS = 3 * 86_400;

/**
 * Judges server settings (pure): ROW format, FULL row image and metadata,
 * binary log on, a server id, replication privileges and SELECT, and binlog
 * retention (a warning below three days). `fixed` names the checks a fix
 * just repaired.
 */
export function checkMysqlSettings(settings: MysqlServerSettings, fixed: ReadonlySet<string> = new Set()): PreflightCheck[] {
  const v = settings.variables;
  const checks: PreflightCheck[] = [];
  const logBin = (v.log_bin ?? "").toUpperCase();
  checks.push(
    logBin === "ON" || logBin === "1"
      ? { id: "mysql.log_bin", ok: true, message: "the binary log is on" }
      : { id: "mysql.log_bin", ok: false, severity: "error", fixable: false, message: "the binary log is off (log_bin)", remedy: "start the server with log-bin=<basename> (needs a restart)" },
  );
  checks.push(setting({ id: "binlog_format", value: v.binlog_format, wanted: "ROW", fixed }));
  checks.push(setting({ id: "binlog_row_image", value: v.binlog_row_image, wanted: "FULL", fixed }));
  checks.push(setting({ id: "binlog_row_metadata", value: v.binlog_row_metadata, wanted: "FULL", fixed }));
  const serverId = Number(v.server_id ?? 0);
  checks.push(
    serverId > 0
      ? { id: "mysql.server_id", ok: true, message: `server_id is ${serverId}` }
      : { id: "mysql.server_id", ok: false, severity: "error", fixable: false, message: "server_id is 0; a binlog source needs a non-zero server id", remedy: "set server-id=<n> in the server configuration and restart" },
  );
  checks.push(...checkGrants(settings.grants));
  checks.push(checkRetention(v));
  return checks;
}

function setting(o: { id: string; value: string | undefined; wanted: string; fixed: ReadonlySet<string> }): PreflightCheck {
  const id = `mysql.${o.id}`;
  if (o.value === undefined) {
    return { id, ok: false, severity: "error", fixable: false, message: `${o.id} is not supported by this server version`, remedy: `upgrade to a server with ${o.id} (MySQL 8.0.1+, MariaDB 10.5+)` };
  }
  if (o.value.toUpperCase() === o.wanted) return { id, ok: true, message: `${o.id} is ${o.wanted}`, ...(o.fixed.has(id) ? { fixed: true, fixable: true } : {}) };
  return {
    id,
    ok: false,
    severity: "error",
    fixable: true,
    message: `${o.id} is ${o.value}, needs ${o.wanted}`,
    remedy: `SET GLOBAL ${o.id} = '${o.wanted}' (new sessions only) and add ${o.id.replace(/_/g, "-")}=${o.wanted} to the server configuration so it survives a restart`,
  };
}

/** Checks `SHOW GRANTS` lines for REPLICATION SLAVE, REPLICATION CLIENT (or BINLOG MONITOR) and SELECT. */
export function checkGrants(grants: readonly string[]): PreflightCheck[] {
  const global = grants.filter((g) => /\bON\s+\*\.\*/i.test(g)).map((g) => g.toUpperCase());
  const all = global.some((g) => /GRANT ALL PRIVILEGES/.test(g));
  const has = (re: RegExp): boolean => all || global.some((g) => re.test(g));
  const anySelect = all || grants.some((g) => /GRANT\s+(.*\bSELECT\b|ALL PRIVILEGES)/i.test(g));
  const replicationSlave = has(/REPLICATION (SLAVE|REPLICA)\b/);
  const replicationClient = has(/REPLICATION CLIENT|BINLOG MONITOR|\bSUPER\b/);
  return [
    replicationSlave
      ? { id: "mysql.privilege.replication_slave", ok: true, message: "the user has REPLICATION SLAVE" }
      : { id: "mysql.privilege.replication_slave", ok: false, severity: "error", fixable: false, message: "the user lacks REPLICATION SLAVE", remedy: "GRANT REPLICATION SLAVE ON *.* TO <user>" },
    replicationClient
      ? { id: "mysql.privilege.replication_client", ok: true, message: "the user has REPLICATION CLIENT / BINLOG MONITOR" }
      : {
          id: "mysql.privilege.replication_client",
          ok: false,
          severity: "error",
          fixable: false,
          message: "the user lacks REPLICATION CLIENT (BINLOG MONITOR on MariaDB), needed for SHOW MASTER STATUS",
          remedy: "GRANT REPLICATION CLIENT ON *.* TO <user>",
        },
    anySelect
      ? { id: "mysql.privilege.select", ok: true, message: "the user has SELECT" }
      : { id: "mysql.privilege.select", ok: false, severity: "error", fixable: false, message: "the user lacks SELECT on the replicated tables", remedy: "GRANT SELECT ON <db>.* TO <user>" },
  ];
}

function checkRetention(v: Readonly<Record<string, string | undefined>>): PreflightCheck {
  const seconds = Number(v.binlog_expire_logs_seconds ?? 0);
  const days = Number(v.expire_logs_days ?? 0);
  const effective = seconds > 0 ? seconds : days * 86_400;
  if (effective === 0 || effective >= MIN_RETENTION_SECONDS) {
    return { id: "mysql.binlog_retention", topic: "log-retention", ok: true, message: effective === 0 ? "binary logs are never purged automatically" : `binary logs are kept ${Math.round(effective / 3600)} hours` };
  }
  return {
    id: "mysql.binlog_retention",
    topic: "log-retention",
    ok: false,
    severity: "warning",
    fixable: false,
    message: `binary logs are purged after ${Math.round(effective / 3600)} hours; a pipeline stopped longer loses its position`,
    remedy: "raise binlog_expire_logs_seconds to at least 259200 (3 days)",
  };
}

/** Reads the settings from a live server. */
export async function readMysqlSettings(conn: Connection): Promise<MysqlServerSettings> {
  const [versionRows] = await conn.query("SELECT @@version AS v");
  const version = String((versionRows as { v: string }[])[0]?.v ?? "");
  const [rows] = await conn.query(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${VARIABLES.map(() => "?").join(",")})`, [...VARIABLES]);
  const variables: Record<string, string> = {};
  for (const r of rows as { Variable_name: string; Value: string }[]) variables[r.Variable_name.toLowerCase()] = String(r.Value);
  const [grantRows] = await conn.query("SHOW GRANTS");
  const grants = (grantRows as Record<string, string>[]).map((r) => String(Object.values(r)[0] ?? ""));
  return { version, variables, grants };
}

/** Runs preflight on a live server; with `fix`, sets the dynamic globals that are wrong (`SET GLOBAL`) first. */
export async function runMysqlPreflight(conn: Connection, options: { fix: boolean }): Promise<PreflightReport> {
  let settings = await readMysqlSettings(conn);
  const fixed = new Set<string>();
  if (options.fix) {
    for (const check of checkMysqlSettings(settings)) {
      if (check.ok || check.fixable !== true) continue;
      const name = check.id.slice("mysql.".length);
      const wanted = name === "binlog_format" ? "ROW" : "FULL";
      await conn.query(`SET GLOBAL ${name} = ?`, [wanted]);
      fixed.add(check.id);
    }
    if (fixed.size > 0) settings = await readMysqlSettings(conn);
  }
  return { component: "mysql", checks: checkMysqlSettings(settings, fixed) };
}
