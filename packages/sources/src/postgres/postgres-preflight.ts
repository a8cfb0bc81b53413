import type pg from "pg";
import type { PreflightCheck, PreflightReport, TableRef } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";
import type { PgTypeCatalog } from "./pg-type-catalog.js";
import { quoteIdent } from "./postgres-connection.js";
import { ddlCaptureRemedy, ensureDdlCapture, inspectDdlCapture } from "./postgres-ddl-capture.js";
import { introspectPostgres, type PostgresTableInfo } from "./postgres-introspector.js";
import { inspectPublication, planPublication, publicationDdl } from "./postgres-publication.js";
import type { PostgresSourceConfig } from "./postgres-source-config.js";
import { inspectOtherSlots } from "./postgres-slot-inventory.js";

/** Options of {@link preflightPostgres}. */
export interface PostgresPreflightOptions {
  readonly config: PostgresSourceConfig;
  readonly types: PgTypeCatalog;
  /** Apply the safe fixes: create or extend the publication, set replica identity on keyless tables. */
  readonly fix: boolean;
  /** Inactive `zeroetl_*` slots of other pipelines to drop, named by the user (see `inspectOtherSlots`). */
  readonly dropSlots?: readonly string[];
}

interface Settings {
  wal_level: string;
  max_replication_slots: number;
  max_wal_senders: number;
  max_slot_wal_keep_size: number;
  slots_used: number;
  senders_used: number;
  can_replicate: boolean;
  is_superuser: boolean;
  user_name: string;
  database: string;
}

interface SlotRow {
  database: string | null;
  plugin: string | null;
  slot_type: string;
  wal_status: string | null;
  retained_bytes: number | null;
}

const MB = 1024 * 1024;

/**
 * Checks what logical replication from this server needs, with stable ids
 * `postgres.<check>`: `wal_level`, `max_replication_slots`,
 * `max_wal_senders`, `replication_privilege`, `tables`, `select_privilege`,
 * `replica_identity`, `unpublishable`, `publication`, `slot`, `slot_wal`.
 * With `fix`, sets the replica identity of keyless tables to FULL, then
 * creates or adjusts the publication so that it holds exactly the tables
 * {@link planPublication} publishes (both safe and immediate); everything
 * else needs the user.
 * Read-only without `fix`; parameterized queries, quoted identifiers in DDL.
 */
export async function preflightPostgres(client: pg.ClientBase, options: PostgresPreflightOptions): Promise<PreflightReport> {
  const { config, fix } = options;
  const checks: PreflightCheck[] = [];
  const settings = (
    await client.query<Settings>(`
      SELECT current_setting('wal_level') AS wal_level,
             current_setting('max_replication_slots')::int AS max_replication_slots,
             current_setting('max_wal_senders')::int AS max_wal_senders,
             -- pg_settings holds the bare number in MB; current_setting() adds units ("1MB", "10GB")
             (SELECT setting::int FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS max_slot_wal_keep_size,
             (SELECT count(*)::int FROM pg_replication_slots) AS slots_used,
             (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'walsender') AS senders_used,
             r.rolreplication AS can_replicate, r.rolsuper AS is_superuser, r.rolname::text AS user_name,
             current_database()::text AS database
        FROM pg_roles r WHERE r.rolname = current_user`)
  ).rows[0] as Settings;

  checks.push(
    settings.wal_level === "logical"
      ? { id: "postgres.wal_level", ok: true, message: "wal_level is logical" }
      : {
          id: "postgres.wal_level",
          ok: false,
          severity: "error",
          fixable: false,
          message: `wal_level is ${settings.wal_level}, logical replication needs logical`,
          remedy: "run ALTER SYSTEM SET wal_level = logical; and restart the PostgreSQL server (this setting cannot change without a restart, so it is not fixed automatically)",
        },
  );

  const slot = (
    await client.query<SlotRow>(
      `SELECT database::text AS database, plugin::text AS plugin, slot_type, wal_status,
              (pg_current_wal_lsn() - restart_lsn)::float8 AS retained_bytes
         FROM pg_replication_slots WHERE slot_name = $1`,
      [config.slot],
    )
  ).rows[0];

  const slotsFree = slot !== undefined || settings.slots_used < settings.max_replication_slots;
  checks.push({
    id: "postgres.max_replication_slots",
    ok: slotsFree,
    message: `max_replication_slots is ${settings.max_replication_slots} and ${settings.slots_used} are in use`,
    ...(slotsFree
      ? {}
      : { severity: "error" as const, fixable: false, remedy: "drop unused slots (pg_drop_replication_slot) or raise max_replication_slots and restart the server" }),
  });
  const sendersFree = settings.senders_used < settings.max_wal_senders;
  checks.push({
    id: "postgres.max_wal_senders",
    ok: sendersFree,
    message: `max_wal_senders is ${settings.max_wal_senders} and ${settings.senders_used} are in use`,
    ...(sendersFree ? {} : { severity: "error" as const, fixable: false, remedy: "raise max_wal_senders and restart the server, or stop other replication consumers" }),
  });
  const canReplicate = settings.can_replicate || settings.is_superuser;
  checks.push({
    id: "postgres.replication_privilege",
    ok: canReplicate,
    message: canReplicate ? `user ${settings.user_name} may replicate` : `user ${settings.user_name} has neither REPLICATION nor SUPERUSER`,
    ...(canReplicate ? {} : { severity: "error" as const, fixable: false, remedy: `run ALTER ROLE ${quoteIdent(settings.user_name)} WITH REPLICATION; as a superuser` }),
  });

  let tables: PostgresTableInfo[] = [];
  try {
    tables = await introspectPostgres(client, { includes: config.includes, required: config.tableList ?? [], types: options.types, partitions: config.partitions });
    checks.push({
      id: "postgres.tables",
      ok: tables.length > 0,
      message: tables.length > 0 ? `${tables.length} table(s) selected` : "no table is selected",
      ...(tables.length > 0 ? {} : { severity: "error" as const, remedy: "create the tables or change the table selection" }),
    });
  } catch (error) {
    checks.push({ id: "postgres.tables", ok: false, severity: "error", message: (error as Error).message, remedy: "create the table or remove it from the selection" });
  }

  if (tables.length > 0) {
    const privileges = await client.query<{ oid: number; ok: boolean }>(
      "SELECT t.oid::int8::float8 AS oid, has_table_privilege(t.oid, 'SELECT') AS ok FROM unnest($1::oid[]) AS t(oid)",
      [tables.map((t) => t.oid)],
    );
    const denied = tables.filter((t) => privileges.rows.some((p) => p.oid === t.oid && !p.ok)).map((t) => t.schema.table);
    checks.push({
      id: "postgres.select_privilege",
      ok: denied.length === 0,
      message: denied.length === 0 ? `user ${settings.user_name} may SELECT every selected table` : `user ${settings.user_name} lacks SELECT on ${denied.map(tableKey).join(", ")}`,
      ...(denied.length === 0
        ? {}
        : { severity: "error" as const, fixable: false, remedy: `run GRANT SELECT ON ${denied.map(sqlName).join(", ")} TO ${quoteIdent(settings.user_name)};` }),
    });
  }

  // the replica identity first: a table fixed here joins the publication below
  let plan = planPublication(tables);
  const identity = plan.skipped.filter((s) => s.reason === "replica-identity");
  if (identity.length === 0) {
    checks.push({ id: "postgres.replica_identity", ok: true, message: "every selected table has a primary key or a replica identity" });
  } else {
    const statements = identity.flatMap((s) => s.info.identityProblems.map((p) => `ALTER TABLE ${p.sql} REPLICA IDENTITY ${p.hasPrimaryKey ? "DEFAULT" : "FULL"}`));
    const message = `tables without a usable replica identity, left out of replication so that the application's updates and deletes on them keep working: ${identity.map((s) => tableKey(s.info.schema.table)).join(", ")}`;
    let fixed = false;
    let failure: string | undefined;
    if (fix) {
      try {
        for (const statement of statements) await client.query(statement);
        fixed = true;
        tables = await introspectPostgres(client, { includes: config.includes, types: options.types, partitions: config.partitions });
        plan = planPublication(tables);
      } catch (error) {
        failure = (error as Error).message;
      }
    }
    checks.push({
      id: "postgres.replica_identity",
      ok: fixed,
      message: fixed ? `${message}; fixed with: ${statements.join("; ")}` : failure === undefined ? message : `${message}; the fix failed: ${failure}`,
      remedy: `run ${statements.join("; ")};`,
      fixable: true,
      fixed,
      severity: "error",
    });
  }

  const unpublishable = plan.skipped.filter((s) => s.reason !== "replica-identity");
  if (unpublishable.length > 0) {
    checks.push({
      id: "postgres.unpublishable",
      ok: false,
      severity: "warning",
      fixable: false,
      message: `tables PostgreSQL cannot publish, skipped: ${unpublishable.map((s) => s.message).join("; ")}`,
      remedy: "make them permanent (ALTER TABLE ... SET LOGGED) or exclude them from the selection",
    });
  }

  const coverage = await inspectPublication(client, config.publication, plan, config.partitions);
  const ddl = publicationDdl(config.publication, coverage);
  const breaking = coverage.allTables ? plan.skipped.filter((s) => s.reason === "replica-identity").map((s) => tableKey(s.info.schema.table)) : [];
  if (breaking.length > 0) {
    // a FOR ALL TABLES publication is the user's: it is not changed, but what it does to the application is said
    checks.push({
      id: "postgres.publication",
      ok: false,
      severity: "error",
      fixable: false,
      message: `publication ${config.publication} is FOR ALL TABLES, so it publishes ${breaking.join(", ")} whose UPDATE and DELETE therefore fail at the source`,
      remedy: "give the pipeline a publication of its own (leave source.publication unset), or fix the replica identity of those tables (check --fix)",
    });
  } else if (ddl.length === 0) {
    checks.push({ id: "postgres.publication", ok: true, message: `publication ${config.publication} covers the selected tables` });
  } else {
    const problems = [
      ...(coverage.exists ? [] : [`publication ${config.publication} does not exist`]),
      ...(coverage.exists && coverage.missing.length > 0 ? [`publication ${config.publication} does not publish ${coverage.missing.map(tableKey).join(", ")}`] : []),
      ...(coverage.harmful.length > 0 ? [`publication ${config.publication} publishes ${coverage.harmful.map(tableKey).join(", ")}, which must not be published (see above)`] : []),
      ...(coverage.viaRootWrong ? [`publication ${config.publication} must have publish_via_partition_root = ${config.partitions === "root"}`] : []),
    ];
    const message = problems.join("; ");
    let fixed = false;
    let failure: string | undefined;
    if (fix) {
      try {
        for (const statement of ddl) await client.query(statement);
        fixed = true;
      } catch (error) {
        failure = (error as Error).message;
      }
    }
    checks.push({
      id: "postgres.publication",
      ok: fixed,
      message: fixed ? `${message}; fixed with: ${ddl.join("; ")}` : failure === undefined ? message : `${message}; the fix failed: ${failure}`,
      remedy: `run ${ddl.join("; ")};`,
      fixable: true,
      fixed,
      severity: "error",
    });
  }

  if (config.ddlCapture) checks.push(await checkDdlCapture(client, fix));

  if (slot === undefined) {
    const creatable = slotsFree && canReplicate && settings.wal_level === "logical";
    checks.push({
      id: "postgres.slot",
      ok: creatable,
      message: creatable ? `replication slot ${config.slot} does not exist yet; the snapshot creates it` : `replication slot ${config.slot} does not exist and cannot be created (see the checks above)`,
      ...(creatable ? {} : { severity: "error" as const, fixable: false }),
    });
  } else {
    const problem =
      slot.slot_type !== "logical" || slot.plugin !== "pgoutput"
        ? `replication slot ${config.slot} exists but is a ${slot.slot_type} slot with plugin ${slot.plugin ?? "none"}, not a pgoutput slot`
        : slot.database !== settings.database
          ? `replication slot ${config.slot} belongs to database ${slot.database ?? "(none)"}, not ${settings.database}`
          : undefined;
    checks.push({
      id: "postgres.slot",
      ok: problem === undefined,
      message: problem ?? `replication slot ${config.slot} exists (pgoutput)`,
      ...(problem === undefined ? {} : { severity: "error" as const, fixable: false, remedy: "choose another slot name, or drop that slot if nothing uses it" }),
    });
    if (slot.wal_status === "lost") {
      checks.push({
        id: "postgres.slot_wal",
        topic: "log-retention",
        ok: false,
        severity: "error",
        fixable: false,
        message: `replication slot ${config.slot} was invalidated (wal_status = lost): the server removed WAL the slot still needed`,
        remedy: `drop the slot (SELECT pg_drop_replication_slot('${config.slot}')) and run a new snapshot; raise max_slot_wal_keep_size to avoid it`,
      });
    } else {
      const retainedMb = Math.round((slot.retained_bytes ?? 0) / MB);
      const limit = settings.max_slot_wal_keep_size;
      const risky = slot.wal_status === "unreserved" || (limit >= 0 && retainedMb > limit * 0.8);
      checks.push({
        id: "postgres.slot_wal",
        topic: "log-retention",
        ok: !risky,
        message: `replication slot ${config.slot} retains ${retainedMb} MB of WAL (max_slot_wal_keep_size = ${limit < 0 ? "unlimited" : `${limit} MB`}, wal_status = ${slot.wal_status ?? "unknown"})`,
        ...(risky ? { severity: "warning" as const, remedy: "let the pipeline catch up, or raise max_slot_wal_keep_size before the slot is invalidated" } : {}),
      });
    }
  }
  checks.push(...(await inspectOtherSlots(client, { ownSlot: config.slot, drop: options.dropSlots ?? [] })));
  return { component: "postgres-source", checks };
}

/** `postgres.ddl_capture`: a warning when the event triggers that follow DDL are missing; `fix` installs them (superuser). */
async function checkDdlCapture(client: pg.ClientBase, fix: boolean): Promise<PreflightCheck> {
  const status = await inspectDdlCapture(client);
  if (status.installed) return { id: "postgres.ddl_capture", ok: true, message: "DDL capture (event triggers zeroetl_*) is installed" };
  const message = status.supported
    ? "DDL capture is not installed: tables created, dropped, renamed or moved at the source, rewritten columns and columns added with a default are not followed (only column changes followed by rows are)"
    : "DDL capture needs PostgreSQL 14 or later: tables created, dropped, renamed or moved at the source, rewritten columns and columns added with a default are not followed";
  let fixed = false;
  let failure: string | undefined;
  if (fix && status.canInstall) {
    try {
      fixed = await ensureDdlCapture(client);
    } catch (error) {
      failure = (error as Error).message;
    }
  }
  return {
    id: "postgres.ddl_capture",
    ok: fixed,
    message: fixed ? `${message}; fixed: installed` : failure === undefined ? message : `${message}; the fix failed: ${failure}`,
    remedy: ddlCaptureRemedy(),
    fixable: status.canInstall,
    fixed,
    severity: "warning",
  };
}

function sqlName(ref: TableRef): string {
  return `${quoteIdent(ref.namespace)}.${quoteIdent(ref.name)}`;
}
