import type { Row } from "@zero-etl/core";
import type { PgSqlCompiler } from "./postgres-dml-compiler.js";
import { compileCopyIntoStage, compileCopyIntoTable, compileCreateStage, compileDropStage, compileStagedDelete, compileStagedPartialUpsert, compileStagedUpsert } from "./postgres-dml-compiler.js";
import { copyTextCell } from "./postgres-copy-text.js";
import { classifyPgError } from "./postgres-error-classifier.js";
import type { PostgresSession } from "./postgres-session.js";
import type { TargetTable } from "./postgres-table-syncer.js";
import { toPgParameter, type PgParameterEncoder } from "./postgres-value-encoder.js";

/** Rows below which the parameter statements win: staging costs two more round trips (create with the COPY, drop). */
export const STAGED_MIN_ROWS = 500;
/** Characters of COPY text per CopyData message: small enough that the server reads one while the next is made. */
const COPY_CHUNK_BYTES = 64 * 1024;

/**
 * Set-based apply of one table's folded rows through a session staging
 * table: the rows are loaded with `COPY … FROM STDIN` (text format) into a
 * temporary table created for the statement, then applied with one
 * statement (`INSERT … SELECT … ON CONFLICT DO UPDATE`, the `UPDATE … FROM`
 * form for rows lacking columns, or `DELETE … USING`), and the staging table
 * is dropped. Same semantics as the parameter statements: only the columns
 * present are set, absent ones keep the target's value. Runs inside the
 * sink's open transaction; a failure for a record's fault fails the whole
 * statement, and the caller then applies the batch row by row its careful way.
 */
export class StagedApply {
  readonly #compile: PgSqlCompiler;
  readonly #texts = new Map<string, string>();
  #serial = 0;
  readonly #allowed = new WeakMap<PostgresSession, boolean>();
  /** Milliseconds spent making COPY text, which now overlaps with the COPY itself. */
  readonly #encodeClock = { ms: 0 };
  /**
   * Where the staged path's time went (milliseconds), for the performance
   * breakdown: `rows` staged, and `insertRows` copied straight into their
   * tables by {@link insert} (`insertMs`, encoding included), which fell back
   * to the staged upsert `insertFallbacks` times.
   */
  readonly times = { rows: 0, encodeMs: 0, loadMs: 0, applyMs: 0, insertRows: 0, insertMs: 0, insertFallbacks: 0 };

  constructor(compile: PgSqlCompiler) {
    this.#compile = compile;
  }

  /**
   * Whether the session may create temporary tables (the `TEMPORARY`
   * privilege on the database, PUBLIC's by default but revocable); asked
   * once per session. Without it the caller keeps the parameter statements.
   */
  async available(session: PostgresSession): Promise<boolean> {
    let allowed = this.#allowed.get(session);
    if (allowed === undefined) {
      const rows = await session.query<{ ok: boolean }>("SELECT has_database_privilege(current_database(), 'TEMPORARY') AS ok");
      allowed = rows[0]?.ok === true;
      this.#allowed.set(session, allowed);
    }
    return allowed;
  }

  /** Forgets cached statement texts (a target table's columns may have changed). */
  forgetStatements(): void {
    this.#texts.clear();
  }

  /**
   * Upserts `rows` (each holding at least every column of `columns`, which
   * `signature` names) into `target`; `full` when `columns` are all the
   * target's columns.
   */
  async upsert(session: PostgresSession, target: TargetTable, signature: string, columns: readonly string[], full: boolean, rows: readonly { readonly row: Row }[]): Promise<number> {
    const stage = this.#stageName();
    const apply = this.#text(`staged-upsert\u0000${target.name.schema}\u0000${target.name.table}\u0000${signature}\u0000${stage}`, () =>
      (full ? compileStagedUpsert : compileStagedPartialUpsert)(this.#compile, { table: target.name, columns, primaryKey: target.primaryKey, stage }),
    );
    return this.#viaStage(session, target, stage, columns, rows, apply);
  }

  /**
   * Inserts `rows`, each new at the source (its insert is the first change
   * of its key in the batch), with one `COPY … FROM STDIN` straight into
   * `target`, under a savepoint: no staging table and no conflict check per
   * row. When that fails for a record's fault — a key that is there already
   * (a replay after a crash, a table read again while its changes stream),
   * or a value a column refuses — it rolls back to the savepoint and
   * upserts the same rows the staged way ({@link upsert}), so the effect is
   * the same as an upsert's in every case.
   */
  async insert(session: PostgresSession, target: TargetTable, signature: string, columns: readonly string[], full: boolean, rows: readonly { readonly row: Row }[]): Promise<number> {
    const times = this.times;
    const began = performance.now();
    const copy = this.#text(`copy-into\u0000${target.name.schema}\u0000${target.name.table}\u0000${signature}`, () => compileCopyIntoTable(this.#compile, target.name, columns));
    let copied: number;
    try {
      // one simple query for both statements: a round trip less per batch (the COPY's failure leaves the savepoint made)
      copied = await session.copyInFrom(`SAVEPOINT zetl_insert; ${copy}`, copyTextChunks(target, columns, rows, this.#encodeClock));
    } catch (error) {
      if (session.broken || classifyPgError(error) !== "record") throw error;
      await session.run("ROLLBACK TO SAVEPOINT zetl_insert");
      await session.run("RELEASE SAVEPOINT zetl_insert");
      times.insertFallbacks += 1;
      times.insertMs += performance.now() - began;
      return this.upsert(session, target, signature, columns, full, rows);
    }
    await session.run("RELEASE SAVEPOINT zetl_insert");
    times.insertRows += rows.length;
    times.insertMs += performance.now() - began;
    return copied;
  }

  /** Deletes the keys of `rows` (key images) from `target`. */
  async deleteKeys(session: PostgresSession, target: TargetTable, rows: readonly { readonly row: Row }[]): Promise<number> {
    const stage = this.#stageName();
    const pk = target.primaryKey;
    const apply = this.#text(`staged-delete\u0000${target.name.schema}\u0000${target.name.table}\u0000${stage}`, () => compileStagedDelete(this.#compile, target.name, pk, stage));
    return this.#viaStage(session, target, stage, pk, rows, apply);
  }

  async #viaStage(session: PostgresSession, target: TargetTable, stage: string, columns: readonly string[], rows: readonly { readonly row: Row }[], apply: string): Promise<number> {
    const create = compileCreateStage(
      this.#compile,
      stage,
      columns,
      columns.map((c) => target.baseTypes.get(c) ?? "text"),
    );
    const times = this.times;
    const clock = this.#encodeClock;
    const began = performance.now();
    const encodedBefore = clock.ms;
    // one simple query, one round trip: creating the table and the COPY into it, the rows encoded as they go
    await session.copyInFrom(`${create}; ${compileCopyIntoStage(this.#compile, stage, columns)}`, copyTextChunks(target, columns, rows, clock));
    const loaded = performance.now();
    const affected = await session.run(apply);
    await session.run(compileDropStage(this.#compile, stage));
    const encodeMs = clock.ms - encodedBefore;
    times.rows += rows.length;
    times.encodeMs += encodeMs;
    times.loadMs += loaded - began - encodeMs;
    times.applyMs += performance.now() - loaded;
    return affected;
  }

  /** A fresh name per use: a staging table created under a savepoint that was rolled back is gone, so names are never reused. */
  #stageName(): string {
    this.#serial = (this.#serial + 1) % 1_000_000_000;
    return `zetl_stage_${this.#serial}`;
  }

  #text(key: string, build: () => string): string {
    const cached = this.#texts.get(key);
    if (cached !== undefined) return cached;
    const text = build();
    if (this.#texts.size > 2_000) this.#texts.clear();
    this.#texts.set(key, text);
    return text;
  }
}

/**
 * The rows' `columns` as COPY text, one line per row, in messages of about
 * {@link COPY_CHUNK_BYTES}, made one at a time as the COPY takes them (the
 * server reads one while the next is made); the time spent making them is
 * added to `clock`.
 */
function* copyTextChunks(target: TargetTable, columns: readonly string[], rows: readonly { readonly row: Row }[], clock: { ms: number }): Generator<Buffer> {
  const width = columns.length;
  const encoders: PgParameterEncoder[] = columns.map((c) => target.encoders.get(c) ?? toPgParameter);
  let text = "";
  let began = performance.now();
  for (let r = 0; r < rows.length; r++) {
    const row = (rows[r] as { readonly row: Row }).row;
    for (let c = 0; c < width; c++) {
      if (c > 0) text += "\t";
      text += copyTextCell((encoders[c] as PgParameterEncoder)(row[columns[c] as string]));
    }
    text += "\n";
    if (text.length >= COPY_CHUNK_BYTES) {
      const chunk = Buffer.from(text, "utf8");
      text = "";
      clock.ms += performance.now() - began;
      yield chunk;
      began = performance.now();
    }
  }
  if (text.length > 0) {
    const chunk = Buffer.from(text, "utf8");
    clock.ms += performance.now() - began;
    yield chunk;
  } else clock.ms += performance.now() - began;
}
