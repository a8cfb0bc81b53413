import type { PgTableName } from "./postgres-ddl-compiler.js";

/**
 * Name of the table, in the target schema, that records each target table
 * whose primary key is set aside while its snapshot loads by COPY.
 */
export const DEFERRED_KEYS_TABLE = "_zeroetl_deferred_keys";

/** How long setting a key aside waits for the table's lock before it gives up (and the load keeps the key). */
export const LOCK_WAIT_MS = 5000;

/** Runs one SQL statement with parameters and returns its rows. */
export type SqlQuery = <R>(text: string, values?: readonly unknown[]) => Promise<R[]>;

/** A primary key dropped for a load: what puts it back exactly as it was. */
export interface DeferredKey {
  readonly table: PgTableName;
  readonly constraint: string;
  /** `PRIMARY KEY (…)` with its options: `pg_get_constraintdef` (with INCLUDE) plus the index's WITH and USING INDEX TABLESPACE. */
  readonly definition: string;
}

/**
 * Sets a fresh target table's primary key aside for a bulk load: `COPY`
 * into a table without an index, then one index build, is faster than
 * maintaining the index row by row (`pg_dump | psql` loads the same way).
 *
 * Crash safety: one transaction drops the key and records it in
 * `_zeroetl_deferred_keys`, so the target either has its key or a record of
 * it, never neither. {@link restoreDeferredKey} adds it back and removes the
 * record in one transaction; a run that died in between leaves the record,
 * and the next run's {@link recoverDeferredKeys} (at the sink's `open`,
 * before any `prepare`) empties the table, whose snapshot had not finished
 * and is taken again, and adds the key back first.
 *
 * Returns undefined, changing nothing, when the table has no primary key,
 * holds rows, is not a plain table, its key is deferrable, referenced by a foreign key
 * or serves as its replica identity, or another session holds a lock on it
 * for more than `options.lockWaitMs` ({@link LOCK_WAIT_MS} by default).
 */
export async function deferPrimaryKey(query: SqlQuery, table: PgTableName, options: { readonly pipeline: string; readonly lockWaitMs?: number }): Promise<DeferredKey | undefined> {
  const relation = qualified(table);
  await query("BEGIN");
  try {
    await query(`CREATE TABLE IF NOT EXISTS ${qualified({ schema: table.schema, table: DEFERRED_KEYS_TABLE })} (
      table_name text PRIMARY KEY,
      pipeline text NOT NULL,
      constraint_name text NOT NULL,
      definition text NOT NULL,
      deferred_at timestamptz NOT NULL DEFAULT now()
    )`);
    // the lock first: nothing may write the table between the checks and the drop; a reader
    // holding it (a long query on the target) is not waited for long: the load keeps the key instead
    await query(`SET LOCAL lock_timeout = '${Math.max(1, Math.trunc(options.lockWaitMs ?? LOCK_WAIT_MS))}ms'`);
    try {
      await query(`LOCK TABLE ${relation} IN ACCESS EXCLUSIVE MODE`);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "55P03") throw error;
      await query("ROLLBACK");
      return undefined;
    }
    await query("SET LOCAL lock_timeout = 0");
    const found = await query<{ conname: string; definition: string; deferrable: boolean }>(
      // pg_get_constraintdef leaves out the index's storage options and tablespace: added here
      `SELECT c.conname::text AS conname,
              pg_get_constraintdef(c.oid)
                || coalesce(' WITH (' || array_to_string(x.reloptions, ', ') || ')', '')
                || coalesce(' USING INDEX TABLESPACE ' || quote_ident(ts.spcname), '') AS definition,
              (t.relkind = 'r' AND NOT c.condeferrable
               AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = t.oid AND f.contype = 'f')
               AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = c.conindid AND i.indisreplident)
               AND NOT EXISTS (SELECT 1 FROM ${relation})) AS deferrable
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class x ON x.oid = c.conindid
         LEFT JOIN pg_tablespace ts ON ts.oid = x.reltablespace
        WHERE c.conrelid = $1::regclass AND c.contype = 'p'`,
      [relation],
    );
    const key = found[0];
    if (key === undefined || !key.deferrable) {
      await query("ROLLBACK");
      return undefined;
    }
    await query(`INSERT INTO ${qualified({ schema: table.schema, table: DEFERRED_KEYS_TABLE })} (table_name, pipeline, constraint_name, definition) VALUES ($1, $2, $3, $4)`, [
      table.table,
      options.pipeline,
      key.conname,
      key.definition,
    ]);
    await query(`ALTER TABLE ${relation} DROP CONSTRAINT ${quote(key.conname)}`);
    await query("COMMIT");
    return { table, constraint: key.conname, definition: key.definition };
  } catch (error) {
    await query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/**
 * Adds a deferred key back and forgets its record, in one transaction;
 * `truncate` empties the table first (a load that did not finish: its rows
 * are taken again). Throws when the rows violate the key (nothing changes).
 */
export async function restoreDeferredKey(query: SqlQuery, key: DeferredKey, options: { readonly truncate: boolean }): Promise<void> {
  const relation = qualified(key.table);
  await query("BEGIN");
  try {
    if (options.truncate) await query(`TRUNCATE TABLE ${relation}`);
    await query(`ALTER TABLE ${relation} ADD CONSTRAINT ${quote(key.constraint)} ${key.definition}`);
    await query(`DELETE FROM ${qualified({ schema: key.table.schema, table: DEFERRED_KEYS_TABLE })} WHERE table_name = $1`, [key.table.table]);
    await query("COMMIT");
  } catch (error) {
    await query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/**
 * Puts back every key a run of `pipeline` that died left deferred in `schema`
 * (another pipeline writing to the same schema may be loading its own
 * tables at this moment: their records are not touched): each such
 * table is emptied (its snapshot had not finished) and gets its key again. A
 * record whose table is gone, or has a primary key again, is only removed.
 * Returns the tables recovered.
 */
export async function recoverDeferredKeys(query: SqlQuery, schema: string, pipeline: string): Promise<readonly string[]> {
  const records = qualified({ schema, table: DEFERRED_KEYS_TABLE });
  const exists = await query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [records]);
  if (exists[0]?.found !== true) return [];
  const rows = await query<{ table_name: string; constraint_name: string; definition: string; keyed: boolean | null }>(
    `SELECT d.table_name, d.constraint_name, d.definition,
            (SELECT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = t.oid AND c.contype = 'p')
               FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
              WHERE n.nspname = $1 AND t.relname = d.table_name) AS keyed
       FROM ${records} d WHERE d.pipeline = $2 ORDER BY d.table_name`,
    [schema, pipeline],
  );
  const recovered: string[] = [];
  for (const row of rows) {
    const key: DeferredKey = { table: { schema, table: row.table_name }, constraint: row.constraint_name, definition: row.definition };
    if (row.keyed === null || row.keyed) {
      await query(`DELETE FROM ${records} WHERE table_name = $1`, [row.table_name]);
      continue;
    }
    await restoreDeferredKey(query, key, { truncate: true });
    recovered.push(row.table_name);
  }
  return recovered;
}

function qualified(table: PgTableName): string {
  return `${quote(table.schema)}.${quote(table.table)}`;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
