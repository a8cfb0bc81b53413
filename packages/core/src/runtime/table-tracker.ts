import type { IncrementalProgress, TableState, TableStatus } from "../state/table-state.js";

/**
 * Mutable per-table bookkeeping inside one pipeline run; `snapshot()` turns
 * it into the immutable records a checkpoint stores.
 */
export class TableTracker {
  readonly #tables = new Map<string, { state: TableState; rows: number; lastPosition?: string; lastError?: string; updatedAt: string; resyncRequested?: boolean; replacedAt?: string; dropPending?: boolean; incremental?: IncrementalProgress }>();

  constructor(initial: Readonly<Record<string, TableStatus>> = {}) {
    for (const [key, status] of Object.entries(initial)) this.#tables.set(key, { ...status });
  }

  /** Sets a table's state (and the reason for failed states). */
  setState(table: string, state: TableState, reason?: string): void {
    const entry = this.#entry(table);
    entry.state = state;
    if (state !== "resync-required") delete entry.resyncRequested;
    if (state !== "dropped-at-source") delete entry.dropPending;
    if (reason === undefined) delete entry.lastError;
    else entry.lastError = reason;
    entry.updatedAt = new Date().toISOString();
  }

  /** Counts applied rows and remembers the last position applied. */
  addRows(table: string, rows: number, position?: string): void {
    const entry = this.#entry(table);
    entry.rows += rows;
    if (position !== undefined && position !== "") entry.lastPosition = position;
    entry.updatedAt = new Date().toISOString();
  }

  /**
   * Marks a table for a re-read the source asked for (or that a new table
   * needs): `resync-required` and requested, so the next resync takes it
   * whatever `autoResync` says. `position` is where the source asked.
   */
  requestRefresh(table: string, reason: string, position?: string): void {
    this.setState(table, "resync-required", reason);
    const entry = this.#entry(table);
    entry.resyncRequested = true;
    if (position !== undefined) entry.replacedAt = position;
  }

  /**
   * Records that the table's target copy, just re-read, holds every change
   * committed before `position` (an exact resync snapshot's position), so
   * that the replay skips them.
   */
  reread(table: string, position: string): void {
    this.#entry(table).replacedAt = position;
  }

  /** Marks a table gone from the source as of `position`, its target tables still to be removed ({@link dropDone}). */
  drop(table: string, reason: string, position: string): void {
    this.setState(table, "dropped-at-source", reason);
    const entry = this.#entry(table);
    entry.replacedAt = position;
    entry.dropPending = true;
  }

  /** Records that a dropped table's target tables are removed. */
  dropDone(table: string): void {
    const entry = this.#tables.get(table);
    if (entry !== undefined) delete entry.dropPending;
  }

  /** Whether a dropped table's target tables may still exist (see {@link TableStatus.dropPending}). */
  isDropPending(table: string): boolean {
    const entry = this.#tables.get(table);
    return entry?.state === "dropped-at-source" && entry.dropPending === true;
  }

  /** The position of the last table change the table's target copy reflects; see {@link TableStatus.replacedAt}. */
  replacedAt(table: string): string | undefined {
    return this.#tables.get(table)?.replacedAt;
  }

  /** Forgets `replacedAt` once the stream's durable position passed it. */
  clearReplacedAt(table: string): void {
    const entry = this.#tables.get(table);
    if (entry !== undefined) delete entry.replacedAt;
  }

  /** The table's incremental snapshot progress, when one is under way. */
  incremental(table: string): IncrementalProgress | undefined {
    return this.#tables.get(table)?.incremental;
  }

  /** Records (or, with undefined, ends) the table's incremental snapshot progress. */
  setIncremental(table: string, progress: IncrementalProgress | undefined): void {
    const entry = this.#entry(table);
    if (progress === undefined) delete entry.incremental;
    else entry.incremental = Object.freeze({ ...progress });
    entry.updatedAt = new Date().toISOString();
  }

  /** Forgets a table entirely (it left the selected tables). */
  forget(table: string): void {
    this.#tables.delete(table);
  }

  state(table: string): TableState | undefined {
    return this.#tables.get(table)?.state;
  }

  /** Whether a resync of the table was asked for explicitly. */
  isResyncRequested(table: string): boolean {
    return this.#tables.get(table)?.resyncRequested === true;
  }

  tables(): string[] {
    return [...this.#tables.keys()];
  }

  /** An immutable copy for a checkpoint. */
  snapshot(): Readonly<Record<string, TableStatus>> {
    const out: Record<string, TableStatus> = {};
    for (const [key, entry] of this.#tables) out[key] = Object.freeze({ ...entry });
    return Object.freeze(out);
  }

  #entry(table: string) {
    let entry = this.#tables.get(table);
    if (entry === undefined) {
      entry = { state: "synced", rows: 0, updatedAt: new Date().toISOString() };
      this.#tables.set(table, entry);
    }
    return entry;
  }
}
