import type {
  ChangeBatch,
  PipelineCheckpoint,
  PreflightCheck,
  PreflightOptions,
  PreflightReport,
  PrepareChange,
  RejectedRecord,
  Sink,
  SinkCapabilities,
  SinkOpenContext,
  SnapshotChunk,
  TableRef,
  TableSchema,
  WriteReceipt,
} from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import type { PartitionLayout } from "@zero-etl/mappers";
import { choosePartitionKey } from "@zero-etl/mappers";
import { DATA_API_MAX_STATEMENT_BYTES, createRedshiftDataApiRunner } from "./redshift-data-api-runner.js";
import type { RedshiftColumn } from "./redshift-ddl-compiler.js";
import { canonicalRedshiftType, compileCreateTableStatements, fitRedshiftColumn, planRedshiftColumns } from "./redshift-ddl-compiler.js";
import { RedshiftChangeFolder } from "./redshift-change-folder.js";
import { foldRedshiftIdentifier, qualifiedRedshift, quoteRedshift } from "./redshift-identifier.js";
import type { LoadTarget } from "./redshift-load-compiler.js";
import { compileCopy, compileDeleteAll, compileDeleteByKeys, compileUpsert, compileUpsertKeeping } from "./redshift-load-compiler.js";
import type { RedshiftStager } from "./redshift-s3-stager.js";
import { createRedshiftS3Stager } from "./redshift-s3-stager.js";
import type { RedshiftSinkConfig, RedshiftSinkOptions } from "./redshift-sink-config.js";
import { resolveRedshiftSinkConfig } from "./redshift-sink-config.js";
import type { RedshiftStatementRunner } from "./redshift-statement-runner.js";
import { createRedshiftWireRunner } from "./redshift-wire-runner.js";
import type { StageColumns } from "./redshift-stage-columns.js";
import type { StageColumn } from "./redshift-stage-encoder.js";
import { StageRowEncoder } from "./redshift-stage-encoder.js";
import { RedshiftStateTables } from "./redshift-state-tables.js";
import { LEASE_LOST_MARKER, RedshiftWriterLease } from "./redshift-writer-lease.js";
import { HISTORY_COLUMNS, toHistorySchema } from "../postgres/postgres-history-table.js";
import type { HistoryLoadTarget } from "./redshift-history-compiler.js";
import { CLOSE_POSITION_COLUMN, CLOSE_TIME_COLUMN, compileHistoryCloseAll, compileHistoryStep } from "./redshift-history-compiler.js";
import type { HistoryVersion } from "./redshift-history-folder.js";
import { RedshiftHistoryFolder, SNAPSHOT_POSITION } from "./redshift-history-folder.js";

/** What the sink knows of one target table after its last `prepare`. */
export interface RedshiftTableReport {
  readonly schema: string;
  readonly table: string;
  /** Every column of the target table, in its physical order, with canonical types. */
  readonly columns: readonly RedshiftColumn[];
  readonly layout: PartitionLayout | undefined;
  /** Source changes not applied because the target already holds a wider type. */
  readonly keptWider: readonly string[];
}

/** The Redshift sink: a {@link Sink} plus a read-out of each table's target shape and layout. */
export interface RedshiftSink extends Sink {
  describeTable(table: TableRef): RedshiftTableReport | undefined;
}

const CAPABILITIES: SinkCapabilities = Object.freeze({
  nestedData: "json",
  maxIdentifierLength: 127,
  upsert: true,
  // ALTER COLUMN ... TYPE cannot run in a transaction block; DDL runs on its own before the data
  transactionalDdl: false,
  checkpointsInTarget: true,
  keylessTables: false,
  renames: true,
  typeWidening: "promotions",
  // each flush stages files and runs a COPY per table: fewer, larger batches
  defaultBatch: { maxRows: 100_000, maxBytes: 256 * 1024 * 1024 },
});

interface TableModel {
  readonly report: RedshiftTableReport;
  readonly load: LoadTarget;
  readonly rows: StageRowEncoder;
  readonly keys: StageRowEncoder;
  readonly keyIndexes: readonly number[];
  /** Set for a history-mode table. */
  readonly history: HistoryModel | undefined;
  /** Column buffers of a flushed batch, reused by the table's next batch (so a steady stream allocates none). */
  spare: StageColumns | undefined;
}

/** The staging parts of a history-mode table. */
interface HistoryModel {
  readonly load: HistoryLoadTarget;
  /** The six history columns, encoded as the row cells are. */
  readonly cells: StageRowEncoder;
  /** Their positions in the row. */
  readonly indexes: readonly number[];
  /** Key columns, closing position and time (closes stage). */
  readonly closes: StageRowEncoder;
  /** Closing position and time, as the closes stage holds them. */
  readonly closeMarks: StageRowEncoder;
  /** Closing position and time (close-all stage, JSON lines). */
  readonly marks: StageRowEncoder;
}

const HISTORY_CELL_COLUMNS: readonly StageColumn[] = [
  { name: HISTORY_COLUMNS.validFrom, type: "VARCHAR(65535)", source: "from" },
  { name: HISTORY_COLUMNS.validTo, type: "VARCHAR(65535)", source: "to" },
  { name: HISTORY_COLUMNS.validFromTime, type: "TIMESTAMPTZ", source: "fromTime" },
  { name: HISTORY_COLUMNS.validToTime, type: "TIMESTAMPTZ", source: "toTime" },
  { name: HISTORY_COLUMNS.isCurrent, type: "BOOLEAN", source: "current" },
  { name: HISTORY_COLUMNS.op, type: "VARCHAR(65535)", source: "op" },
];
const MARK_COLUMNS: readonly StageColumn[] = [
  { name: CLOSE_POSITION_COLUMN, type: "VARCHAR(65535)", source: "position" },
  { name: CLOSE_TIME_COLUMN, type: "TIMESTAMPTZ", source: "time" },
];

/**
 * Creates the Redshift sink.
 *
 * `write` and `writeSnapshot` fold each table's changes into the last row per
 * key (encoded for staging at once, so a row that cannot be staged is
 * rejected in that call's receipt). `flush` writes each table's rows as a
 * Parquet file (JSON lines when a column is SUPER, TIME, TIMETZ or GEOMETRY)
 * under the staging prefix, then runs, as one transaction: per table a
 * `COPY` into a temporary table, `DELETE ... USING` of the staged keys and
 * `INSERT ... SELECT`, and the checkpoint and table states (staged and
 * copied the same way). The staged files are removed after the commit, and
 * on `open` any file a crashed run left behind is swept. DDL (`prepare`)
 * runs on its own, outside the data transaction.
 *
 * Through the Data API a transaction is one `BatchExecuteStatement` of at
 * most 40 statements; a flush that needs more is split into several, the
 * checkpoint in the last, so a crash between them replays the earlier ones
 * (idempotent: the same rows by key).
 */
export function createRedshiftSink(options: RedshiftSinkOptions): RedshiftSink {
  return new RedshiftSinkImpl(resolveRedshiftSinkConfig(options));
}

class RedshiftSinkImpl implements RedshiftSink {
  readonly kind = "redshift";
  readonly capabilities = CAPABILITIES;
  readonly #config: RedshiftSinkConfig;
  readonly #state: RedshiftStateTables;
  readonly #tables = new Map<string, TableModel>();
  /** Pending changes per table key, since the last flush. */
  #pending = new Map<string, RedshiftChangeFolder | RedshiftHistoryFolder>();
  #runner: RedshiftStatementRunner | undefined;
  #stager: RedshiftStager | undefined;
  #pipeline = "default";
  #stageCounter = 0;
  #lease: RedshiftWriterLease | undefined;

  constructor(config: RedshiftSinkConfig) {
    this.#config = config;
    this.#state = new RedshiftStateTables(config.schema);
  }

  async preflight(_options: PreflightOptions): Promise<PreflightReport> {
    const checks: PreflightCheck[] = [];
    try {
      const rows = await (await this.#connected()).query("SELECT current_user AS who, version() AS version");
      checks.push({ id: "redshift.connect", ok: true, message: `connected to ${this.#config.displayTarget} as ${rows[0]?.["who"] ?? "?"}` });
    } catch (error) {
      checks.push({
        id: "redshift.connect",
        ok: false,
        message: `cannot run a statement on ${this.#config.displayTarget}: ${error instanceof Error ? error.message : String(error)}`,
        remedy: "check the url, or the Data API target and the caller's redshift-data:* and (with secretArn) secretsmanager:GetSecretValue permissions",
      });
    }
    try {
      const stager = await this.#staging();
      const location = await stager.put(`${this.#prefix()}_preflight/probe`, new Uint8Array([0]));
      await stager.delete([location]);
      checks.push({ id: "redshift.staging", ok: true, message: `can write and delete under s3://${this.#config.staging.bucket}/${this.#prefix()}` });
    } catch (error) {
      checks.push({
        id: "redshift.staging",
        ok: false,
        message: `cannot write to the staging prefix s3://${this.#config.staging.bucket}/${this.#prefix()}: ${error instanceof Error ? error.message : String(error)}`,
        remedy: "grant s3:PutObject, s3:DeleteObject and s3:ListBucket on the staging prefix (and kms:GenerateDataKey on the staging key)",
      });
    }
    for (const [table, choice] of Object.entries(this.#config.distribution)) {
      checks.push({ id: "redshift.layout", ok: true, message: `${table}: layout chosen by the user: ${JSON.stringify(choice)}` });
    }
    return { component: "redshift sink", checks };
  }

  /**
   * Takes the pipeline's writer lease in the target schema (see
   * {@link RedshiftWriterLease}): Redshift has no session locks, so a lease
   * row with an owner and a renewal counter, renewed while the run lives and
   * checked by every flush transaction.
   */
  async lock(context: SinkOpenContext): Promise<void> {
    if (this.#lease?.held === true) return;
    this.#pipeline = context.pipeline;
    const runner = await this.#connected();
    await runner.execute(`CREATE SCHEMA IF NOT EXISTS ${quoteRedshift(this.#config.schema)}`);
    this.#lease ??= new RedshiftWriterLease(runner, {
      schema: this.#config.schema,
      pipeline: context.pipeline,
      ttlMs: this.#config.writerLeaseMs,
      displayTarget: this.#config.displayTarget,
      logger: this.#config.logger,
    });
    await this.#lease.take(context.signal);
  }

  async open(context: SinkOpenContext): Promise<PipelineCheckpoint | undefined> {
    this.#pipeline = context.pipeline;
    const runner = await this.#connected();
    await runner.execute(`CREATE SCHEMA IF NOT EXISTS ${quoteRedshift(this.#config.schema)}`);
    await this.#state.ensure(runner);
    await this.#sweep();
    return this.#state.load(runner, context.pipeline);
  }

  async prepare(sourceSchema: TableSchema, change?: PrepareChange): Promise<void> {
    const key = tableKey(sourceSchema.table);
    if (sourceSchema.primaryKey.length === 0) {
      throw new ZeroEtlError(`table ${key} has no primary key; the Redshift sink applies changes by key`, { code: "schema-unsupported", table: key });
    }
    const history = this.#config.isHistory(sourceSchema.table);
    // a history table: the source columns, the six validity columns, keyed by the source key and _zeroetl_valid_from
    const schema = history ? toHistorySchema(sourceSchema) : sourceSchema;
    const runner = await this.#connected();
    const target = this.#targetName(schema.table);
    const plans = planRedshiftColumns(schema);
    let existing = await this.#introspect(runner, target);
    if (existing.length > 0 && history !== existing.some((c) => c.name === HISTORY_COLUMNS.validFrom)) {
      throw new ZeroEtlError(
        history
          ? `table ${key}: the target table ${target.table} holds the latest state; it cannot be switched to history mode in place (its key differs)`
          : `table ${key}: the target table ${target.table} is a history table; it cannot hold the latest state`,
        { code: "schema-refused", table: key },
      );
    }
    const keptWider: string[] = [];
    const refused: string[] = [];
    let layout: PartitionLayout | undefined;
    if (existing.length === 0) {
      layout = choosePartitionKey({ schema, target: "redshift", custom: this.#config.distribution[key] });
      const keyNames = schema.primaryKey.map(foldRedshiftIdentifier);
      // a very wide table's CREATE TABLE would pass the Data API's 100 KB: the rest of its columns are added one by one
      for (const statement of compileCreateTableStatements(target, plans, keyNames, layout, DATA_API_MAX_STATEMENT_BYTES)) await runner.execute(statement);
      this.#config.logger.info("target table created", { table: key, layout: layout.target === "redshift" ? layout.reason : undefined });
    } else {
      layout = this.#tables.get(key)?.report.layout;
      const alter = `ALTER TABLE ${qualifiedRedshift(target.schema, target.table)}`;
      for (const [to, from] of Object.entries(change?.renamed ?? {})) {
        const a = foldRedshiftIdentifier(from);
        const b = foldRedshiftIdentifier(to);
        if (a === b || !existing.some((c) => c.name === a)) continue;
        if (!existing.some((c) => c.name === b)) {
          await runner.execute(`${alter} RENAME COLUMN ${quoteRedshift(a)} TO ${quoteRedshift(b)}`);
          continue;
        }
        // both names there: a run's startup schema, read after the rename, prepared the table with the new
        // name as an added (empty) column while the stream still replays the rename (a run started just
        // before the ALTER, or restarted after a kill): the existing rows' values are under the old name.
        // Fill the new column from it where it is empty; the events after the rename are applied again by
        // key after this, so a row written under the new name since is set by its replay
        await runner.execute(`UPDATE ${qualifiedRedshift(target.schema, target.table)} SET ${quoteRedshift(b)} = ${quoteRedshift(a)} WHERE ${quoteRedshift(b)} IS NULL`);
        this.#config.logger.info("renamed column filled from its old name (the table was prepared with the new name first)", { table: key, from: a, to: b });
      }
      existing = await this.#introspect(runner, target);
      const pinned = new Set([...schema.primaryKey.map(foldRedshiftIdentifier), ...pinnedColumns(layout)]);
      for (const plan of plans) {
        const found = existing.find((c) => c.name === plan.name);
        if (found === undefined) {
          await runner.execute(`${alter} ADD COLUMN ${quoteRedshift(plan.name)} ${plan.type}`);
          continue;
        }
        const fit = fitRedshiftColumn(found.type, plan.type);
        if (fit === "grow-varchar" && pinned.has(plan.name)) {
          refused.push(`${plan.name}: Redshift cannot alter the type of a key, distribution or sort key column (${found.type} to ${plan.type})`);
          continue;
        }
        switch (fit) {
          case "grow-varchar":
            await runner.execute(`${alter} ALTER COLUMN ${quoteRedshift(plan.name)} TYPE ${plan.type}`);
            break;
          case "kept-wider":
            keptWider.push(`${plan.name}: target keeps ${found.type} for ${plan.type}`);
            break;
          case "refused":
            refused.push(`${plan.name}: Redshift cannot change ${found.type} to ${plan.type} in place`);
            break;
          default:
            break;
        }
      }
    }
    existing = await this.#introspect(runner, target);
    this.#remember(schema, sourceSchema.primaryKey, history, target, existing, layout, keptWider);
    if (refused.length > 0) {
      throw new ZeroEtlError(`schema change of ${key} (version ${schema.version}) not applied: ${refused.join("; ")}`, { code: "schema-refused", table: key });
    }
  }

  /** Drops the target table and creates it from `schema` (a resync). A history table keeps its past: it is only prepared. */
  async replaceTable(schema: TableSchema): Promise<void> {
    if (this.#config.isHistory(schema.table)) return this.prepare(schema);
    this.#assertNoPending("replaceTable", schema.table);
    const target = this.#targetName(schema.table);
    await (await this.#connected()).execute(`DROP TABLE IF EXISTS ${qualifiedRedshift(target.schema, target.table)}`);
    this.#tables.delete(tableKey(schema.table));
    this.#config.logger.warn("target table dropped and created anew for a resync", { table: tableKey(schema.table), version: schema.version });
    await this.prepare(schema);
  }

  /** Drops the target table of a source table that is gone. A history table keeps its past: its current versions are closed at the next flush. */
  async dropTable(table: TableRef): Promise<void> {
    if (this.#config.isHistory(table)) {
      if (this.#tables.has(tableKey(table))) this.#historyFolder(table).closeAll(SNAPSHOT_POSITION, new Date().toISOString());
      return;
    }
    this.#assertNoPending("dropTable", table);
    const target = this.#targetName(table);
    this.#tables.delete(tableKey(table));
    // a table moved to another included schema keeps its name, and so its target table: when the
    // moved table was prepared first (the move happened while the pipeline was stopped), the target
    // table is already the new one's, and dropping it for the old name would lose its rows
    const owner = [...this.#tables.entries()].find(([, other]) => other.load.schema === target.schema && other.load.table === target.table);
    if (owner !== undefined) {
      this.#config.logger.info("target table kept: another source table now writes it", { table: tableKey(table), now: owner[0] });
      return;
    }
    await (await this.#connected()).execute(`DROP TABLE IF EXISTS ${qualifiedRedshift(target.schema, target.table)}`);
    this.#config.logger.warn("target table dropped: its source table is gone", { table: tableKey(table) });
  }

  async resetTable(table: TableRef): Promise<void> {
    const model = this.#model(table);
    // a history table keeps its past: a re-snapshot closes the current versions at the snapshot position
    if (model.history !== undefined) this.#historyFolder(table).closeAll(SNAPSHOT_POSITION, new Date().toISOString());
    else this.#folder(table).add({ op: "truncate", table, position: "" }, []);
  }

  async writeSnapshot(chunk: SnapshotChunk): Promise<WriteReceipt> {
    const rejected: RejectedRecord[] = [];
    this.#anyFolder(chunk.table).addSnapshot(chunk, rejected);
    return { accepted: chunk.rows.length - rejected.length, rejected };
  }

  async write(batch: ChangeBatch): Promise<WriteReceipt> {
    const rejected: RejectedRecord[] = [];
    for (const event of batch.events) {
      if (event.op === "schema") continue;
      this.#anyFolder(event.table).add(event, rejected);
    }
    return { accepted: batch.events.length - rejected.length, rejected };
  }

  async flush(checkpoint: PipelineCheckpoint): Promise<void> {
    const lease = this.#lease;
    if (lease === undefined) return this.#flush(checkpoint, []);
    // the flush renews the lease itself, first thing in each transaction
    return lease.exclusive(() => this.#flush(checkpoint, lease.fence()));
  }

  async #flush(checkpoint: PipelineCheckpoint, fence: readonly string[]): Promise<void> {
    const pending = this.#pending;
    this.#pending = new Map();
    const staged: string[] = [];
    try {
      const runner = await this.#connected();
      const stager = await this.#staging();
      const flushId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const base = `${this.#prefix()}${flushId}/`;
      const groups: string[][] = [];
      const put = async (name: string, bytes: Uint8Array): Promise<string> => {
        const location = await stager.put(`${base}${name}`, bytes);
        staged.push(location);
        return location;
      };
      for (const [key, folder] of pending) {
        const model = this.#tables.get(key);
        if (model === undefined) throw new ZeroEtlError(`table ${key} has changes but was not prepared`, { code: "internal", table: key });
        if (folder instanceof RedshiftHistoryFolder) {
          groups.push(...(await this.#historyGroups(key, model, folder, checkpoint, put)));
          continue;
        }
        for (const segment of folder.segments) {
          if (segment.kind === "truncate") {
            groups.push([compileDeleteAll(model.load)]);
            continue;
          }
          const n = ++this.#stageCounter;
          const ext = model.rows.format === "parquet" ? "parquet" : "jsonl";
          if (segment.deletes.size > 0) {
            const location = await put(`${n}-delete.${ext}`, model.keys.file(segment.deletes.values()));
            groups.push(compileDeleteByKeys(model.load, `zetl_d_${n}`, { location, iamRole: this.#config.staging.iamRole, format: model.keys.format }));
          }
          const partialGroups = new Map<string, { keep: readonly number[]; rows: number[] }>();
          for (const partial of segment.partial.values()) {
            const id = partial.keep.join(",");
            let group = partialGroups.get(id);
            if (group === undefined) partialGroups.set(id, (group = { keep: partial.keep, rows: [] }));
            group.rows.push(partial.row);
          }
          let p = 0;
          for (const group of partialGroups.values()) {
            const location = await put(`${n}-keep${p++}.${ext}`, folder.batch.file(Int32Array.from(group.rows)));
            const keep = group.keep.map((i) => model.rows.columns[i]?.name ?? "");
            groups.push(compileUpsertKeeping(model.load, `zetl_p_${n}_${p}`, { location, iamRole: this.#config.staging.iamRole, format: model.rows.format }, keep));
          }
          if (segment.upserts.size > 0) {
            const location = await put(`${n}-upsert.${ext}`, folder.batch.file(Int32Array.from(segment.upserts.values())));
            groups.push(compileUpsert(model.load, `zetl_u_${n}`, { location, iamRole: this.#config.staging.iamRole, format: model.rows.format }));
          }
        }
        // every file of the batch is built: its buffers can take the table's next batch
        model.spare = folder.batch;
      }
      const state: string[] = [];
      for (const file of this.#state.stage(checkpoint)) {
        const n = ++this.#stageCounter;
        const stage = `zetl_s_${n}`;
        const location = await put(`${n}-${file.table}.jsonl`, file.bytes);
        state.push(`CREATE TEMP TABLE "${stage}" (LIKE ${qualifiedRedshift(this.#config.schema, file.table)})`);
        state.push(compileCopy(stage, { location, iamRole: this.#config.staging.iamRole, format: "json" }));
        state.push(...this.#state.replace(file.table, stage));
      }
      groups.push(state);
      for (const batch of packGroups(groups, (runner.maxTransactionStatements ?? Number.POSITIVE_INFINITY) - fence.length)) {
        await runner.transaction([...fence, ...batch]);
      }
    } catch (error) {
      await this.#removeStaged(staged);
      if (error instanceof Error && error.message.includes(LEASE_LOST_MARKER)) {
        throw new ZeroEtlError(`pipeline ${this.#pipeline}: its writer lease in target ${this.#config.displayTarget} was taken over by another run; nothing of this flush was written`, {
          code: "pipeline-locked",
          cause: error,
        });
      }
      throw error instanceof ZeroEtlError ? error : new ZeroEtlError(`redshift target ${this.#config.displayTarget}: flush failed`, { code: "sink-failed", retryable: true, cause: error });
    }
    await this.#removeStaged(staged);
    this.#config.logger.debug("redshift sink flushed", { position: checkpoint.position, phase: checkpoint.phase, files: staged.length });
  }

  async close(): Promise<void> {
    this.#pending = new Map();
    await this.#lease?.release();
    this.#lease = undefined;
    const runner = this.#runner;
    this.#runner = undefined;
    this.#stager?.close();
    this.#stager = undefined;
    if (runner !== undefined) await runner.close();
  }

  describeTable(table: TableRef): RedshiftTableReport | undefined {
    return this.#tables.get(tableKey(table))?.report;
  }

  /**
   * The statement groups of a history table's steps. Snapshot versions (and
   * a re-snapshot's closes) get the checkpoint's position, the snapshot's,
   * here; every value is staged, none goes into SQL.
   */
  async #historyGroups(key: string, model: TableModel, folder: RedshiftHistoryFolder, checkpoint: PipelineCheckpoint, put: (name: string, bytes: Uint8Array) => Promise<string>): Promise<string[][]> {
    const history = model.history;
    if (history === undefined) throw new ZeroEtlError(`table ${key} is not a history table`, { code: "internal", table: key });
    const resolve = (position: string): string => {
      if (position !== SNAPSHOT_POSITION) return position;
      if (checkpoint.position === undefined) throw new ZeroEtlError("history-mode snapshot versions need the snapshot position in the checkpoint", { code: "internal", table: key });
      return checkpoint.position;
    };
    const iamRole = this.#config.staging.iamRole;
    const format = model.rows.format;
    const ext = format === "parquet" ? "parquet" : "jsonl";
    const encode = (encoder: StageRowEncoder, row: Record<string, unknown>): unknown[] => {
      const cells = encoder.encode(row as never);
      if (typeof cells === "string") throw new ZeroEtlError(`table ${key}: history bookkeeping cannot be staged: ${cells}`, { code: "internal", table: key });
      return cells;
    };
    const groups: string[][] = [];
    for (const step of folder.steps) {
      const n = ++this.#stageCounter;
      if (step.kind === "close-all") {
        const mark = encode(history.marks, { position: resolve(step.position), time: step.time });
        const location = await put(`${n}-close-all.jsonl`, history.marks.file([mark]));
        groups.push(compileHistoryCloseAll(history.load, `zetl_m_${n}`, { location, iamRole, format: history.marks.format }));
        continue;
      }
      const complete: unknown[][] = [];
      const partial = new Map<string, { keep: readonly number[]; rows: unknown[][] }>();
      for (const version of step.versions) {
        if (version.dropped) continue;
        const cells = this.#versionCells(version, history, resolve, encode);
        if (version.keep.length === 0) {
          complete.push(cells);
          continue;
        }
        const id = version.keep.join(",");
        let group = partial.get(id);
        if (group === undefined) partial.set(id, (group = { keep: version.keep, rows: [] }));
        group.rows.push(cells);
      }
      const files: { versions?: { location: string; iamRole: string; format: typeof format }; closes?: { location: string; iamRole: string; format: typeof format }; partial: { source: { location: string; iamRole: string; format: typeof format }; keep: string[] }[] } = { partial: [] };
      if (complete.length > 0) files.versions = { location: await put(`${n}-versions.${ext}`, model.rows.file(complete)), iamRole, format };
      if (step.closes.size > 0) {
        const rows: unknown[][] = [];
        for (const close of step.closes.values()) {
          const mark = encode(history.closeMarks, { position: resolve(close.position), time: close.time });
          rows.push([...close.keyCells, ...mark]);
        }
        files.closes = { location: await put(`${n}-closes.${ext}`, history.closes.file(rows)), iamRole, format: history.closes.format };
      }
      let p = 0;
      for (const group of partial.values()) {
        const location = await put(`${n}-partial${p++}.${ext}`, model.rows.file(group.rows));
        files.partial.push({ source: { location, iamRole, format }, keep: group.keep.map((i) => model.rows.columns[i]?.name ?? "") });
      }
      groups.push(compileHistoryStep(history.load, `zetl_h_${n}`, files));
    }
    return groups;
  }

  /** A version's row cells with its six history cells filled in. */
  #versionCells(version: HistoryVersion, history: HistoryModel, resolve: (position: string) => string, encode: (encoder: StageRowEncoder, row: Record<string, unknown>) => unknown[]): unknown[] {
    const to = version.to === null ? null : resolve(version.to);
    const cells = encode(history.cells, { from: resolve(version.from), to, fromTime: version.fromTime, toTime: version.toTime, current: to === null, op: version.op });
    const out = version.cells;
    for (let i = 0; i < cells.length; i++) out[history.indexes[i] ?? -1] = cells[i];
    return out;
  }

  #anyFolder(table: TableRef): RedshiftChangeFolder | RedshiftHistoryFolder {
    return this.#model(table).history === undefined ? this.#folder(table) : this.#historyFolder(table);
  }

  #historyFolder(table: TableRef): RedshiftHistoryFolder {
    const key = tableKey(table);
    const folder = this.#pending.get(key);
    if (folder instanceof RedshiftHistoryFolder) return folder;
    const model = this.#model(table);
    const created = new RedshiftHistoryFolder({ rows: model.rows, keys: model.keys, keyIndexes: model.keyIndexes });
    this.#pending.set(key, created);
    return created;
  }

  #folder(table: TableRef): RedshiftChangeFolder {
    const key = tableKey(table);
    const found = this.#pending.get(key);
    if (found instanceof RedshiftChangeFolder) return found;
    const model = this.#model(table);
    const folder = new RedshiftChangeFolder({ rows: model.rows, keys: model.keys, keyIndexes: model.keyIndexes, spare: model.spare });
    model.spare = undefined;
    this.#pending.set(key, folder);
    return folder;
  }

  #model(table: TableRef): TableModel {
    const model = this.#tables.get(tableKey(table));
    if (model === undefined) throw new ZeroEtlError(`table ${tableKey(table)} was not prepared before its rows`, { code: "internal", table: tableKey(table) });
    return model;
  }

  #remember(
    schema: TableSchema,
    sourceKey: readonly string[],
    history: boolean,
    target: { schema: string; table: string },
    columns: readonly RedshiftColumn[],
    layout: PartitionLayout | undefined,
    keptWider: string[],
  ): void {
    const bySource = new Map(schema.columns.map((c) => [foldRedshiftIdentifier(c.name), c.name]));
    const stageColumns: StageColumn[] = columns.map((c) => {
      const source = bySource.get(c.name);
      return source === undefined ? c : { ...c, source };
    });
    const keyNames = sourceKey.map(foldRedshiftIdentifier);
    const keyIndexes = keyNames.map((name) => stageColumns.findIndex((c) => c.name === name));
    if (keyIndexes.some((i) => i < 0)) throw new ZeroEtlError(`table ${tableKey(schema.table)}: a key column is missing from the target table`, { code: "schema-refused", table: tableKey(schema.table) });
    const rows = new StageRowEncoder(stageColumns);
    const keyColumns = keyIndexes.map((i) => stageColumns[i] as StageColumn);
    // the key cells must be encoded as the row cells are, to compare as text
    const keys = new StageRowEncoder(keyColumns, rows.format);
    const keyLoad = keyColumns.map((c) => ({ name: c.name, type: c.type }));
    let historyModel: HistoryModel | undefined;
    if (history) {
      const indexes = HISTORY_CELL_COLUMNS.map((h) => stageColumns.findIndex((c) => c.name === h.name));
      if (indexes.some((i) => i < 0)) throw new ZeroEtlError(`table ${tableKey(schema.table)}: a history column is missing from the target table`, { code: "schema-refused", table: tableKey(schema.table) });
      historyModel = {
        load: { schema: target.schema, table: target.table, key: keyLoad },
        cells: new StageRowEncoder(HISTORY_CELL_COLUMNS, rows.format),
        indexes,
        closes: new StageRowEncoder([...keyColumns, ...MARK_COLUMNS], rows.format),
        closeMarks: new StageRowEncoder(MARK_COLUMNS, rows.format),
        marks: new StageRowEncoder(MARK_COLUMNS, "json"),
      };
    }
    this.#tables.set(tableKey(schema.table), {
      report: Object.freeze({ schema: target.schema, table: target.table, columns, layout, keptWider }),
      load: { schema: target.schema, table: target.table, key: keyLoad },
      rows,
      keys,
      keyIndexes,
      history: historyModel,
      spare: undefined,
    });
  }

  async #introspect(runner: RedshiftStatementRunner, target: { schema: string; table: string }): Promise<RedshiftColumn[]> {
    const rows = await runner.query(
      "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position",
      { schema: target.schema, table: target.table },
    );
    const num = (text: string | null | undefined): number | undefined => (text === null || text === undefined ? undefined : Number(text));
    return rows.map((r) => ({
      name: r["column_name"] ?? "",
      type: canonicalRedshiftType({ dataType: r["data_type"] ?? "", length: num(r["character_maximum_length"]), precision: num(r["numeric_precision"]), scale: num(r["numeric_scale"]) }),
    }));
  }

  #targetName(table: TableRef): { schema: string; table: string } {
    return { schema: this.#config.schema, table: foldRedshiftIdentifier(this.#config.tableName(table)) };
  }

  #assertNoPending(what: string, table: TableRef): void {
    if (this.#pending.has(tableKey(table))) throw new ZeroEtlError(`${what} of ${tableKey(table)} with changes pending`, { code: "internal" });
  }

  #prefix(): string {
    const p = this.#config.staging.prefix;
    return `${p === "" ? "" : `${p}/`}${this.#pipeline}/`;
  }

  /** Removes what a crashed run staged and never removed (a pipeline has one writer, so nothing under its prefix is in flight). */
  async #sweep(): Promise<void> {
    const stager = await this.#staging();
    const orphans = await stager.list(this.#prefix());
    if (orphans.length === 0) return;
    await stager.delete(orphans);
    this.#config.logger.info("removed staged files a previous run left behind", { files: orphans.length });
  }

  async #removeStaged(locations: readonly string[]): Promise<void> {
    if (locations.length === 0) return;
    try {
      await (await this.#staging()).delete(locations);
    } catch (error) {
      // harmless: the next open sweeps them
      this.#config.logger.warn("staged files not removed", { files: locations.length, error: error instanceof Error ? error.message : String(error) });
    }
  }

  async #connected(): Promise<RedshiftStatementRunner> {
    if (this.#runner !== undefined) return this.#runner;
    const config = this.#config;
    if (config.statementRunner !== undefined) this.#runner = await config.statementRunner(config);
    else if (config.dataApi !== undefined) this.#runner = createRedshiftDataApiRunner(config.dataApi);
    else this.#runner = createRedshiftWireRunner({ url: config.url ?? "" });
    return this.#runner;
  }

  async #staging(): Promise<RedshiftStager> {
    this.#stager ??= await createRedshiftS3Stager(this.#config.staging);
    return this.#stager;
  }
}

/** Distribution and sort key columns of a layout (folded), which Redshift does not alter. */
function pinnedColumns(layout: PartitionLayout | undefined): string[] {
  if (layout === undefined || layout.target !== "redshift") return [];
  return [...(layout.distKey === undefined ? [] : [layout.distKey]), ...layout.sortKey].map(foldRedshiftIdentifier);
}

/** Packs statement groups (each must stay in one transaction) into batches of at most `max` statements, in order. */
export function packGroups(groups: readonly (readonly string[])[], max: number): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  for (const group of groups) {
    if (group.length === 0) continue;
    if (current.length > 0 && current.length + group.length > max) {
      batches.push(current);
      current = [];
    }
    current.push(...group);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
