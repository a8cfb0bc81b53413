import type { ChangeEvent, InsertEvent, RejectedRecord, Row, RowChangeEvent, TableRef, TableSchema } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";
import type { ApplyStep, KeylessOp, PendingRow, TableFold } from "./postgres-change-folder.js";
import type { PgSqlCompiler } from "./postgres-dml-compiler.js";
import {
  compileDeleteByAnyKey,
  compileDeleteMatching,
  compileDeleteByTupleHead,
  compileKeyMove,
  compileKeylessDelete,
  compileKeylessUpdate,
  compileTruncate,
  compileUnnestPartialUpsert,
  compileUnnestUpsert,
  compileUpsertParts,
  needsTextMatch,
  valuesPlaceholders,
} from "./postgres-dml-compiler.js";
import { classifyPgError, describePgError } from "./postgres-error-classifier.js";
import type { PostgresSession } from "./postgres-session.js";
import type { TargetTable } from "./postgres-table-syncer.js";
import { toPgParameter, type PgParameterEncoder } from "./postgres-value-encoder.js";
import type { GuardedRunner } from "./postgres-history-applier.js";
import { HistoryApplier } from "./postgres-history-applier.js";
import { STAGED_MIN_ROWS, StagedApply } from "./postgres-staged-apply.js";

/** PostgreSQL's limit on bind parameters per statement. */
const MAX_PARAMETERS = 65_535;
/** Rows per multi-row VALUES statement (composite-key deletes); beyond this, planning a longer list stops paying off. */
const MAX_ROWS_PER_STATEMENT = 1_000;
/** Rows per array-parameter statement: bounds the size of one message and of one row-by-row retry. */
const ROWS_PER_ARRAY_STATEMENT = 5_000;
/** Rows per staging table load: bounds the COPY text held in memory at once. */
const ROWS_PER_STAGE = 50_000;
const FULL_ROW = "*";

/** What the applier needs from the sink. */
export interface ChangeApplierContext {
  readonly compile: PgSqlCompiler;
  /** The prepared target table of a source table; throws when it was never prepared. */
  target(table: TableRef): TargetTable;
  /** Brings a target table to a schema inside the current transaction (a schema-change barrier). */
  sync(schema: TableSchema, renamed?: Readonly<Record<string, string>>): Promise<void>;
  /** The target schema, where the history-mode bookkeeping table lives. */
  readonly schema: string;
}

/** How a batch is applied: `fast` runs multi-row statements; `careful` also isolates failing rows with savepoints. */
export type ApplyMode = "fast" | "careful";

interface UpsertGroup {
  /** {@link rowSignature} of the rows. */
  readonly signature: string;
  readonly columns: readonly string[];
  readonly rows: PendingRow[];
  /** Every row is new at the source in this batch: it may go the insert fast path. */
  readonly inserts: boolean;
}

/**
 * Applies {@link ApplyStep}s inside the session's open transaction: per fold
 * and table, deletes by key (`= ANY($1)` or tuple `IN`), then multi-row
 * upserts grouped by the set of columns present, chunked under the 65535
 * parameter limit; keyless tables change one row at a time by before image;
 * barriers run in order. In `careful` mode each statement runs under a
 * savepoint and, when it fails for a record's fault, its rows are retried one
 * by one and the failing ones are returned as rejected.
 */
export class ChangeApplier {
  readonly #context: ChangeApplierContext;
  readonly #texts = new Map<string, string>();
  /** Applies history-mode tables' events and snapshot versions. */
  readonly history: HistoryApplier;
  readonly #staged: StagedApply;

  constructor(context: ChangeApplierContext) {
    this.#context = context;
    this.history = new HistoryApplier(context.compile, context.schema);
    this.#staged = new StagedApply(context.compile);
  }

  /** Where the staged (COPY) path's time went so far. */
  get stagedTimes(): Readonly<StagedApply["times"]> {
    return this.#staged.times;
  }

  /** Forgets cached statement texts; call whenever a target table's columns may have changed. */
  forgetStatements(): void {
    this.#texts.clear();
    this.history.forgetStatements();
    this.#staged.forgetStatements();
  }

  /** Applies the steps in order and returns the records rejected (always none in `fast` mode: it throws instead). */
  async apply(session: PostgresSession, steps: readonly ApplyStep[], mode: ApplyMode): Promise<RejectedRecord[]> {
    const rejected: RejectedRecord[] = [];
    for (const step of steps) {
      switch (step.kind) {
        case "fold":
          for (const fold of step.tables.values()) await this.#applyFold(session, fold, mode, rejected);
          break;
        case "truncate":
          await session.run(this.#text(`truncate\u0000${tableKey(step.table)}`, () => compileTruncate(this.#context.compile, this.#context.target(step.table).name)));
          break;
        case "schema":
          await this.#context.sync(step.schema, step.renamed);
          break;
        case "move":
          await this.#guarded(session, mode, [step.event], (events) => this.#move(session, events[0] as RowChangeEvent & { op: "update" }), (event, reason) => rejected.push({ event, reason }));
          break;
        case "history-reset":
          await this.history.reset(session, step.table, this.#context.target(step.table));
          break;
        case "delete-matching": {
          const target = this.#context.target(step.table);
          const columns = Object.keys(step.event.key).filter((c) => target.columns.includes(c));
          const text = this.#text(`delete-matching\u0000${target.name.schema}\u0000${target.name.table}\u0000${columns.join("\u0001")}`, () =>
            compileDeleteMatching(this.#context.compile, target.name, columns),
          );
          await this.#guarded(session, mode, [step.event], () => session.run(text, columns.map((c) => encoderOf(target, c)(step.event.key[c]))), (event, reason) => rejected.push({ event, reason }));
          break;
        }
      }
    }
    return rejected;
  }

  async #applyFold(session: PostgresSession, fold: TableFold, mode: ApplyMode, rejected: RejectedRecord[]): Promise<void> {
    const target = this.#context.target(fold.table);
    if (fold.history.length > 0 || fold.versions.length > 0) {
      const guarded: GuardedRunner = (items, exec, reject) => this.#guarded(session, mode, items, exec, reject);
      await this.history.applyFold(session, fold, target, guarded, (event, reason) => rejected.push({ event, reason }));
    }
    const reject = (entry: PendingRow, reason: string) => {
      for (const event of originEvents(entry, fold.table)) rejected.push({ event, reason });
    };
    if (fold.keyed.size > 0) {
      const deletes: PendingRow[] = [];
      const groups = new Map<string, UpsertGroup>();
      for (const entry of fold.keyed.values()) {
        if (entry.op === "delete") {
          deletes.push(entry);
          continue;
        }
        const signature = rowSignature(entry.row, target, fold.table);
        const inserts = isInsertion(entry.origin);
        const groupKey = inserts ? `+${signature}` : signature;
        let group = groups.get(groupKey);
        if (group === undefined) {
          group = { signature, columns: signature === FULL_ROW ? target.columns : target.columns.filter((c) => entry.row[c] !== undefined), rows: [], inserts };
          groups.set(groupKey, group);
        }
        group.rows.push(entry);
      }
      if (deletes.length > 0) await this.#deleteByKey(session, target, deletes, mode, reject);
      for (const group of groups.values()) await this.#upsert(session, target, group, mode, reject);
    }
    if (fold.keyless.length > 0) await this.#applyKeyless(session, fold, target, mode, rejected);
  }

  async #upsert(session: PostgresSession, target: TargetTable, group: UpsertGroup, mode: ApplyMode, reject: (entry: PendingRow, reason: string) => void): Promise<void> {
    const { columns, signature } = group;
    if (mode === "fast" && group.rows.length >= STAGED_MIN_ROWS && (await this.#staged.available(session))) {
      // set-based: COPY into a staging table, one statement; a record's fault fails it, and careful mode takes the rows one by one
      for (let start = 0; start < group.rows.length; start += ROWS_PER_STAGE) {
        const rows = start === 0 && group.rows.length <= ROWS_PER_STAGE ? group.rows : group.rows.slice(start, start + ROWS_PER_STAGE);
        // rows new at the source: COPY straight into the table, which falls back to the staged upsert when a key is there already
        if (group.inserts) await this.#staged.insert(session, target, signature, columns, signature === FULL_ROW, rows);
        else await this.#staged.upsert(session, target, signature, columns, signature === FULL_ROW, rows);
      }
      return;
    }
    const text = this.#text(`upsert\u0000${target.name.schema}\u0000${target.name.table}\u0000${signature}`, () =>
      (signature === FULL_ROW ? compileUnnestUpsert : compileUnnestPartialUpsert)(this.#context.compile, {
        table: target.name,
        columns,
        arrayTypes: columns.map((c) => target.baseTypes.get(c) ?? "text"),
        primaryKey: target.primaryKey,
      }),
    );
    const width = columns.length;
    const encoders = columns.map((c) => encoderOf(target, c));
    const exec = (rows: readonly PendingRow[]) => {
      const arrays: unknown[][] = [];
      for (let c = 0; c < width; c++) arrays.push(new Array<unknown>(rows.length));
      for (let r = 0; r < rows.length; r++) {
        const row = (rows[r] as PendingRow).row;
        for (let c = 0; c < width; c++) (arrays[c] as unknown[])[r] = (encoders[c] as PgParameterEncoder)(row[columns[c] as string]);
      }
      return session.run(text, arrays);
    };
    await this.#chunked(session, mode, group.rows, ROWS_PER_ARRAY_STATEMENT, exec, reject);
  }

  async #deleteByKey(session: PostgresSession, target: TargetTable, deletes: readonly PendingRow[], mode: ApplyMode, reject: (entry: PendingRow, reason: string) => void): Promise<void> {
    const pk = target.primaryKey;
    if (mode === "fast" && deletes.length >= STAGED_MIN_ROWS && (await this.#staged.available(session))) {
      for (let start = 0; start < deletes.length; start += ROWS_PER_STAGE) await this.#staged.deleteKeys(session, target, deletes.slice(start, start + ROWS_PER_STAGE));
      return;
    }
    if (pk.length === 1) {
      const column = pk[0] as string;
      const text = this.#text(`delete-any\u0000${target.name.schema}\u0000${target.name.table}`, () => compileDeleteByAnyKey(this.#context.compile, target.name, column));
      const encode = encoderOf(target, column);
      const exec = (rows: readonly PendingRow[]) => session.run(text, [rows.map((r) => encode(r.row[column]))]);
      await this.#chunked(session, mode, deletes, 10_000, exec, reject);
      return;
    }
    const head = this.#text(`delete-tuple\u0000${target.name.schema}\u0000${target.name.table}`, () => compileDeleteByTupleHead(this.#context.compile, target.name, pk));
    const exec = (rows: readonly PendingRow[]) => {
      const params: unknown[] = [];
      for (const r of rows) for (const k of pk) params.push(encoderOf(target, k)(r.row[k]));
      return session.run(`${head}${valuesPlaceholders(rows.length, pk.length)})`, params);
    };
    await this.#chunked(session, mode, deletes, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_PARAMETERS / pk.length)), exec, reject);
  }

  async #applyKeyless(session: PostgresSession, fold: TableFold, target: TargetTable, mode: ApplyMode, rejected: RejectedRecord[]): Promise<void> {
    const ops = fold.keyless;
    let i = 0;
    while (i < ops.length) {
      const op = ops[i] as KeylessOp;
      if (op.op === "insert") {
        // a run of inserts with the same columns goes in multi-row statements
        const signature = rowSignature(op.row, target, fold.table);
        const run: PendingRow[] = [];
        while (i < ops.length) {
          const next = ops[i] as KeylessOp;
          if (next.op !== "insert" || rowSignature(next.row, target, fold.table) !== signature) break;
          run.push({ op: "upsert", row: next.row, origin: next.origin });
          i++;
        }
        const columns = signature === FULL_ROW ? target.columns : target.columns.filter((c) => op.row[c] !== undefined);
        // a keyless table has no conflict to check: its inserts are plain inserts whichever path they take
        await this.#upsert(session, target, { signature, columns, rows: run, inserts: true }, mode, (entry, reason) => {
          for (const event of originEvents(entry, fold.table)) rejected.push({ event, reason });
        });
        continue;
      }
      i++;
      const event = op.event;
      if (event.before === undefined) {
        rejected.push({ event, reason: `table ${tableKey(fold.table)} has no primary key and the ${event.op} carries no before image (set REPLICA IDENTITY FULL at the source)` });
        continue;
      }
      const before = event.before;
      await this.#guarded(session, mode, [event], () => this.#keylessChange(session, target, event, before), (e, reason) => rejected.push({ event: e, reason }));
    }
  }

  async #keylessChange(session: PostgresSession, target: TargetTable, event: RowChangeEvent, before: Row): Promise<number> {
    const match = target.columns.filter((c) => before[c] !== undefined);
    const matchValues = match.map((c) => encoderOf(target, c)(before[c]));
    const textMatch = new Map<string, string>();
    for (const c of match) {
      const type = target.baseTypes.get(c);
      if (type !== undefined && needsTextMatch(type)) textMatch.set(c, type);
    }
    if (event.op === "delete") {
      const text = this.#text(`keyless-delete\u0000${target.name.schema}\u0000${target.name.table}\u0000${match.join("\u0001")}`, () => compileKeylessDelete(this.#context.compile, target.name, match, textMatch));
      return session.run(text, matchValues);
    }
    if (event.op !== "update") return 0;
    const after = event.after;
    const set = target.columns.filter((c) => after[c] !== undefined);
    if (set.length === 0) return 0;
    const text = this.#text(`keyless-update\u0000${target.name.schema}\u0000${target.name.table}\u0000${set.join("\u0001")}\u0000${match.join("\u0001")}`, () =>
      compileKeylessUpdate(this.#context.compile, target.name, set, match, textMatch),
    );
    return session.run(text, [...set.map((c) => encoderOf(target, c)(after[c])), ...matchValues]);
  }

  async #move(session: PostgresSession, event: RowChangeEvent & { op: "update" }): Promise<void> {
    const target = this.#context.target(event.table);
    const after = event.after;
    const set = target.columns.filter((c) => after[c] !== undefined);
    const pk = target.primaryKey;
    const text = this.#text(`move\u0000${target.name.schema}\u0000${target.name.table}\u0000${set.join("\u0001")}`, () => compileKeyMove(this.#context.compile, target.name, set, pk));
    const moved = await session.run(text, [...set.map((c) => encoderOf(target, c)(after[c])), ...pk.map((k) => encoderOf(target, k)(event.key[k]))]);
    if (moved > 0) return;
    // the old key is gone (a replay after the move committed): make sure the new key holds the values sent
    const { head, tail } = compileUpsertParts(this.#context.compile, target.name, set, pk);
    await session.run(head + valuesPlaceholders(1, set.length) + tail, set.map((c) => encoderOf(target, c)(after[c])));
  }

  async #chunked(
    session: PostgresSession,
    mode: ApplyMode,
    rows: readonly PendingRow[],
    size: number,
    exec: (rows: readonly PendingRow[]) => Promise<number>,
    reject: (entry: PendingRow, reason: string) => void,
  ): Promise<void> {
    for (let start = 0; start < rows.length; start += size) {
      const chunk = start === 0 && rows.length <= size ? rows : rows.slice(start, start + size);
      await this.#guarded(session, mode, chunk, exec, reject);
    }
  }

  /**
   * Runs `exec` on `items`; in careful mode under a savepoint, and on a
   * record-fault failure again item by item, rejecting those that fail.
   */
  async #guarded<T>(session: PostgresSession, mode: ApplyMode, items: readonly T[], exec: (items: readonly T[]) => Promise<unknown>, reject: (item: T, reason: string) => void): Promise<void> {
    if (mode === "fast") {
      await exec(items);
      return;
    }
    await session.run("SAVEPOINT zetl_statement");
    try {
      await exec(items);
      await session.run("RELEASE SAVEPOINT zetl_statement");
      return;
    } catch (error) {
      if (classifyPgError(error) !== "record") throw error;
      await session.run("ROLLBACK TO SAVEPOINT zetl_statement");
      await session.run("RELEASE SAVEPOINT zetl_statement");
      if (items.length === 1) {
        reject(items[0] as T, describePgError(error));
        return;
      }
    }
    for (const item of items) {
      await session.run("SAVEPOINT zetl_row");
      try {
        await exec([item]);
        await session.run("RELEASE SAVEPOINT zetl_row");
      } catch (error) {
        if (classifyPgError(error) !== "record") throw error;
        await session.run("ROLLBACK TO SAVEPOINT zetl_row");
        await session.run("RELEASE SAVEPOINT zetl_row");
        reject(item, describePgError(error));
      }
    }
  }

  #text(key: string, build: () => string): string {
    const cached = this.#texts.get(key);
    if (cached !== undefined) return cached;
    const text = build();
    this.#remember(key, text);
    return text;
  }

  #remember(key: string, text: string): void {
    if (this.#texts.size > 2_000) this.#texts.clear();
    this.#texts.set(key, text);
  }
}

/**
 * `*` when the row has every target column, else the indexes of the columns
 * present. Throws when the row has a column the target lacks (its schema was
 * not prepared), rather than dropping the value. A value for a stored
 * generated column of the target is left out: the target computes it from
 * the same expression (rows from a Kafka worker carry the source's value).
 */
function rowSignature(row: Row, target: TargetTable, table: TableRef): string {
  const columns = target.columns;
  let present = 0;
  for (let i = 0; i < columns.length; i++) if (row[columns[i] as string] !== undefined) present++;
  let total = 0;
  for (const k in row) if (row[k] !== undefined) total++;
  const generated = target.generated;
  for (let i = 0; i < generated.length; i++) if (row[generated[i] as string] !== undefined) total--;
  if (total !== present) {
    const missing = Object.keys(row).filter((k) => row[k] !== undefined && !columns.includes(k) && !generated.includes(k));
    throw new ZeroEtlError(`rows of ${tableKey(table)} have columns the target table lacks (${missing.join(", ")}); prepare() the new schema first`, {
      code: "schema-unsupported",
      table: tableKey(table),
    });
  }
  if (present === columns.length) return FULL_ROW;
  let signature = "";
  for (let i = 0; i < columns.length; i++) if (row[columns[i] as string] !== undefined) signature += `${i},`;
  return signature;
}

/** The parameter encoder of a target column (by its type), the generic one for a column the catalog did not list. */
function encoderOf(target: TargetTable, column: string): PgParameterEncoder {
  return target.encoders.get(column) ?? toPgParameter;
}

/**
 * Whether a folded row is new at the source within its batch: its first
 * change there is an insert (what follows it merged in). Snapshot rows are
 * not (a resumed or repeated read meets its own rows).
 */
function isInsertion(origin: PendingRow["origin"]): boolean {
  if (origin === undefined) return false;
  const first = Array.isArray(origin) ? (origin as readonly RowChangeEvent[])[0] : (origin as RowChangeEvent);
  return first?.op === "insert";
}

function originEvents(entry: PendingRow, table: TableRef): readonly ChangeEvent[] {
  if (entry.origin === undefined) {
    const synthetic: InsertEvent = { op: "insert", table, position: "snapshot", after: entry.row };
    return [synthetic];
  }
  return Array.isArray(entry.origin) ? (entry.origin as readonly RowChangeEvent[]) : [entry.origin as RowChangeEvent];
}
