import type pg from "pg";
import type { Logger } from "@zero-etl/core";

/** The logical-decoding message prefix the DDL capture writes with. */
export const DDL_MESSAGE_PREFIX = "zeroetl";

/** The schema that holds the capture's functions and its state table; never replicated. */
export const DDL_CAPTURE_SCHEMA = "_zeroetl";

/** Bumped whenever the SQL below changes, so an older installation is replaced. */
const VERSION = "zeroetl-ddl-capture v6";

const TRIGGERS = ["zeroetl_ddl_command_end", "zeroetl_sql_drop", "zeroetl_table_rewrite"] as const;

/**
 * The capture, installed once per source database (shared by every pipeline
 * reading it). Event triggers on `ddl_command_end`, `sql_drop` and
 * `table_rewrite` write one transactional `pg_logical_emit_message` per table
 * a DDL statement touched, at the statement's place in the WAL, so a slot
 * sees every table change in order even when no row follows it. Each
 * `alter` message carries the table's columns by attribute number *and* the
 * state the capture recorded after the previous DDL on that table (`before`),
 * kept in the UNLOGGED table `_zeroetl.relations`: the diff is exact whether
 * or not a pipeline was running when the DDL happened. The state table is
 * unlogged so that it is never published nor replicated; after a server crash
 * it is empty and refilled from the catalog at the next stream start (DDL in
 * between is then seen without `before`). Dropped attributes keep the name
 * they had, so a column dropped and added again under the same name is seen.
 * Every function swallows its own errors (a warning): a user's DDL never
 * fails because of the capture. SECURITY DEFINER with a fixed search_path, so
 * DDL by any role is captured without granting it anything.
 */
const INSTALL_SQL = `
CREATE SCHEMA IF NOT EXISTS _zeroetl;
CREATE UNLOGGED TABLE IF NOT EXISTS _zeroetl.relations (
  relid oid PRIMARY KEY,
  schema_name text NOT NULL,
  table_name text NOT NULL,
  columns jsonb NOT NULL
);
COMMENT ON SCHEMA _zeroetl IS 'zero-etl DDL capture (event triggers zeroetl_*): remove with DROP EVENT TRIGGER zeroetl_ddl_command_end, zeroetl_sql_drop, zeroetl_table_rewrite; DROP SCHEMA _zeroetl CASCADE';

CREATE OR REPLACE FUNCTION _zeroetl.is_captured(rel oid) RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
  SELECT EXISTS (
    SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = rel AND c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_zeroetl')
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')
$fn$;

CREATE OR REPLACE FUNCTION _zeroetl.columns_of(rel oid, previous jsonb) RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'n', a.attnum,
           'name', CASE WHEN a.attisdropped THEN coalesce(p.name, a.attname::text) ELSE a.attname::text END,
           'dropped', a.attisdropped,
           -- part of the key the stream identifies rows by: the replica identity index's columns, else the primary key's
           'key', EXISTS (SELECT 1 FROM pg_index i JOIN pg_class rc ON rc.oid = i.indrelid
                           WHERE i.indrelid = rel AND a.attnum = ANY (i.indkey)
                             AND CASE WHEN rc.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END),
           -- a partitioned root has no storage: its partitions hold the default the existing rows take
           'missing', a.atthasmissing OR (NOT a.attisdropped AND EXISTS (
             SELECT 1 FROM pg_partition_tree(rel) pt JOIN pg_attribute pa ON pa.attrelid = pt.relid
              WHERE pt.relid <> rel AND pa.attname = a.attname AND pa.atthasmissing AND NOT pa.attisdropped))) ORDER BY a.attnum), '[]'::jsonb)
    FROM pg_attribute a
    LEFT JOIN jsonb_to_recordset(coalesce(previous, '[]'::jsonb)) AS p(n int, name text) ON p.n = a.attnum
   WHERE a.attrelid = rel AND a.attnum > 0
$fn$;

CREATE OR REPLACE FUNCTION _zeroetl.capture(rel oid, tag text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
DECLARE
  now_schema text;
  now_name text;
  prev _zeroetl.relations%ROWTYPE;
  cols jsonb;
  before jsonb;
BEGIN
  IF NOT _zeroetl.is_captured(rel) THEN RETURN; END IF;
  SELECT n.nspname::text, c.relname::text INTO now_schema, now_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
  SELECT * INTO prev FROM _zeroetl.relations WHERE relid = rel;
  IF FOUND THEN
    before := jsonb_build_object('schema', prev.schema_name, 'name', prev.table_name, 'columns', prev.columns);
  END IF;
  cols := _zeroetl.columns_of(rel, prev.columns);
  PERFORM pg_logical_emit_message(true, 'zeroetl', jsonb_build_object(
    'v', 1, 'op', 'alter', 'tag', tag, 'oid', rel, 'schema', now_schema, 'name', now_name, 'columns', cols, 'before', before)::text);
  INSERT INTO _zeroetl.relations AS r VALUES (rel, now_schema, now_name, cols)
    ON CONFLICT (relid) DO UPDATE SET schema_name = EXCLUDED.schema_name, table_name = EXCLUDED.table_name, columns = EXCLUDED.columns;
END
$fn$;

CREATE OR REPLACE FUNCTION _zeroetl.on_ddl_command_end() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
-- ${VERSION}
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT DISTINCT d.classid, d.objid, d.command_tag FROM pg_event_trigger_ddl_commands() d
              WHERE d.classid IN ('pg_class'::regclass, 'pg_namespace'::regclass) ORDER BY d.objid LOOP
    IF cmd.classid = 'pg_namespace'::regclass THEN
      -- ALTER SCHEMA ... RENAME moves every table in it
      PERFORM _zeroetl.capture(c.oid, cmd.command_tag) FROM pg_class c WHERE c.relnamespace = cmd.objid AND c.relkind IN ('r', 'p');
    ELSE
      PERFORM _zeroetl.capture(cmd.objid, cmd.command_tag);
    END IF;
  END LOOP;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'zeroetl DDL capture failed (%): %', SQLSTATE, SQLERRM;
END
$fn$;

CREATE OR REPLACE FUNCTION _zeroetl.on_sql_drop() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
  obj record;
BEGIN
  FOR obj IN SELECT o.objid, o.schema_name, o.object_name FROM pg_event_trigger_dropped_objects() o
              WHERE o.classid = 'pg_class'::regclass AND o.objsubid = 0 AND o.object_type = 'table' AND NOT o.is_temporary LOOP
    PERFORM pg_logical_emit_message(true, 'zeroetl', jsonb_build_object(
      'v', 1, 'op', 'drop', 'oid', obj.objid, 'schema', obj.schema_name, 'name', obj.object_name)::text);
    DELETE FROM _zeroetl.relations WHERE relid = obj.objid;
  END LOOP;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'zeroetl DDL capture failed (%): %', SQLSTATE, SQLERRM;
END
$fn$;

CREATE OR REPLACE FUNCTION _zeroetl.on_table_rewrite() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
DECLARE
  rel oid := pg_event_trigger_table_rewrite_oid();
BEGIN
  IF NOT _zeroetl.is_captured(rel) THEN RETURN; END IF;
  -- a partitioned table's rewrite rewrites its partitions: name the root too (partitions: root selects only the root)
  PERFORM pg_logical_emit_message(true, 'zeroetl', jsonb_build_object(
    'v', 1, 'op', 'rewrite', 'oid', c.oid, 'schema', n.nspname::text, 'name', c.relname::text)::text)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = rel OR (c.oid = pg_partition_root(rel) AND c.oid <> rel);
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'zeroetl DDL capture failed (%): %', SQLSTATE, SQLERRM;
END
$fn$;

CREATE OR REPLACE FUNCTION _zeroetl.fill() RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
  INSERT INTO _zeroetl.relations
  SELECT c.oid, n.nspname::text, c.relname::text, _zeroetl.columns_of(c.oid, NULL)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE NOT EXISTS (SELECT 1 FROM _zeroetl.relations r WHERE r.relid = c.oid) AND _zeroetl.is_captured(c.oid)
  ON CONFLICT (relid) DO NOTHING
$fn$;

-- pipelines running as other roles refill the state (fill is SECURITY DEFINER); capture is for the triggers only
GRANT USAGE ON SCHEMA _zeroetl TO PUBLIC;
REVOKE ALL ON FUNCTION _zeroetl.capture(oid, text) FROM PUBLIC;

DROP EVENT TRIGGER IF EXISTS zeroetl_ddl_command_end;
DROP EVENT TRIGGER IF EXISTS zeroetl_sql_drop;
DROP EVENT TRIGGER IF EXISTS zeroetl_table_rewrite;
CREATE EVENT TRIGGER zeroetl_ddl_command_end ON ddl_command_end EXECUTE FUNCTION _zeroetl.on_ddl_command_end();
CREATE EVENT TRIGGER zeroetl_sql_drop ON sql_drop EXECUTE FUNCTION _zeroetl.on_sql_drop();
CREATE EVENT TRIGGER zeroetl_table_rewrite ON table_rewrite EXECUTE FUNCTION _zeroetl.on_table_rewrite();
`;

/** Records the current state of every captured table that has none (first install, or after a crash emptied the unlogged state). */
const FILL_SQL = "SELECT _zeroetl.fill()";

/** Whether the capture is installed, current and enabled in this database. */
export interface DdlCaptureStatus {
  readonly installed: boolean;
  /** Whether this role may install it (event triggers need a superuser). */
  readonly canInstall: boolean;
  /** Whether the server sends logical messages to pgoutput (`messages` option, PostgreSQL 14+). */
  readonly supported: boolean;
}

/** Reads whether the capture is installed (every trigger enabled, the current version) and whether it could be. */
export async function inspectDdlCapture(client: pg.ClientBase): Promise<DdlCaptureStatus> {
  const result = await client.query<{ triggers: number; current: boolean; superuser: boolean; version: number }>(
    `SELECT (SELECT count(*)::int FROM pg_event_trigger WHERE evtname = ANY($1::text[]) AND evtenabled <> 'D') AS triggers,
            EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = $2 AND p.proname = 'on_ddl_command_end' AND position($3 IN p.prosrc) > 0) AS current,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
            current_setting('server_version_num')::int AS version`,
    [[...TRIGGERS], DDL_CAPTURE_SCHEMA, VERSION],
  );
  const row = result.rows[0];
  const supported = (row?.version ?? 0) >= 140000;
  return { installed: supported && row?.triggers === TRIGGERS.length && row.current, canInstall: supported && row?.superuser === true, supported };
}

/**
 * Installs (or upgrades) the capture when missing and records the current
 * state of the tables it has none for. Returns false, without changing
 * anything, when the server is older than 14 or this role is not a superuser.
 */
export async function ensureDdlCapture(client: pg.ClientBase): Promise<boolean> {
  const status = await inspectDdlCapture(client);
  if (!status.installed) {
    if (!status.canInstall) return false;
    await client.query("BEGIN");
    try {
      // one installer at a time (two pipelines starting together)
      await client.query("SELECT pg_advisory_xact_lock(hashtext('zeroetl-ddl-capture'))");
      if (!(await inspectDdlCapture(client)).installed) await client.query(INSTALL_SQL);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  }
  // best effort: a read-only server (decoding on a standby) cannot refill, and the triggers run on the primary anyway
  await client.query(FILL_SQL).catch(() => undefined);
  return true;
}

/**
 * {@link ensureDdlCapture} that never throws: true when the capture is in
 * place; otherwise logs a warning (DDL is then seen only through the
 * Relation messages before rows) and returns false.
 */
export async function tryEnsureDdlCapture(client: pg.ClientBase, logger: Logger): Promise<boolean> {
  try {
    if (await ensureDdlCapture(client)) return true;
    logger.warn("ddl capture not installed (it needs PostgreSQL 14+ and a superuser once): tables created, dropped, renamed or rewritten at the source are not followed");
  } catch (error) {
    logger.warn("ddl capture could not be installed: tables created, dropped, renamed or rewritten at the source are not followed", { error: (error as Error).message });
  }
  return false;
}

/** The SQL `check --fix` would run, for the remedy text. */
export function ddlCaptureRemedy(): string {
  return "run `zeroetl check --fix` (or start the pipeline) as a superuser once; it creates the schema _zeroetl and the event triggers zeroetl_ddl_command_end, zeroetl_sql_drop and zeroetl_table_rewrite";
}
