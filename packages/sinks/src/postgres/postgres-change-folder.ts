import type { ChangeEvent, DeleteEvent, RowChangeEvent, Row, SnapshotChunk, TableRef, TableSchema, TruncateEvent, UpdateEvent, Value } from "@zero-etl/core";
import { tableKey } from "@zero-etl/core";

/**
 * The final state of one key after folding a run of events: an upsert of the
 * columns present in `row`, or a delete of the key image `row`. `origin` is
 * the event (or events, oldest first) that produced it, `undefined` for a
 * snapshot row; a rejected entry reports them.
 */
export interface PendingRow {
  readonly op: "upsert" | "delete";
  readonly row: Row;
  readonly origin: RowChangeEvent | readonly RowChangeEvent[] | undefined;
}

/** A change to a table without a primary key, applied one by one in order (inserts in runs). */
export type KeylessOp =
  | { readonly op: "insert"; readonly row: Row; readonly origin: RowChangeEvent | undefined }
  | { readonly op: "update"; readonly event: UpdateEvent }
  | { readonly op: "delete"; readonly event: DeleteEvent };

/** A change to a history-mode table; applied in order, never folded (every version is kept). */
export type HistoryEvent = RowChangeEvent | TruncateEvent;

/** The folded changes of one table within a fold step. */
export interface TableFold {
  readonly table: TableRef;
  /** Keyed tables: key string -> final state, in first-seen order. */
  readonly keyed: Map<string, PendingRow>;
  /** Keyless tables: changes in order. */
  readonly keyless: KeylessOp[];
  /** History-mode tables: changes in source order. */
  readonly history: HistoryEvent[];
  /** History-mode tables: snapshot rows, each a new version at the snapshot position. */
  readonly versions: Row[];
}

/**
 * One unit of work, applied in order. A `fold` holds per-key final states
 * (keys are independent, so their statements may run in any order); the
 * others are barriers: a truncate, a schema change, and a key-changing
 * update whose unchanged columns must be carried over in place (`move`).
 */
export type ApplyStep =
  | { readonly kind: "fold"; readonly tables: Map<string, TableFold> }
  | { readonly kind: "truncate"; readonly table: TableRef }
  /** `renamed`: columns renamed before the change (new name -> old), replayed with it. */
  | { readonly kind: "schema"; readonly schema: TableSchema; readonly renamed?: Readonly<Record<string, string>> }
  | { readonly kind: "move"; readonly event: UpdateEvent }
  /** A history-mode table is snapshotted again: its current versions are closed at the snapshot position. */
  | { readonly kind: "history-reset"; readonly table: TableRef }
  /** Every row whose columns equal `event.key` goes (a delete with `match: "columns"`). */
  | { readonly kind: "delete-matching"; readonly table: TableRef; readonly event: DeleteEvent };

/** The primary key of a prepared target table (empty when keyless), or undefined when the table was never prepared. */
export type PrimaryKeyLookup = (table: TableRef) => readonly string[] | undefined;

/**
 * Folds snapshot rows and change events into {@link ApplyStep}s: consecutive
 * row events collapse to one final state per key (insert → upsert; update →
 * merged into the pending upsert of that key, or an upsert of the present
 * columns; delete → delete; key-changing update → delete old + upsert new).
 * Pure: no I/O, input rows are never mutated (merges copy once).
 */
export class ChangeFolder {
  readonly #steps: ApplyStep[] = [];
  readonly #primaryKey: PrimaryKeyLookup;
  readonly #isHistory: (table: TableRef) => boolean;
  #fold: Map<string, TableFold> | undefined;
  #owned = new WeakSet<object>();
  /** The table of the previous event and its key and fold: events come in runs of one table, each with the same table object. */
  #lastTable: TableRef | undefined;
  #lastKey: readonly string[] = [];
  #lastFold: TableFold | undefined;

  /** `isHistory` selects tables whose events are kept in order as versions instead of folded. */
  constructor(primaryKey: PrimaryKeyLookup, isHistory: (table: TableRef) => boolean = () => false) {
    this.#primaryKey = primaryKey;
    this.#isHistory = isHistory;
  }

  /** Adds snapshot rows as upserts (as new versions for a history-mode table). */
  addSnapshot(chunk: SnapshotChunk): void {
    const pk = this.#key(chunk.table);
    const fold = this.#tableFold(chunk.table);
    if (this.#isHistory(chunk.table)) {
      for (const row of chunk.rows) fold.versions.push(row);
      return;
    }
    if (pk.length === 0) {
      for (const row of chunk.rows) fold.keyless.push({ op: "insert", row, origin: undefined });
      return;
    }
    for (const row of chunk.rows) fold.keyed.set(keyString(row, pk), { op: "upsert", row, origin: undefined });
  }

  /** Adds changes in source order. */
  addEvents(events: readonly ChangeEvent[]): void {
    for (const event of events) this.addEvent(event);
  }

  /** Adds one change. */
  addEvent(event: ChangeEvent): void {
    if (event.op !== "schema" && this.#isHistory(event.table)) {
      this.#key(event.table);
      this.#tableFold(event.table).history.push(event);
      return;
    }
    switch (event.op) {
      case "truncate":
        this.#barrier({ kind: "truncate", table: event.table });
        return;
      case "schema":
        this.#barrier({ kind: "schema", schema: event.schema });
        return;
      case "delete":
        if (event.match === "columns") {
          this.#barrier({ kind: "delete-matching", table: event.table, event });
          return;
        }
        break;
      default:
        break;
    }
    const pk = this.#key(event.table);
    const fold = this.#tableFold(event.table);
    if (pk.length === 0) {
      fold.keyless.push(event.op === "insert" ? { op: "insert", row: event.after, origin: event } : event.op === "update" ? { op: "update", event } : { op: "delete", event });
      return;
    }
    const keyed = fold.keyed;
    if (event.op === "insert") {
      keyed.set(keyString(event.after, pk), { op: "upsert", row: event.after, origin: event });
      return;
    }
    if (event.op === "delete") {
      keyed.set(keyString(event.key, pk), { op: "delete", row: event.key, origin: event });
      return;
    }
    const oldKey = keyString(event.key, pk);
    const newKey = keyString(event.after, pk, event.key);
    if (oldKey !== newKey) {
      if (event.unchanged !== undefined && event.unchanged.length > 0) {
        this.#barrier({ kind: "move", event });
        return;
      }
      keyed.set(oldKey, { op: "delete", row: event.key, origin: event });
      keyed.set(newKey, { op: "upsert", row: event.after, origin: event });
      return;
    }
    const existing = keyed.get(oldKey);
    if (existing === undefined || existing.op === "delete") {
      keyed.set(oldKey, { op: "upsert", row: event.after, origin: event });
      return;
    }
    keyed.set(oldKey, { op: "upsert", row: this.#merge(existing.row, event.after), origin: appendOrigin(existing.origin, event) });
  }

  /** The steps built so far; the folder must not be used afterwards. */
  finish(): ApplyStep[] {
    this.#fold = undefined;
    return this.#steps;
  }

  #merge(base: Row, patch: Row): Row {
    // the first merge copies; later merges of the same key edit that private copy
    const target = this.#owned.has(base) ? (base as Record<string, Value>) : { ...base };
    for (const column in patch) {
      const value = patch[column];
      if (value !== undefined) target[column] = value;
    }
    this.#owned.add(target);
    return target;
  }

  #key(table: TableRef): readonly string[] {
    // the key as of the events' arrival: a schema barrier in the same batch changes the target only when applied
    if (table === this.#lastTable) return this.#lastKey;
    const pk = this.#primaryKey(table);
    if (pk === undefined) throw new Error(`table ${tableKey(table)} was not prepared`);
    this.#lastTable = table;
    this.#lastKey = pk;
    this.#lastFold = undefined;
    return pk;
  }

  #barrier(step: ApplyStep): void {
    this.#fold = undefined;
    this.#lastFold = undefined;
    this.#steps.push(step);
  }

  #tableFold(table: TableRef): TableFold {
    if (table === this.#lastTable && this.#lastFold !== undefined) return this.#lastFold;
    const fold = this.#findFold(table);
    if (table === this.#lastTable) this.#lastFold = fold;
    return fold;
  }

  #findFold(table: TableRef): TableFold {
    if (this.#fold === undefined) {
      this.#fold = new Map();
      this.#steps.push({ kind: "fold", tables: this.#fold });
    }
    const k = tableKey(table);
    let fold = this.#fold.get(k);
    if (fold === undefined) {
      fold = { table, keyed: new Map(), keyless: [], history: [], versions: [] };
      this.#fold.set(k, fold);
    }
    return fold;
  }
}

function appendOrigin(origin: PendingRow["origin"], event: RowChangeEvent): readonly RowChangeEvent[] {
  if (origin === undefined) return [event];
  if (Array.isArray(origin)) return [...(origin as readonly RowChangeEvent[]), event];
  return [origin as RowChangeEvent, event];
}

/**
 * A string identifying a key image: equal keys give equal strings. Values of
 * one column share a representation, so plain string forms suffice; bytes
 * use hex. `fallback` supplies key columns absent from `row`.
 */
export function keyString(row: Row, primaryKey: readonly string[], fallback?: Row): string {
  if (primaryKey.length === 1) {
    const column = primaryKey[0] as string;
    return valueKey(row[column] ?? fallback?.[column]);
  }
  let out = "";
  for (const column of primaryKey) out += `${valueKey(row[column] ?? fallback?.[column])}\u0000`;
  return out;
}

function valueKey(value: Value | undefined): string {
  if (value === null || value === undefined) return "\u0001";
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
    default:
      break;
  }
  if (value instanceof Uint8Array) return `\u0002${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
  return `\u0003${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`;
}

/** The tables (`namespace.name`) a list of steps touches, in first-seen order. */
export function tablesOfSteps(steps: readonly ApplyStep[]): string[] {
  const seen = new Set<string>();
  for (const step of steps) {
    if (step.kind === "fold") for (const key of step.tables.keys()) seen.add(key);
    else if (step.kind === "schema") seen.add(tableKey(step.schema.table));
    else if (step.kind === "move") seen.add(tableKey(step.event.table));
    else seen.add(tableKey(step.table));
  }
  return [...seen];
}

/** The part of `steps` that touches one table. */
export function stepsOfTable(steps: readonly ApplyStep[], table: string): ApplyStep[] {
  const out: ApplyStep[] = [];
  for (const step of steps) {
    if (step.kind === "fold") {
      const fold = step.tables.get(table);
      if (fold !== undefined) out.push({ kind: "fold", tables: new Map([[table, fold]]) });
    } else if (tablesOfSteps([step])[0] === table) out.push(step);
  }
  return out;
}
