import type { PipelineCheckpoint, TableStatus } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import type { RedshiftStatementRunner } from "./redshift-statement-runner.js";
import type { StageColumn } from "./redshift-stage-encoder.js";
import { StageRowEncoder } from "./redshift-stage-encoder.js";
import { qualifiedRedshift } from "./redshift-identifier.js";

/** Name of the checkpoint table in the target schema (as in the PostgreSQL sink). */
export const REDSHIFT_CHECKPOINTS_TABLE = "_zeroetl_checkpoints";
/** Name of the per-table state table in the target schema. */
export const REDSHIFT_TABLE_STATE_TABLE = "_zeroetl_table_state";

/** A VARCHAR holds 65,535 bytes; a checkpoint is stored in parts of at most this many characters (4 bytes each at worst). */
const PART_CHARS = 16_000;

const CHECKPOINT_COLUMNS: readonly StageColumn[] = [
  { name: "pipeline", type: "VARCHAR(256)", source: "pipeline" },
  { name: "part", type: "INTEGER", source: "part" },
  { name: "body", type: "VARCHAR(65535)", source: "body" },
  { name: "saved_at", type: "TIMESTAMPTZ", source: "saved_at" },
];
const STATE_COLUMNS: readonly StageColumn[] = [
  { name: "pipeline", type: "VARCHAR(256)", source: "pipeline" },
  { name: "table_name", type: "VARCHAR(1024)", source: "table_name" },
  { name: "state", type: "VARCHAR(64)", source: "state" },
  { name: "rows_applied", type: "BIGINT", source: "rows_applied" },
  { name: "last_position", type: "VARCHAR(1024)", source: "last_position" },
  { name: "last_error", type: "VARCHAR(65535)", source: "last_error" },
  { name: "updated_at", type: "TIMESTAMPTZ", source: "updated_at" },
];

/** The two state files of a flush, staged like rows, and the tables they replace rows of. */
export interface StagedState {
  readonly table: string;
  readonly columns: readonly StageColumn[];
  readonly bytes: Uint8Array;
}

/**
 * The sink's bookkeeping in the target schema: `_zeroetl_checkpoints` holds
 * each pipeline's checkpoint (JSON, in parts of at most 16,000 characters,
 * since a VARCHAR holds 64 KB) and `_zeroetl_table_state` one row per
 * (pipeline, table). Both are staged and loaded like rows, in the
 * transaction that applies the data, so no value is ever spliced into SQL.
 */
export class RedshiftStateTables {
  readonly #schema: string;

  constructor(schema: string) {
    this.#schema = schema;
  }

  /** Creates both tables when missing. Idempotent. */
  async ensure(runner: RedshiftStatementRunner): Promise<void> {
    await runner.execute(
      `CREATE TABLE IF NOT EXISTS ${qualifiedRedshift(this.#schema, REDSHIFT_CHECKPOINTS_TABLE)} (pipeline VARCHAR(256) NOT NULL, part INTEGER NOT NULL, body VARCHAR(65535) NOT NULL, saved_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (pipeline, part))`,
    );
    await runner.execute(
      `CREATE TABLE IF NOT EXISTS ${qualifiedRedshift(this.#schema, REDSHIFT_TABLE_STATE_TABLE)} (pipeline VARCHAR(256) NOT NULL, table_name VARCHAR(1024) NOT NULL, state VARCHAR(64) NOT NULL, rows_applied BIGINT NOT NULL, last_position VARCHAR(1024), last_error VARCHAR(65535), updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (pipeline, table_name))`,
    );
  }

  /** The stored checkpoint of a pipeline, or undefined. */
  async load(runner: RedshiftStatementRunner, pipeline: string): Promise<PipelineCheckpoint | undefined> {
    const rows = await runner.query(`SELECT body FROM ${qualifiedRedshift(this.#schema, REDSHIFT_CHECKPOINTS_TABLE)} WHERE pipeline = :pipeline ORDER BY part`, { pipeline });
    if (rows.length === 0) return undefined;
    const text = rows.map((r) => r["body"] ?? "").join("");
    try {
      return Object.freeze(JSON.parse(text) as PipelineCheckpoint);
    } catch (cause) {
      throw new ZeroEtlError(`stored checkpoint of pipeline ${pipeline} is not valid JSON`, { code: "checkpoint-failed", cause });
    }
  }

  /** The staged files that replace the pipeline's checkpoint and table states. */
  stage(checkpoint: PipelineCheckpoint): StagedState[] {
    const text = JSON.stringify(checkpoint);
    const parts: Record<string, string | number>[] = [];
    for (let i = 0, part = 0; i < text.length || part === 0; i += PART_CHARS, part++) {
      parts.push({ pipeline: checkpoint.pipeline, part, body: text.slice(i, i + PART_CHARS), saved_at: checkpoint.savedAt });
    }
    const out: StagedState[] = [this.#file(REDSHIFT_CHECKPOINTS_TABLE, CHECKPOINT_COLUMNS, parts)];
    const states = (Object.entries(checkpoint.tables) as [string, TableStatus][]).map(([name, status]) => ({
      pipeline: checkpoint.pipeline,
      table_name: name,
      state: status.state,
      rows_applied: BigInt(Math.trunc(status.rows)),
      last_position: status.lastPosition ?? null,
      last_error: status.lastError ?? null,
      updated_at: status.updatedAt,
    }));
    if (states.length > 0) out.push(this.#file(REDSHIFT_TABLE_STATE_TABLE, STATE_COLUMNS, states));
    return out;
  }

  /** Statements that replace the pipeline's rows of a state table with a loaded stage table. */
  replace(table: string, stage: string): string[] {
    const target = qualifiedRedshift(this.#schema, table);
    return [`DELETE FROM ${target} USING "${stage}" WHERE ${target}.pipeline = "${stage}".pipeline`, `INSERT INTO ${target} SELECT * FROM "${stage}"`, `DROP TABLE "${stage}"`];
  }

  #file(table: string, columns: readonly StageColumn[], rows: readonly Record<string, unknown>[]): StagedState {
    const encoder = new StageRowEncoder(columns, "json");
    const staged = rows.map((row) => {
      const cells = encoder.encode(row as never);
      if (typeof cells === "string") throw new ZeroEtlError(`checkpoint state cannot be staged: ${cells}`, { code: "checkpoint-failed" });
      return cells;
    });
    return { table, columns, bytes: encoder.file(staged) };
  }
}
