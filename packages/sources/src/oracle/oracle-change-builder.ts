import type { ChangeEvent, RejectedRecord, Row, TableRef, Value } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import type { OracleColumn, OracleTableModel } from "./oracle-introspector.js";
import { LobValue, parseLobStatement } from "./oracle-lob-statement.js";
import { REDO_ABSENT, type OracleRedoSlots } from "./oracle-redo-slots.js";
import type { OracleRedoRow } from "./oracle-redo-statement.js";
import { OracleRedoTable } from "./oracle-redo-table.js";
import { OracleOperation } from "./oracle-sql.js";
import { parseSqlRedoRow } from "./oracle-sql-redo-parser.js";
import type { BufferedTransaction, RedoRecord } from "./oracle-transaction-buffer.js";
import { decodeOracleSlotAs } from "./oracle-value-decoder.js";

/** What {@link buildTransactionChanges} needs besides the records. */
export interface TransactionContext {
  readonly xid: string;
  /** The serialized position every event of the transaction carries (its commit). */
  readonly position: string;
  readonly commitTime?: number;
  /** The table model in force, or `undefined` for a table that is not read. */
  table(owner: string, table: string): OracleTableModel | undefined;
}

/** One output of a transaction: an event, or a record that could not be decoded (for the dead-letter queue). */
export type BuiltChange = { readonly event: ChangeEvent; readonly rejected?: undefined } | { readonly event?: undefined; readonly rejected: RejectedRecord };

type MutableRow = Record<string, Value>;

/** The row event being built, kept open so that LOB writes that follow it for the same row land in it. */
interface OpenEvent {
  op: "insert" | "update" | "delete";
  model: OracleTableModel;
  key: MutableRow;
  after: MutableRow;
}

/** A LOB being written: the row (its where image), the column and the value so far. */
interface OpenLob {
  model: OracleTableModel;
  where: MutableRow;
  column: string;
  value: LobValue;
  rowId: string;
}

const LOB_OPS: Record<number, "write" | "trim" | "erase" | undefined> = {
  [OracleOperation.lobWrite]: "write",
  [OracleOperation.lobTrim]: "trim",
  [OracleOperation.lobErase]: "erase",
};

/**
 * Turns a committed transaction's redo records into change events, in redo
 * order:
 *
 * - a record undone by a later `ROLLBACK = 1` record of the same row
 *   (rollback to a savepoint) is left out, the undo record too;
 * - insert: the full row (columns the statement leaves out are NULL);
 * - update: `key` from the before image (the where clause), `after` the
 *   before image overlaid with the set clause; columns the redo does not
 *   carry (LOBs, or every column without `(ALL) COLUMNS` logging) are listed
 *   in `unchanged` so the sink keeps them;
 * - delete: `key` from the where clause;
 * - LOB writes after a locator for a row: the assembled value joins the
 *   preceding insert or update of that row, or becomes an update of that
 *   column alone.
 *
 * A record that cannot be parsed or decoded becomes a rejected record with
 * the reason (never the values); the others go on.
 */
export async function* buildTransactionChanges(tx: BufferedTransaction, ctx: TransactionContext): AsyncGenerator<BuiltChange> {
  const undone = tx.hasUndo ? await findUndone(tx) : undefined;
  let open: OpenEvent | undefined;
  let lob: OpenLob | undefined;
  let index = -1;
  const finish = function* (): Generator<BuiltChange> {
    if (lob !== undefined) {
      const done = lob;
      lob = undefined;
      if (open !== undefined && open.op !== "delete" && open.model === done.model && sameRow(open.after, done.where)) {
        open.after[done.column] = done.value.value();
      } else {
        if (open !== undefined) yield emit(open, ctx);
        const key = keyOf(done.model, done.where);
        open = { op: "update", model: done.model, key, after: { ...key, [done.column]: done.value.value() } };
      }
    }
  };
  for await (const record of tx.records()) {
    index++;
    if (record.undo || undone?.has(index) === true) continue;
    const model = ctx.table(record.owner, record.table);
    if (model === undefined) continue;
    try {
      switch (record.op) {
        case OracleOperation.insert:
        case OracleOperation.update:
        case OracleOperation.delete: {
          yield* finish();
          if (open !== undefined) yield emit(open, ctx);
          open = undefined;
          // a record that fails to decode leaves no open event behind
          open = buildRow(record, model);
          break;
        }
        case OracleOperation.selectLobLocator: {
          yield* finish();
          const locator = parseLobStatement("locator", record.redo);
          if (locator === undefined || locator.kind !== "locator") throw new ZeroEtlError("unreadable SELECT_LOB_LOCATOR statement", { code: "record-rejected" });
          const column = model.columns.get(locator.column);
          if (column === undefined) {
            if (model.skipped.has(locator.column)) break;
            throw new ZeroEtlError(`LOB column ${locator.column} is not in the table`, { code: "record-rejected" });
          }
          const redo = redoColumnsOf(model);
          const statement = parseRow(`delete from "${locator.owner.replace(/"/g, '""')}"."${locator.table.replace(/"/g, '""')}" where ${locator.where}`, redo);
          if (statement.kind !== "delete") throw new ZeroEtlError("unreadable SELECT_LOB_LOCATOR where clause", { code: "record-rejected" });
          lob = { model, where: decodeSlots(statement.where, redo), column: locator.column, value: new LobValue(column.logical.kind === "bytes"), rowId: record.rowId };
          break;
        }
        default: {
          const kind = LOB_OPS[record.op];
          if (kind === undefined || lob === undefined) break;
          const statement = parseLobStatement(kind, record.redo);
          if (statement === undefined || statement.kind === "locator") throw new ZeroEtlError(`unreadable LOB ${kind} statement`, { code: "record-rejected" });
          lob.value.apply(statement);
        }
      }
    } catch (error) {
      lob = undefined;
      yield { rejected: rejection(record, model, ctx, error) };
    }
  }
  yield* finish();
  if (open !== undefined) yield emit(open, ctx);
}

/** Indexes of records undone by a later `ROLLBACK = 1` record of the same row: each undo cancels the latest change of its row before it. */
async function findUndone(tx: BufferedTransaction): Promise<Set<number>> {
  const rows = new Set<string>();
  for await (const r of tx.records()) if (r.undo) rows.add(rowKey(r));
  const stacks = new Map<string, number[]>();
  const undone = new Set<number>();
  let index = -1;
  for await (const r of tx.records()) {
    index++;
    const key = rowKey(r);
    if (!rows.has(key)) continue;
    const stack = stacks.get(key) ?? [];
    stacks.set(key, stack);
    if (!r.undo) {
      stack.push(index);
      continue;
    }
    const target = stack.pop();
    if (target !== undefined) undone.add(target);
  }
  return undone;
}

function rowKey(r: RedoRecord): string {
  return `${r.owner}\u0000${r.table}\u0000${r.rowId}`;
}

/** A table model's columns as the redo parser resolves them, with the column types by the same position. */
interface RedoColumns {
  readonly table: OracleRedoTable;
  readonly columns: readonly OracleColumn[];
}

// One per table model (a DDL makes a new model): built on its first redo record.
const redoColumns = new WeakMap<OracleTableModel, RedoColumns>();

function redoColumnsOf(model: OracleTableModel): RedoColumns {
  let found = redoColumns.get(model);
  if (found === undefined) {
    found = { table: new OracleRedoTable([...model.columns.keys()], model.skipped), columns: [...model.columns.values()] };
    redoColumns.set(model, found);
  }
  return found;
}

/** Parses a statement against the table's columns; a column the table does not have rejects the record. */
function parseRow(sql: string, redo: RedoColumns): OracleRedoRow {
  const row = parseSqlRedoRow(sql, redo.table);
  if (row.unknownColumn !== undefined) {
    throw new ZeroEtlError(`column ${row.unknownColumn} is not in the table (a DDL not seen yet?)`, { code: "record-rejected" });
  }
  return row;
}

function buildRow(record: RedoRecord, model: OracleTableModel): OpenEvent {
  const redo = redoColumnsOf(model);
  const statement = parseRow(record.redo, redo);
  switch (statement.kind) {
    case "insert": {
      const after: MutableRow = {};
      for (const name of redo.table.names) after[name] = null;
      Object.assign(after, decodeSlots(statement.values, redo));
      return { op: "insert", model, key: keyOf(model, after), after };
    }
    case "update": {
      const before = decodeSlots(statement.where, redo);
      const after = { ...before, ...decodeSlots(statement.values, redo) };
      return { op: "update", model, key: requireKey(model, before), after };
    }
    case "delete": {
      const before = decodeSlots(statement.where, redo);
      return { op: "delete", model, key: requireKey(model, before), after: before };
    }
  }
}

/** The columns a statement names, decoded with their types, in table order. */
function decodeSlots(slots: OracleRedoSlots, redo: RedoColumns): MutableRow {
  const row: MutableRow = {};
  const names = redo.table.names;
  const kinds = slots.kinds;
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i] === REDO_ABSENT) continue;
    const column = redo.columns[i];
    const name = names[i];
    if (column === undefined || name === undefined) continue;
    try {
      row[name] = decodeOracleSlotAs(slots, i, column.logical, column.type.dataType);
    } catch (error) {
      throw new ZeroEtlError(`column ${name}: ${error instanceof Error ? error.message : String(error)}`, { code: "record-rejected", cause: error });
    }
  }
  return row;
}

/** The key image: the primary-key columns, or every column the image has when the table has no key. */
function keyOf(model: OracleTableModel, image: Row): MutableRow {
  const pk = model.schema.primaryKey;
  if (pk.length === 0) return { ...image };
  const key: MutableRow = {};
  for (const c of pk) key[c] = image[c] ?? null;
  return key;
}

function requireKey(model: OracleTableModel, before: Row): MutableRow {
  for (const c of model.schema.primaryKey) {
    if (!(c in before)) {
      throw new ZeroEtlError(`the redo has no before value of key column ${c} (supplemental logging of the table is missing)`, { code: "record-rejected" });
    }
  }
  return keyOf(model, before);
}

/** Whether every column of `where` has the same value in `row`. */
function sameRow(row: Row, where: Row): boolean {
  for (const name in where) if (!sameValue(row[name] ?? null, where[name] ?? null)) return false;
  return true;
}

function sameValue(a: Value, b: Value): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

function emit(open: OpenEvent, ctx: TransactionContext): BuiltChange {
  const table: TableRef = open.model.schema.table;
  const base = { table, position: ctx.position, transactionId: ctx.xid, ...(ctx.commitTime === undefined ? {} : { commitTime: ctx.commitTime }) };
  switch (open.op) {
    case "insert":
      return { event: { ...base, op: "insert", after: open.after } };
    case "delete":
      return { event: { ...base, op: "delete", key: open.key } };
    case "update": {
      const unchanged: string[] = [];
      for (const name of open.model.columns.keys()) if (!(name in open.after)) unchanged.push(name);
      return { event: { ...base, op: "update", key: open.key, after: open.after, ...(unchanged.length === 0 ? {} : { unchanged }) } };
    }
  }
}

function rejection(record: RedoRecord, model: OracleTableModel, ctx: TransactionContext, error: unknown): RejectedRecord {
  const op = record.op === OracleOperation.insert ? "insert" : record.op === OracleOperation.delete ? "delete" : "update";
  const table = model.schema.table;
  const event: ChangeEvent =
    op === "insert"
      ? { op, table, position: ctx.position, transactionId: ctx.xid, after: {} }
      : op === "delete"
        ? { op, table, position: ctx.position, transactionId: ctx.xid, key: {} }
        : { op, table, position: ctx.position, transactionId: ctx.xid, key: {}, after: {} };
  const reason = error instanceof Error ? error.message : String(error);
  return { event, reason: `oracle ${record.owner}.${record.table} at SCN ${record.scn} (ROWID ${record.rowId}): ${reason}` };
}
