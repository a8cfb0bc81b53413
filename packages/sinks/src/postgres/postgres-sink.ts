import { sql } from "kysely";
import type pg from "pg";
import type {
  ChangeBatch,
  PipelineCheckpoint,
  PreflightOptions,
  PrepareChange,
  PreflightReport,
  RejectedRecord,
  Sink,
  SinkCapabilities,
  SinkOpenContext,
  SnapshotChunk,
  SnapshotCopy,
  SnapshotCopyColumn,
  SnapshotCopyOptions,
  TableRef,
  TableSchema,
  PreparedWrite,
  WriteReceipt,
} from "@zero-etl/core";
import { ZeroEtlError, redactText, tableKey } from "@zero-etl/core";
import type { ApplyMode } from "./postgres-change-applier.js";
import { ChangeApplier } from "./postgres-change-applier.js";
import type { ApplyStep } from "./postgres-change-folder.js";
import { ChangeFolder, stepsOfTable, tablesOfSteps } from "./postgres-change-folder.js";
import type { PgTableName } from "./postgres-ddl-compiler.js";
import { assertPgIdentifier, fromPgColumnType, pgTableRef } from "./postgres-ddl-compiler.js";
import { createPgSqlCompiler } from "./postgres-dml-compiler.js";
import { classifyPgError, describePgError } from "./postgres-error-classifier.js";
import type { PostgresSinkConfig, PostgresSinkOptions } from "./postgres-sink-config.js";
import { resolvePostgresSinkConfig } from "./postgres-sink-config.js";
import { runPostgresSinkPreflight } from "./postgres-sink-preflight.js";
import { compileHistoryTruncatesTable } from "./postgres-history-applier.js";
import { compileHistoryIndexes, toHistorySchema } from "./postgres-history-table.js";
import { PostgresSession, connectSinkClient } from "./postgres-session.js";
import { acceptsBinaryCopy, loadBinaryCopy } from "./postgres-bulk-loader.js";
import { deferPrimaryKey, recoverDeferredKeys, restoreDeferredKey, type DeferredKey, type SqlQuery } from "./postgres-deferred-key.js";
import { PostgresStateTables } from "./postgres-state-tables.js";
import type { TableSyncResult, TargetTable } from "./postgres-table-syncer.js";
import { syncPgTable } from "./postgres-table-syncer.js";
import type { WriterLockKey } from "./postgres-writer-lock.js";
import { lockSchemaDdl } from "./postgres-ddl-lock.js";
import { takeWriterLock, writerLockKey } from "./postgres-writer-lock.js";

/** What the sink knows of one target table after its last `prepare` or schema change. */
export interface PostgresTableReport {
  readonly target: TargetTable;
  /** Source type changes not applied because the target column already holds the new type. */
  readonly keptWider: readonly string[];
  /** Source changes not applied because the target cannot hold them (reported as `schema-refused`). */
  readonly refused: readonly string[];
}

/** The PostgreSQL warehouse sink: a {@link Sink} plus a read-out of what it did to each table. */
export interface PostgresSink extends Sink {
  /** The target table and the schema changes left undone, for a source table; undefined before `prepare`. */
  describeTable(table: TableRef): PostgresTableReport | undefined;
}

/**
 * Below this many rows (the source's estimate) a COPY load keeps its primary
 * key: dropping and building it costs two more transactions, which only a
 * table of some size wins back.
 */
export const DEFER_KEY_MIN_ROWS = 10_000;

/**
 * Without a row estimate (a table never analyzed), a table of at least this
 * many blocks (8 MiB of heap: the size from which the PostgreSQL source cuts
 * a table into several ranges) loads without its key, even when one stream
 * reads it in one part.
 */
const DEFER_KEY_MIN_BLOCKS = 1024;

/** A `pg.Client`'s rows, as {@link SqlQuery}. */
function queryOf(client: pg.Client): SqlQuery {
  return async <R>(text: string, values?: readonly unknown[]) => (await client.query(text, values === undefined ? undefined : [...values])).rows as R[];
}

const CAPABILITIES: SinkCapabilities = Object.freeze({
  nestedData: "json",
  maxIdentifierLength: 63,
  upsert: true,
  transactionalDdl: true,
  checkpointsInTarget: true,
  keylessTables: true,
  renames: true,
  generatedColumns: "computed",
  // a commit costs a WAL flush and a checkpoint save on the sink's one chain of work; while catching up,
  // batches fill up to this many rows (about a second's worth) instead of committing every 10,000
  defaultBatch: Object.freeze({ maxRows: 50_000 }),
});

/**
 * Creates the PostgreSQL warehouse sink.
 *
 * Transactions: the first `write`, `writeSnapshot`, `resetTable` (or a
 * `prepare` after one of them) opens a transaction on the sink's own
 * connection; each call applies its changes in it at once (so rejected
 * records come back in that call's receipt) and `flush` writes the checkpoint
 * and table states in the same transaction and commits. Until then nothing is
 * visible or durable. Every call's steps are retained until the commit: if the
 * connection breaks, the next call reconnects, replays them (idempotently, by
 * key) and goes on, so a retryable error never loses an accepted record.
 */
export function createPostgresSink(options: PostgresSinkOptions): PostgresSink {
  return new PostgresSinkImpl(resolvePostgresSinkConfig(options));
}

class PostgresSinkImpl implements PostgresSink {
  readonly kind = "postgres";
  readonly capabilities = CAPABILITIES;
  readonly #config: PostgresSinkConfig;
  readonly #state: PostgresStateTables;
  readonly #applier: ChangeApplier;
  readonly #compile = createPgSqlCompiler();
  readonly #targets = new Map<string, PostgresTableReport>();
  #session: PostgresSession | undefined;
  #inTransaction = false;
  /** Steps applied in the open transaction, replayed when it is lost. */
  #retained: ApplyStep[] = [];
  /** Set by `lock`: every session takes the pipeline's writer lock before it is used. */
  #lockKey: WriterLockKey | undefined;
  /** The pipeline `open` was called for (deferred-key records are scoped by it). */
  #pipeline: string | undefined;
  /** Whether a session of this sink held the lock already (a later take follows a lost connection). */
  #locked = false;

  constructor(config: PostgresSinkConfig) {
    this.#config = config;
    this.#state = new PostgresStateTables(config.schema);
    this.#applier = new ChangeApplier({
      compile: this.#compile,
      schema: config.schema,
      target: (table) => this.#target(table),
      sync: async (schema, renamed) => {
        const session = this.#session;
        if (session === undefined) throw new ZeroEtlError("no open session", { code: "internal" });
        await this.#sync(session, schema, false, renamed);
      },
    });
  }

  preflight(options: PreflightOptions): Promise<PreflightReport> {
    return runPostgresSinkPreflight(this.#config, options);
  }

  /**
   * Takes the pipeline's writer lock: a session-level advisory lock on the
   * sink's own connection, the one every write and checkpoint goes through,
   * taken again on each reconnect before anything is replayed.
   */
  async lock(context: SinkOpenContext): Promise<void> {
    this.#lockKey = writerLockKey(this.#config.schema, context.pipeline);
    if (this.#session !== undefined) await this.#abandon();
    await this.#connected();
  }

  async open(context: SinkOpenContext): Promise<PipelineCheckpoint | undefined> {
    const session = await this.#connected();
    try {
      await session.run("BEGIN");
      await lockSchemaDdl(session.db, this.#config.schema);
      const found = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ${this.#config.schema}`.execute(session.db);
      if ((found.rows[0]?.n ?? 0) === 0) {
        // creating the target schema is as safe as creating its tables, which the sink does anyway
        await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(this.#config.schema)}`.execute(session.db).catch((error: unknown) => {
          throw this.#wrap(error, `create target schema "${this.#config.schema}"`);
        });
      }
      await this.#state.ensure(session.db);
      await session.run("COMMIT");
      // a run of this pipeline that died while a table's key was set aside for its COPY: empty that table (its snapshot is taken again) and key it
      const recovered = await recoverDeferredKeys((text, values) => session.query(text, values), this.#config.schema, context.pipeline);
      if (recovered.length > 0) this.#config.logger.warn("primary keys put back on tables whose snapshot load did not finish (emptied, their snapshot is taken again)", { tables: recovered });
      this.#pipeline = context.pipeline;
      return await this.#state.load(session.db, context.pipeline);
    } catch (error) {
      await this.#abandon();
      throw this.#wrap(error, "open");
    }
  }

  async prepare(schema: TableSchema, change?: PrepareChange): Promise<void> {
    const session = await this.#connected();
    const renamed = change?.renamed !== undefined && Object.keys(change.renamed).length > 0 ? change.renamed : undefined;
    let result: TableSyncResult;
    if (this.#inTransaction) {
      // DDL joins the open transaction: the target table is locked by it, another connection would wait forever
      result = await this.#inBatchSavepoint(session, () => this.#sync(session, schema, true, renamed));
      this.#retained.push(renamed === undefined ? { kind: "schema", schema } : { kind: "schema", schema, renamed });
    } else {
      try {
        await session.run("BEGIN");
        await lockSchemaDdl(session.db, this.#config.schema);
        result = await this.#sync(session, schema, true, renamed);
        await session.run("COMMIT");
      } catch (error) {
        await this.#abandon();
        throw this.#wrap(error, `prepare ${tableKey(schema.table)}`);
      }
    }
    if (result.refused.length > 0) {
      throw new ZeroEtlError(`schema change of ${tableKey(schema.table)} (version ${schema.version}) not applied: ${result.refused.join("; ")}`, {
        code: "schema-refused",
        table: tableKey(schema.table),
      });
    }
  }

  /**
   * Drops the target table and creates it from `schema`: how a table whose
   * schema change `prepare` refused comes back in a resync. A history table
   * keeps its past, so it is only prepared (and may be refused again).
   */
  async replaceTable(schema: TableSchema): Promise<void> {
    if (this.#config.isHistory(schema.table)) return this.prepare(schema);
    if (this.#inTransaction) throw new ZeroEtlError(`replaceTable of ${tableKey(schema.table)} with changes pending`, { code: "internal" });
    const session = await this.#connected();
    try {
      await session.run(this.#compile(sql`DROP TABLE IF EXISTS ${pgTableRef(this.#targetName(schema.table))}`));
    } catch (error) {
      throw this.#wrap(error, `drop ${tableKey(schema.table)}`);
    }
    this.#targets.delete(tableKey(schema.table));
    this.#config.logger.warn("target table dropped and created anew for a resync", { table: tableKey(schema.table), version: schema.version });
    await this.prepare(schema);
  }

  /**
   * Drops the target table of a source table that is gone. A history table
   * keeps its past: its current versions are closed instead (at the next
   * flush), as a re-snapshot would.
   */
  async dropTable(table: TableRef): Promise<void> {
    if (this.#config.isHistory(table)) {
      if (this.#targets.has(tableKey(table))) await this.#accept([{ kind: "history-reset", table }]);
      return;
    }
    if (this.#inTransaction) throw new ZeroEtlError(`dropTable of ${tableKey(table)} with changes pending`, { code: "internal" });
    const session = await this.#connected();
    try {
      await session.run(this.#compile(sql`DROP TABLE IF EXISTS ${pgTableRef(this.#targetName(table))}`));
    } catch (error) {
      throw this.#wrap(error, `drop ${tableKey(table)}`);
    }
    this.#targets.delete(tableKey(table));
    this.#config.logger.warn("target table dropped: its source table is gone", { table: tableKey(table) });
  }

  async resetTable(table: TableRef): Promise<void> {
    this.#target(table);
    // a history table keeps its past: a re-snapshot closes the current versions instead of removing rows
    await this.#accept([{ kind: this.#config.isHistory(table) ? "history-reset" : "truncate", table }]);
  }

  async writeSnapshot(chunk: SnapshotChunk): Promise<WriteReceipt> {
    const folder = this.#folder();
    folder.addSnapshot(chunk);
    const rejected = await this.#accept(folder.finish());
    return { accepted: chunk.rows.length - rejected.length, rejected };
  }

  acceptsCopy(schema: TableSchema, columns: readonly SnapshotCopyColumn[]): boolean {
    // a history table's rows carry version columns the source's do not
    if (this.#config.isHistory(schema.table)) return false;
    const target = this.#targets.get(tableKey(schema.table))?.target;
    return target !== undefined && acceptsBinaryCopy(target, columns);
  }

  /**
   * Loads the table by binary COPY. When the source estimates it at
   * {@link DEFER_KEY_MIN_ROWS} rows or more (or, without an estimate, cut it
   * into several parts), its primary key is set aside for the load and built
   * once afterwards (crash-safe: see `deferPrimaryKey`); a failed load
   * empties the table and puts the key back before it throws.
   */
  async copySnapshot(schema: TableSchema, copy: SnapshotCopy, options: SnapshotCopyOptions = {}): Promise<number> {
    const table = this.#targetName(schema.table);
    const { rowsEstimated, ...load } = options;
    let ddl: pg.Client | undefined;
    let deferred: DeferredKey | undefined;
    const pipeline = this.#pipeline;
    try {
      // without an estimate (a table never analyzed: tiny ones never are), a table the source cut into several ranges, or one
      // of some size read in one (one stream), is big enough; a sink not opened for a pipeline keeps the key (the record of a
      // deferred key names its pipeline, for the recovery)
      const big = rowsEstimated === undefined ? copy.parts.length > 1 || (copy.exported?.blocks ?? 0) >= DEFER_KEY_MIN_BLOCKS : rowsEstimated >= DEFER_KEY_MIN_ROWS;
      if (pipeline !== undefined && big) {
        // no statement timeout: the key's index build grows with the table
        ddl = await connectSinkClient({ ...this.#config, timeouts: { ...this.#config.timeouts, queryMs: 0 } }, "zero-etl-sink bulk load");
        deferred = await deferPrimaryKey(queryOf(ddl), table, { pipeline });
      }
      const rows = await loadBinaryCopy({ config: this.#config, table, copy, ...load });
      if (deferred !== undefined && ddl !== undefined) {
        const began = performance.now();
        await restoreDeferredKey(queryOf(ddl), deferred, { truncate: false });
        this.#config.logger.debug("primary key built after the COPY", { table: tableKey(schema.table), rows, ms: Math.round(performance.now() - began) });
        deferred = undefined;
      }
      return rows;
    } catch (error) {
      if (deferred !== undefined && ddl !== undefined) {
        // the runtime takes the table again (by rows, which need the key): never leave it keyless; failing that, the next open does it
        await restoreDeferredKey(queryOf(ddl), deferred, { truncate: true }).catch((cause: unknown) => {
          this.#config.logger.warn("could not put a deferred primary key back after a failed load; the next run does", { table: tableKey(schema.table), error: redactText(String(cause)) });
        });
      }
      // a failure of the source's read goes on as it is: the runtime tells it apart
      if (!isPgServerError(error)) throw error;
      const wrapped = this.#wrap(error, `copy into ${tableKey(schema.table)}`);
      throw new ZeroEtlError(wrapped.message, { code: wrapped.code, retryable: wrapped.retryable, cause: error, table: tableKey(schema.table) });
    } finally {
      await ddl?.end().catch(() => {});
    }
  }

  async write(batch: ChangeBatch): Promise<WriteReceipt> {
    return this.prepareWrite(batch).write();
  }

  /**
   * Folds the batch by key now (CPU only: the target tables' keys as the
   * last `prepare` left them); the statements run when the result's `write`
   * is called. The folded steps are not changed by applying them, so a
   * retried `write` applies the same steps again.
   */
  prepareWrite(batch: ChangeBatch): PreparedWrite {
    const total = batch.events.length;
    if (total === 0) return { write: async () => ({ accepted: 0, rejected: [] }) };
    const folder = this.#folder();
    folder.addEvents(batch.events);
    const steps = folder.finish();
    return {
      write: async () => {
        const rejected = await this.#accept(steps);
        return { accepted: total - new Set(rejected.map((r) => r.event)).size, rejected };
      },
    };
  }

  async flush(checkpoint: PipelineCheckpoint): Promise<void> {
    const session = await this.#transaction();
    try {
      if (this.#applier.history.hasPending) {
        if (checkpoint.position === undefined) throw new ZeroEtlError("history-mode snapshot versions need the snapshot position in the checkpoint", { code: "internal" });
        await this.#applier.history.resolvePending(session, checkpoint.position);
      }
      await this.#state.save(session.db, checkpoint);
      await session.run("COMMIT");
    } catch (error) {
      // rolled back as a whole: neither the rows nor the checkpoint; the retained steps replay on the next call
      await this.#abandon();
      throw this.#wrap(error, "flush");
    }
    this.#inTransaction = false;
    this.#retained = [];
    this.#applier.history.clearPending();
    this.#config.logger.debug("postgres sink flushed", { position: checkpoint.position, phase: checkpoint.phase });
  }

  async close(): Promise<void> {
    const staged = this.#applier.stagedTimes;
    if (staged.rows > 0 || staged.insertRows > 0) {
      this.#config.logger.info("staged apply stages", {
        rows: staged.rows,
        encodeMs: Math.round(staged.encodeMs),
        loadMs: Math.round(staged.loadMs),
        applyMs: Math.round(staged.applyMs),
        insertRows: staged.insertRows,
        insertMs: Math.round(staged.insertMs),
        insertFallbacks: staged.insertFallbacks,
      });
    }
    const session = this.#session;
    this.#session = undefined;
    this.#inTransaction = false;
    this.#retained = [];
    this.#locked = false;
    this.#applier.history.clearPending();
    if (session === undefined) return;
    // an open transaction holds nothing durable by contract: closing drops it
    await session.destroy();
  }

  describeTable(table: TableRef): PostgresTableReport | undefined {
    return this.#targets.get(tableKey(table));
  }

  targetSchema(table: TableRef): TableSchema | undefined {
    // a history table's own columns are not the source's
    if (this.#config.isHistory(table)) return undefined;
    const target = this.#targets.get(tableKey(table))?.target;
    if (target === undefined) return undefined;
    const key = new Set(target.primaryKey);
    const columns = target.columns.map((name) => {
      const type = target.types.get(name);
      return { name, type: type === undefined ? ({ kind: "string" } as const) : fromPgColumnType(type), nullable: !key.has(name) };
    });
    return { table, columns, primaryKey: target.primaryKey, version: 0 };
  }

  #folder(): ChangeFolder {
    return new ChangeFolder((table) => this.#target(table).primaryKey, this.#config.isHistory);
  }

  #target(table: TableRef): TargetTable {
    const report = this.#targets.get(tableKey(table));
    if (report === undefined) throw new ZeroEtlError(`table ${tableKey(table)} was not prepared before its rows`, { code: "internal", table: tableKey(table) });
    return report.target;
  }

  #targetName(table: TableRef): PgTableName {
    const name = this.#config.tableName(table);
    assertPgIdentifier(name, `target table name for ${tableKey(table)}`);
    return { schema: this.#config.schema, table: name };
  }

  async #sync(session: PostgresSession, schema: TableSchema, fromPrepare: boolean, renamed?: Readonly<Record<string, string>>): Promise<TableSyncResult> {
    const history = this.#config.isHistory(schema.table);
    const name = this.#targetName(schema.table);
    const result = await syncPgTable(session.db, name, history ? toHistorySchema(schema) : schema, renamed);
    if (history) {
      for (const text of compileHistoryIndexes(this.#compile, name, schema.primaryKey)) await session.run(text);
      await session.run(compileHistoryTruncatesTable(this.#compile, this.#config.schema));
    }
    // cached statements name columns by position in the target table
    this.#applier.forgetStatements();
    this.#targets.set(tableKey(schema.table), { target: result.target, keptWider: result.keptWider, refused: result.refused });
    const log = this.#config.logger;
    if (result.applied.length > 0) log.info("target table changed", { table: tableKey(schema.table), version: schema.version, changes: result.applied });
    if (result.keptWider.length > 0) log.warn("source narrowed columns; target keeps the wider type", { table: tableKey(schema.table), changes: result.keptWider });
    if (result.refused.length > 0 && !fromPrepare) log.warn("schema change not applied", { table: tableKey(schema.table), changes: result.refused });
    return result;
  }

  /** Applies steps in the open transaction and retains them; returns the records rejected. */
  async #accept(steps: ApplyStep[]): Promise<RejectedRecord[]> {
    const session = await this.#transaction();
    const rejected = await this.#applyBatch(session, steps);
    for (const step of steps) this.#retained.push(step);
    return rejected;
  }

  /** The batch runs under a savepoint so a failure rolls back this batch only, never the earlier ones. */
  async #applyBatch(session: PostgresSession, steps: readonly ApplyStep[]): Promise<RejectedRecord[]> {
    let mode: ApplyMode = "fast";
    for (;;) {
      try {
        return await this.#inBatchSavepoint(session, () => this.#applier.apply(session, steps, mode));
      } catch (error) {
        if (mode === "fast" && classifyPgError(error) === "record" && !session.broken) {
          mode = "careful";
          continue;
        }
        throw await this.#attribute(session, steps, error);
      }
    }
  }

  /**
   * Names the table whose changes cause a non-retryable failure, so the
   * runtime can set that table aside and let the others go on: with one
   * table in the batch it is that one; otherwise each table's part is tried
   * alone under a savepoint that is rolled back either way.
   */
  async #attribute(session: PostgresSession, steps: readonly ApplyStep[], error: unknown): Promise<unknown> {
    const wrapped = this.#wrap(error, "apply");
    if (wrapped.retryable || session.broken) return wrapped;
    const tables = tablesOfSteps(steps);
    let culprit = tables.length === 1 ? tables[0] : undefined;
    for (const table of culprit === undefined ? tables : []) {
      try {
        await session.run("SAVEPOINT zetl_probe");
        try {
          await this.#applier.apply(session, stepsOfTable(steps, table), "careful");
        } finally {
          await session.run("ROLLBACK TO SAVEPOINT zetl_probe");
          await session.run("RELEASE SAVEPOINT zetl_probe");
        }
      } catch (probe) {
        if (session.broken) return wrapped;
        if (classifyPgError(probe) !== "record") {
          culprit = table;
          break;
        }
      }
    }
    if (culprit === undefined) return wrapped;
    return new ZeroEtlError(wrapped.message, { code: wrapped.code, retryable: false, cause: error, table: culprit });
  }

  async #inBatchSavepoint<T>(session: PostgresSession, work: () => Promise<T>): Promise<T> {
    try {
      await session.run("SAVEPOINT zetl_batch");
    } catch (error) {
      await this.#abandon();
      throw this.#wrap(error, "savepoint");
    }
    try {
      const result = await work();
      await session.run("RELEASE SAVEPOINT zetl_batch");
      return result;
    } catch (error) {
      if (session.broken || classifyPgError(error) === "transient") {
        await this.#abandon();
        throw this.#wrap(error, "apply");
      }
      try {
        await session.run("ROLLBACK TO SAVEPOINT zetl_batch");
        await session.run("RELEASE SAVEPOINT zetl_batch");
      } catch {
        await this.#abandon();
      }
      if (classifyPgError(error) === "record") throw error;
      throw this.#wrap(error, "apply");
    }
  }

  /** The session with an open transaction; after a lost one, replays the retained steps first. */
  async #transaction(): Promise<PostgresSession> {
    const session = await this.#connected();
    if (this.#inTransaction) return session;
    try {
      await session.run("BEGIN");
    } catch (error) {
      await this.#abandon();
      throw this.#wrap(error, "begin");
    }
    this.#inTransaction = true;
    if (this.#retained.length > 0) {
      this.#config.logger.info("replaying changes of a lost transaction", { steps: this.#retained.length });
      try {
        await this.#applyBatch(session, this.#retained);
      } catch (error) {
        await this.#abandon();
        throw this.#wrap(error, "replay");
      }
    }
    return session;
  }

  async #connected(): Promise<PostgresSession> {
    if (this.#session !== undefined && !this.#session.broken) return this.#session;
    if (this.#session !== undefined) await this.#abandon();
    const session = await PostgresSession.connect(this.#config);
    if (this.#lockKey !== undefined) {
      try {
        await takeWriterLock(session, this.#lockKey, this.#config.displayTarget, this.#locked);
      } catch (error) {
        await session.destroy();
        throw this.#wrap(error, "lock");
      }
      this.#locked = true;
    }
    this.#session = session;
    return session;
  }

  /** Drops the connection (and with it the open transaction); retained steps stay for a replay. */
  async #abandon(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    this.#inTransaction = false;
    if (session !== undefined) await session.destroy();
  }

  #wrap(error: unknown, what: string): ZeroEtlError {
    if (error instanceof ZeroEtlError) return error;
    const kind = classifyPgError(error);
    return new ZeroEtlError(`postgresql target ${this.#config.displayTarget}: ${what} failed: ${redactText(describePgError(error))}`, {
      code: kind === "transient" ? "connection-failed" : "sink-failed",
      retryable: kind === "transient",
      cause: error,
    });
  }
}

/** Whether an error came from the target server (it has an SQLSTATE), not from the rows' source. */
function isPgServerError(error: unknown): boolean {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string" && typeof (error as { severity?: unknown }).severity === "string";
}
