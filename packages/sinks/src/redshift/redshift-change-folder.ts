import type { ChangeEvent, RejectedRecord, Row, SnapshotChunk } from "@zero-etl/core";
import { StageColumns } from "./redshift-stage-columns.js";
import type { StagedRow, StageRowEncoder } from "./redshift-stage-encoder.js";

/**
 * A row's key in the folder's maps: a one-column key held as a number is the
 * number itself (no string per row), any other key its text (each cell's
 * text, then U+0001). The same key gives the same form whichever encoder
 * staged it (a safe bigint is its number).
 */
export type FoldKey = string | number;

/** Rows of one table between two truncates: the last image per key, or its deletion. */
export interface RowsSegment {
  readonly kind: "rows";
  /** Key -> the staged row (every target column), by its index in the folder's {@link RedshiftChangeFolder.batch}. */
  readonly upserts: Map<FoldKey, number>;
  /** Key -> staged key cells. */
  readonly deletes: Map<FoldKey, StagedRow>;
  /**
   * Key text -> an update whose `unchanged` columns (PostgreSQL unchanged
   * TOAST) were not sent and had no earlier image in the batch: the load
   * takes those columns from the target's current row.
   */
  readonly partial: Map<FoldKey, PartialRow>;
}

/** A staged row (its index in the folder's batch) some of whose cells (by column index, ascending) are to be kept from the target. */
export interface PartialRow {
  readonly row: number;
  readonly keep: readonly number[];
}

/** Every row of the table removed (`DELETE FROM`, since Redshift's TRUNCATE commits the transaction). */
export interface TruncateSegment {
  readonly kind: "truncate";
}

/** A step of one table's pending changes, applied in order. */
export type TableSegment = RowsSegment | TruncateSegment;

/** What the folder needs of a table: its row and key encoders and key column names (source names). */
export interface FoldTarget {
  readonly rows: StageRowEncoder;
  readonly keys: StageRowEncoder;
  /** Positions of the key columns in `rows.columns`. */
  readonly keyIndexes: readonly number[];
  /** Column buffers of `rows` a finished batch no longer uses, to stage this one in (emptied first); else new ones. */
  readonly spare?: StageColumns | undefined;
}

/**
 * Folds a table's changes into the last state per key, so a flush stages
 * each row at most once: an insert or update replaces the key's row, a
 * delete removes it, an update that changes the key deletes the old key.
 * Rows are encoded once, here, into the column buffers of {@link batch} (a
 * row a later change replaces stays there unused until the flush), so that
 * a row the staging format cannot hold is rejected in the receipt of the
 * call that brought it.
 */
export class RedshiftChangeFolder {
  readonly segments: TableSegment[] = [];
  /** Every row image staged by this folder; the segments refer to them by index. */
  readonly batch: StageColumns;
  readonly #target: FoldTarget;
  /** Rows staged so far (upserts and deletes of the open segments). */
  staged = 0;

  constructor(target: FoldTarget) {
    this.#target = target;
    const spare = target.spare;
    if (spare !== undefined && spare.columns === target.rows.columns) {
      spare.reset();
      this.batch = spare;
    } else this.batch = new StageColumns(target.rows);
  }

  /** Adds snapshot rows as upserts. Returns the rows it could not stage, as insert events for the dead-letter queue. */
  addSnapshot(chunk: SnapshotChunk, rejected: RejectedRecord[]): void {
    const segment = this.#rows();
    for (const row of chunk.rows) {
      const index = this.batch.append(row);
      if (typeof index === "string") {
        rejected.push({ event: { op: "insert", table: chunk.table, position: "", after: row }, reason: index });
        continue;
      }
      this.#upsert(segment, index);
    }
  }

  /** Adds one row event (insert, update, delete or truncate); pushes a rejection when it cannot be staged. */
  add(event: ChangeEvent, rejected: RejectedRecord[]): void {
    switch (event.op) {
      case "insert":
        return this.#put(event, event.after, rejected);
      case "update": {
        const index = this.batch.append(event.after);
        if (typeof index === "string") {
          rejected.push({ event, reason: index });
          return;
        }
        if (event.unchanged !== undefined && event.unchanged.length > 0 && !this.#copyUnchanged(event.key, index, event.unchanged)) {
          return this.#putPartial(index, event.key, event.unchanged);
        }
        return this.#putRow(index, event.key);
      }
      case "delete": {
        if (event.match === "columns") {
          rejected.push({ event, reason: "delete by a subset of the key columns is not supported by the Redshift sink" });
          return;
        }
        const keyCells = this.#target.keys.encode(event.key);
        if (typeof keyCells === "string") {
          rejected.push({ event, reason: keyCells });
          return;
        }
        const segment = this.#rows();
        const text = keyText(keyCells);
        segment.partial.delete(text);
        if (segment.upserts.delete(text)) this.staged--;
        if (!segment.deletes.has(text)) this.staged++;
        segment.deletes.set(text, keyCells);
        return;
      }
      case "truncate":
        this.segments.push({ kind: "truncate" });
        this.staged = 0;
        return;
      case "schema":
        return;
    }
  }

  #put(event: ChangeEvent, row: Row, rejected: RejectedRecord[]): void {
    const index = this.batch.append(row);
    if (typeof index === "string") {
      rejected.push({ event, reason: index });
      return;
    }
    this.#putRow(index);
  }

  #putRow(index: number, oldKey?: Row): void {
    const segment = this.#rows();
    if (oldKey !== undefined) {
      const old = this.#target.keys.encode(oldKey);
      if (typeof old !== "string") {
        const oldText = keyText(old);
        if (!sameKey(oldText, this.#keyOf(index))) {
          if (segment.upserts.delete(oldText)) this.staged--;
          if (!segment.deletes.has(oldText)) this.staged++;
          segment.deletes.set(oldText, old);
        }
      }
    }
    this.#upsert(segment, index);
  }

  /**
   * Stages an update whose unchanged columns are to be kept from the target.
   * After an earlier partial image of the key, the columns that one carried
   * are taken from it and only the columns both left out are kept.
   */
  #putPartial(index: number, oldKey: Row, unchanged: readonly string[]): void {
    const segment = this.#rows();
    const old = this.#target.keys.encode(oldKey);
    const text = this.#keyOf(index);
    if (typeof old !== "string" && !sameKey(keyText(old), text)) {
      // a key change without the full row: the old row's kept values cannot follow it
      this.#putRow(index, oldKey);
      return;
    }
    const columns = this.#target.rows.columns;
    let keep = unchanged.map((name) => columns.findIndex((c) => c.source === name)).filter((i) => i >= 0);
    const earlier = segment.partial.get(text);
    if (earlier !== undefined) {
      const before = new Set(earlier.keep);
      for (const i of keep) if (!before.has(i)) this.batch.copyCell(earlier.row, index, i);
      keep = keep.filter((i) => before.has(i));
    }
    if (keep.length === 0) {
      segment.partial.delete(text);
      this.#upsert(segment, index);
      return;
    }
    if (segment.deletes.delete(text)) this.staged--;
    if (!segment.partial.has(text)) this.staged++;
    segment.partial.set(text, { row: index, keep: keep.sort((a, b) => a - b) });
  }

  #upsert(segment: RowsSegment, index: number): void {
    const key = this.#keyOf(index);
    // a snapshot has neither partial rows nor deletes: one map operation per row
    if (segment.partial.size > 0 && segment.partial.delete(key)) this.staged--;
    if (segment.deletes.size > 0 && segment.deletes.delete(key)) this.staged--;
    const before = segment.upserts.size;
    segment.upserts.set(key, index);
    if (segment.upserts.size !== before) this.staged++;
  }

  /** Copies the cells of unchanged columns from the key's earlier image in the open segment; false when there is none. */
  #copyUnchanged(key: Row, index: number, unchanged: readonly string[]): boolean {
    const keyCells = this.#target.keys.encode(key);
    if (typeof keyCells === "string") return false;
    const last = this.segments.at(-1);
    const earlier = last?.kind === "rows" ? last.upserts.get(keyText(keyCells)) : undefined;
    if (earlier === undefined) return false;
    const columns = this.#target.rows.columns;
    for (const name of unchanged) {
      const column = columns.findIndex((c) => c.source === name);
      if (column >= 0) this.batch.copyCell(earlier, index, column);
    }
    return true;
  }

  /** The key of a staged row; as {@link keyText} of the same key's cells from the key encoder (same digits, whether a number or a bigint holds them). */
  #keyOf(index: number): FoldKey {
    const indexes = this.#target.keyIndexes;
    if (indexes.length === 1) {
      const cell = this.batch.cell(index, indexes[0] as number);
      return numberKey(cell) ?? `${cellText(cell)}\u0001`;
    }
    let text = "";
    for (const i of indexes) text += `${cellText(this.batch.cell(index, i))}\u0001`;
    return text;
  }

  #rows(): RowsSegment {
    const last = this.segments.at(-1);
    if (last?.kind === "rows") return last;
    const segment: RowsSegment = { kind: "rows", upserts: new Map(), deletes: new Map(), partial: new Map() };
    this.segments.push(segment);
    return segment;
  }
}

function keyText(cells: StagedRow): FoldKey {
  if (cells.length === 1) {
    const cell = cells[0];
    return numberKey(cell) ?? `${cellText(cell)}\u0001`;
  }
  let text = "";
  for (const cell of cells) text += `${cellText(cell)}\u0001`;
  return text;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A one-column key's number form: a number as it is, a bigint in the safe range as its number; undefined for anything else. */
function numberKey(cell: unknown): number | undefined {
  if (typeof cell === "number") return cell;
  if (typeof cell === "bigint" && cell >= -MAX_SAFE && cell <= MAX_SAFE) return Number(cell);
  return undefined;
}

/** Equal keys as the maps compare them (SameValueZero: NaN equals NaN, -0 equals 0). */
function sameKey(a: FoldKey, b: FoldKey): boolean {
  return a === b || (a !== a && b !== b);
}

function cellText(cell: unknown): string {
  if (cell instanceof Uint8Array) return Buffer.from(cell).toString("hex");
  return String(cell);
}
