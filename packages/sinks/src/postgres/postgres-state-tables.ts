import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { PipelineCheckpoint, TableStatus } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/** Name of the checkpoint table in the target schema. */
export const CHECKPOINTS_TABLE = "_zeroetl_checkpoints";
/** Name of the per-table state table in the target schema (what Redshift's SVV_INTEGRATION_TABLE_STATE shows). */
export const TABLE_STATE_TABLE = "_zeroetl_table_state";

type AnyDb = Kysely<any>;

/**
 * The sink's bookkeeping in the target schema: `_zeroetl_checkpoints` holds
 * one checkpoint per pipeline and `_zeroetl_table_state` one row per
 * (pipeline, table) with its state, rows applied, last position and last
 * error. Both are written in the transaction that applies the data, so the
 * target's record and its rows never disagree.
 */
export class PostgresStateTables {
  readonly #schema: string;

  constructor(schema: string) {
    this.#schema = schema;
  }

  /** Creates both tables when missing. Idempotent. */
  async ensure(db: AnyDb): Promise<void> {
    await sql`CREATE TABLE IF NOT EXISTS ${sql.id(this.#schema, CHECKPOINTS_TABLE)} (
      pipeline text PRIMARY KEY,
      checkpoint jsonb NOT NULL,
      saved_at timestamptz NOT NULL
    )`.execute(db);
    await sql`CREATE TABLE IF NOT EXISTS ${sql.id(this.#schema, TABLE_STATE_TABLE)} (
      pipeline text NOT NULL,
      table_name text NOT NULL,
      state text NOT NULL,
      rows_applied bigint NOT NULL,
      last_position text,
      last_error text,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (pipeline, table_name)
    )`.execute(db);
  }

  /** The stored checkpoint of a pipeline, or undefined. */
  async load(db: AnyDb, pipeline: string): Promise<PipelineCheckpoint | undefined> {
    const result = await sql<{ checkpoint: unknown }>`SELECT checkpoint::text AS checkpoint FROM ${sql.id(this.#schema, CHECKPOINTS_TABLE)} WHERE pipeline = ${pipeline}`.execute(db);
    const text = result.rows[0]?.checkpoint;
    if (typeof text !== "string") return undefined;
    try {
      return Object.freeze(JSON.parse(text) as PipelineCheckpoint);
    } catch (cause) {
      throw new ZeroEtlError(`stored checkpoint of pipeline ${pipeline} is not valid JSON`, { code: "checkpoint-failed", cause });
    }
  }

  /** Upserts the checkpoint and every table's status; run it inside the data transaction. */
  async save(db: AnyDb, checkpoint: PipelineCheckpoint): Promise<void> {
    await sql`INSERT INTO ${sql.id(this.#schema, CHECKPOINTS_TABLE)} (pipeline, checkpoint, saved_at)
      VALUES (${checkpoint.pipeline}, ${JSON.stringify(checkpoint)}::jsonb, ${checkpoint.savedAt}::timestamptz)
      ON CONFLICT (pipeline) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, saved_at = EXCLUDED.saved_at`.execute(db);
    const entries = Object.entries(checkpoint.tables);
    if (entries.length === 0) return;
    const tables: string[] = [];
    const states: string[] = [];
    const rows: string[] = [];
    const positions: (string | null)[] = [];
    const errors: (string | null)[] = [];
    const updated: string[] = [];
    for (const [name, status] of entries as [string, TableStatus][]) {
      tables.push(name);
      states.push(status.state);
      rows.push(String(Math.trunc(status.rows)));
      positions.push(status.lastPosition ?? null);
      errors.push(status.lastError ?? null);
      updated.push(status.updatedAt);
    }
    // one statement with array parameters, whatever the number of tables
    await sql`INSERT INTO ${sql.id(this.#schema, TABLE_STATE_TABLE)} (pipeline, table_name, state, rows_applied, last_position, last_error, updated_at)
      SELECT ${checkpoint.pipeline}, t.* FROM unnest(${tables}::text[], ${states}::text[], ${rows}::bigint[], ${positions}::text[], ${errors}::text[], ${updated}::timestamptz[]) AS t
      ON CONFLICT (pipeline, table_name) DO UPDATE SET state = EXCLUDED.state, rows_applied = EXCLUDED.rows_applied,
        last_position = EXCLUDED.last_position, last_error = EXCLUDED.last_error, updated_at = EXCLUDED.updated_at`.execute(db);
  }
}
