import { sql } from "kysely";
import type { PreflightCheck, PreflightOptions, PreflightReport } from "@zero-etl/core";
import { redactText } from "@zero-etl/core";
import type { PostgresSinkConfig } from "./postgres-sink-config.js";
import { PostgresSession } from "./postgres-session.js";
import { describePgError } from "./postgres-error-classifier.js";

/**
 * Checks the target: the server answers, the schema exists (fixable:
 * `CREATE SCHEMA`), and the user may create tables in it. Never throws for
 * a failed check; connection failures become a failed `postgres-sink.connect`.
 */
export async function runPostgresSinkPreflight(config: PostgresSinkConfig, options: PreflightOptions): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [];
  const report = (): PreflightReport => Object.freeze({ component: "postgres-sink", checks: Object.freeze(checks) });
  let session: PostgresSession;
  try {
    session = await PostgresSession.connect(config);
  } catch (error) {
    checks.push({
      id: "postgres-sink.connect",
      ok: false,
      severity: "error",
      message: error instanceof Error ? redactText(error.message) : `cannot connect to ${config.displayTarget}`,
      remedy: "check target.url (host, port, database, user) and that the server accepts connections from this host",
    });
    return report();
  }
  try {
    const who = await sql<{ user: string; version: string }>`SELECT current_user AS user, current_setting('server_version') AS version`.execute(session.db);
    const me = who.rows[0];
    checks.push({ id: "postgres-sink.connect", ok: true, message: `connected to ${config.displayTarget} as ${me?.user ?? "?"} (PostgreSQL ${me?.version ?? "?"})` });

    const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ${config.schema}`.execute(session.db);
    let schemaOk = (exists.rows[0]?.n ?? 0) > 0;
    if (schemaOk) {
      checks.push({ id: "postgres-sink.schema", ok: true, message: `schema ${config.schema} exists` });
    } else if (options.fix) {
      try {
        await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(config.schema)}`.execute(session.db);
        schemaOk = true;
        checks.push({ id: "postgres-sink.schema", ok: true, fixable: true, fixed: true, message: `schema ${config.schema} created` });
      } catch (error) {
        checks.push({
          id: "postgres-sink.schema",
          ok: false,
          severity: "error",
          fixable: true,
          fixed: false,
          message: `schema ${config.schema} does not exist and could not be created: ${redactText(describePgError(error))}`,
          remedy: `CREATE SCHEMA ${JSON.stringify(config.schema)} as a user with CREATE on the database`,
        });
      }
    } else {
      checks.push({
        id: "postgres-sink.schema",
        ok: false,
        severity: "error",
        fixable: true,
        message: `schema ${config.schema} does not exist`,
        remedy: `run the check with --fix, or CREATE SCHEMA ${JSON.stringify(config.schema)}`,
      });
    }

    if (schemaOk) {
      const privilege = await sql<{ can_create: boolean; can_use: boolean }>`
        SELECT has_schema_privilege(${config.schema}, 'CREATE') AS can_create, has_schema_privilege(${config.schema}, 'USAGE') AS can_use`.execute(session.db);
      const row = privilege.rows[0];
      const ok = row?.can_create === true && row.can_use === true;
      checks.push({
        id: "postgres-sink.create-privilege",
        ok,
        severity: "error",
        message: ok ? `${me?.user ?? "the user"} may create tables in schema ${config.schema}` : `${me?.user ?? "the user"} lacks CREATE or USAGE on schema ${config.schema}`,
        ...(ok ? {} : { remedy: `GRANT USAGE, CREATE ON SCHEMA ${JSON.stringify(config.schema)} TO ${JSON.stringify(me?.user ?? "the_user")}` }),
      });
    } else {
      const database = await sql<{ can_create: boolean }>`SELECT has_database_privilege(current_database(), 'CREATE') AS can_create`.execute(session.db);
      const ok = database.rows[0]?.can_create === true;
      checks.push({
        id: "postgres-sink.create-privilege",
        ok,
        severity: "error",
        message: ok ? `${me?.user ?? "the user"} may create schema ${config.schema}` : `${me?.user ?? "the user"} may not create schema ${config.schema}`,
        ...(ok ? {} : { remedy: "create the schema as another user and grant USAGE, CREATE on it" }),
      });
    }
  } catch (error) {
    checks.push({ id: "postgres-sink.query", ok: false, severity: "error", message: `preflight query failed: ${redactText(describePgError(error))}` });
  } finally {
    await session.destroy();
  }
  return report();
}
