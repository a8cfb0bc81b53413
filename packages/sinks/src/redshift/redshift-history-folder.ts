import type { ChangeEvent, RejectedRecord, Row, SnapshotChunk } from "@zero-etl/core";
import type { StagedRow, StageRowEncoder } from "./redshift-stage-encoder.js";

/**
 * The position of snapshot versions (and of versions a re-snapshot closes)
 * until `flush` substitutes the checkpoint's position (the snapshot's); no
 * source serializes a position as the empty string.
 */
export const SNAPSHOT_POSITION = "";

/** A version row about to be staged: the row's cells and its validity. */
export interface HistoryVersion {
  /** Every target column in order; the six history cells are filled at flush. */
  readonly cells: StagedRow;
  readonly from: string;
  readonly fromTime: string | null;
  to: string | null;
  toTime: string | null;
  readonly op: "insert" | "update" | "snapshot";
  /**
   * Column indexes whose values the event did not carry (unchanged TOAST)
   * and no earlier version in this flush had: the load copies them from the
   * target's version the key's first change in this step closed.
   */
  keep: readonly number[];
  /** Dropped when a later change at the same position replaced it (a snapshot row read twice). */
  dropped: boolean;
}

/** The first close of a key in a step: it closes the target's current version (from before the flush). */
export interface HistoryClose {
  /** The key cells, encoded as the row cells are. */
  readonly keyCells: StagedRow;
  readonly position: string;
  readonly time: string | null;
}

/** Changes of one table between two truncates: versions to upsert by (key, valid_from) and closes of versions the target holds. */
export interface HistoryVersionsStep {
  readonly kind: "versions";
  readonly versions: HistoryVersion[];
  /** Key text -> the key's first close in the step. */
  readonly closes: Map<string, HistoryClose>;
}

/** Every current version closed at one position (a truncate, or a re-snapshot at the snapshot position). */
export interface HistoryCloseAllStep {
  readonly kind: "close-all";
  readonly position: string;
  readonly time: string | null;
}

export type HistoryStep = HistoryVersionsStep | HistoryCloseAllStep;

/** What the folder needs of a history table. */
export interface HistoryFoldTarget {
  /** Encoder of the target columns (source columns and the six history columns). */
  readonly rows: StageRowEncoder;
  /** Encoder of the source key columns. */
  readonly keys: StageRowEncoder;
  /** Positions of the source key columns in `rows.columns`. */
  readonly keyIndexes: readonly number[];
}

/**
 * Turns a history table's changes, in source order and never folded, into
 * version rows and closes (slowly changing dimension, type 2), as the
 * PostgreSQL sink's history mode does: an insert opens a version at its
 * position; an update closes the old key's current version and opens one of
 * the new key (columns it does not carry are copied from the version it
 * closes); a delete closes; a truncate or a re-snapshot closes every
 * current version. A version opened and closed within the flush is staged
 * closed. Rows are encoded here, so a row the staging format cannot hold is
 * rejected in the receipt of the call that brought it.
 */
export class RedshiftHistoryFolder {
  readonly steps: HistoryStep[] = [];
  readonly #target: HistoryFoldTarget;
  /** Key text -> the key's version opened in the open step (null: closed in the step). */
  #open = new Map<string, HistoryVersion | null>();

  constructor(target: HistoryFoldTarget) {
    this.#target = target;
  }

  /** Snapshot rows: current versions from the snapshot position. */
  addSnapshot(chunk: SnapshotChunk, rejected: RejectedRecord[]): void {
    const time = new Date().toISOString();
    for (const row of chunk.rows) {
      const cells = this.#target.rows.encode(row);
      if (typeof cells === "string") {
        rejected.push({ event: { op: "insert", table: chunk.table, position: "snapshot", after: row }, reason: cells });
        continue;
      }
      this.#openVersion(cells, this.#keyOf(cells), SNAPSHOT_POSITION, time, "snapshot", []);
    }
  }

  /** Adds one change; pushes a rejection when it cannot be staged. */
  add(event: ChangeEvent, rejected: RejectedRecord[]): void {
    if (event.op === "schema") return;
    const time = event.commitTime === undefined ? null : new Date(event.commitTime).toISOString();
    if (event.op === "truncate") {
      this.closeAll(event.position, time);
      return;
    }
    if (event.op === "delete") {
      if (event.match === "columns") {
        rejected.push({ event, reason: "delete by a subset of the key columns is not supported by the Redshift sink" });
        return;
      }
      const keyCells = this.#target.keys.encode(event.key);
      if (typeof keyCells === "string") {
        rejected.push({ event, reason: keyCells });
        return;
      }
      this.#close(keyText(keyCells), keyCells, event.position, time);
      return;
    }
    const cells = this.#target.rows.encode(event.after);
    if (typeof cells === "string") {
      rejected.push({ event, reason: cells });
      return;
    }
    const newKey = this.#keyOf(cells);
    if (event.op === "insert") {
      this.#openVersion(cells, newKey, event.position, time, "insert", []);
      return;
    }
    const oldCells = this.#target.keys.encode(event.key);
    if (typeof oldCells === "string") {
      rejected.push({ event, reason: oldCells });
      return;
    }
    const oldKey = keyText(oldCells);
    const before = this.#close(oldKey, oldCells, event.position, time);
    let keep: readonly number[] = [];
    if (event.unchanged !== undefined && event.unchanged.length > 0) {
      const columns = this.#target.rows.columns;
      const missing = event.unchanged.map((name) => columns.findIndex((c) => c.source === name)).filter((i) => i >= 0);
      if (before !== undefined) {
        // the version it closes was staged in this flush: copy from it, and keep what that one kept
        const kept = new Set(before.keep);
        for (const i of missing) if (!kept.has(i)) cells[i] = before.cells[i];
        keep = missing.filter((i) => kept.has(i));
      } else if (oldKey === newKey) {
        keep = missing;
      }
      // a key change whose closed version is in the target only: its values cannot follow (as in latest-state mode)
    }
    this.#openVersion(cells, newKey, event.position, time, "update", keep);
  }

  /** Closes every current version at `position` (a truncate, or `SNAPSHOT_POSITION` for a re-snapshot) and starts a new step. */
  closeAll(position: string, time: string | null): void {
    for (const open of this.#open.values()) {
      if (open !== null) {
        open.to = position;
        open.toTime = time;
      }
    }
    this.steps.push({ kind: "close-all", position, time });
    this.#open = new Map();
  }

  /** Closes the key's open version; returns it when it was opened in this step. */
  #close(key: string, keyCells: StagedRow, position: string, time: string | null): HistoryVersion | undefined {
    const step = this.#step();
    if (this.#open.has(key)) {
      const open = this.#open.get(key);
      this.#open.set(key, null);
      if (open === undefined || open === null) return undefined;
      open.to = position;
      open.toTime = time;
      return open;
    }
    this.#open.set(key, null);
    step.closes.set(key, { keyCells, position, time });
    return undefined;
  }

  #openVersion(cells: StagedRow, key: string, position: string, time: string | null, op: HistoryVersion["op"], keep: readonly number[]): void {
    const current = this.#open.get(key);
    // the same row at the same position again (a snapshot row read twice): it replaces the first
    if (current !== undefined && current !== null && current.from === position) current.dropped = true;
    else this.#close(key, this.#keyCellsOf(cells), position, time);
    const version: HistoryVersion = { cells, from: position, fromTime: time, to: null, toTime: null, op, keep, dropped: false };
    this.#step().versions.push(version);
    this.#open.set(key, version);
  }

  #step(): HistoryVersionsStep {
    const last = this.steps.at(-1);
    if (last?.kind === "versions") return last;
    const step: HistoryVersionsStep = { kind: "versions", versions: [], closes: new Map() };
    this.steps.push(step);
    return step;
  }

  #keyCellsOf(cells: StagedRow): StagedRow {
    return this.#target.keyIndexes.map((i) => cells[i]);
  }

  #keyOf(cells: StagedRow): string {
    let text = "";
    for (const i of this.#target.keyIndexes) text += `${cellText(cells[i])}\u0001`;
    return text;
  }
}

function keyText(cells: StagedRow): string {
  let text = "";
  for (const cell of cells) text += `${cellText(cell)}\u0001`;
  return text;
}

function cellText(cell: unknown): string {
  if (cell instanceof Uint8Array) return Buffer.from(cell).toString("hex");
  return String(cell);
}
