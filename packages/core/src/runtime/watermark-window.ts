import type { ChangeEvent } from "../change/change-event.js";
import type { Row, Value } from "../schema/value.js";

/**
 * The merge of one incremental-snapshot chunk with the stream (DBLog's
 * watermark algorithm), pure: between the chunk's low watermark and its high
 * watermark the stream's events of the table are observed, and at the high
 * watermark the chunk's rows are emitted except those whose key one of those
 * events touched (that event, applied in stream order, wins: it is at least
 * as new as the chunk's read, which ran inside the window).
 *
 * Why this is exact: the chunk is read after the low watermark committed and
 * before the high one, so a row's value in the chunk is its latest as of a
 * moment inside the window; if no event in the window touched its key, that
 * value is still the latest at the high watermark, where it is emitted. A
 * truncate or a schema change of the table inside the window spoils the
 * chunk (its rows may predate either): it is read again. So does an update
 * of one of the chunk's rows that lacks some values (PostgreSQL's unchanged
 * TOAST): the target may not hold the row to complete it from.
 */
export class WatermarkWindow {
  readonly #primaryKey: readonly string[];
  readonly #touched = new Set<string>();
  /** Keys of updates that lacked some values (`unchanged`): the target may not have had the row to complete them from. */
  readonly #partial = new Set<string>();
  #open = false;
  #spoiled = false;

  /** `primaryKey`: the table's key columns, which every event and row of the chunk carries. */
  constructor(primaryKey: readonly string[]) {
    this.#primaryKey = primaryKey;
  }

  /** Whether the low watermark was met. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** The stream met the low watermark: events from now on are observed. */
  open(): void {
    this.#open = true;
  }

  /** An event of the chunk's table, in stream order; ignored before the low watermark. */
  observe(event: ChangeEvent): void {
    if (!this.#open) return;
    switch (event.op) {
      case "insert":
        this.#touched.add(rowKey(event.after, this.#primaryKey));
        return;
      case "update": {
        // the old key and the new one: a key-changing update deletes one and writes the other
        const after = rowKey(event.after, this.#primaryKey);
        this.#touched.add(rowKey(event.key, this.#primaryKey));
        this.#touched.add(after);
        if (event.unchanged !== undefined && event.unchanged.length > 0) this.#partial.add(after);
        return;
      }
      case "delete":
        if (event.match === "columns") this.#spoiled = true;
        else this.#touched.add(rowKey(event.key, this.#primaryKey));
        return;
      case "truncate":
      case "schema":
        this.#spoiled = true;
        return;
    }
  }

  /**
   * The stream met the high watermark: the rows of the chunk to emit now, in
   * their order, or undefined when the chunk must be read again (the low
   * watermark was not met in this stream, the window was spoiled, or an
   * update without some values touched one of its rows).
   */
  close(rows: readonly Row[]): readonly Row[] | undefined {
    if (!this.#open || this.#spoiled) return undefined;
    if (this.#touched.size === 0) return rows;
    // an update without some values (unchanged TOAST) of a row of this chunk: the target had no row to take them
    // from unless an earlier chunk or change wrote it, so neither the update nor the chunk's older row can be
    // trusted for it; a read after this window has the row whole
    if (this.#partial.size > 0 && rows.some((row) => this.#partial.has(rowKey(row, this.#primaryKey)))) return undefined;
    return rows.filter((row) => !this.#touched.has(rowKey(row, this.#primaryKey)));
  }

  /** Keys touched inside the window so far (for tests and logs). */
  get touched(): number {
    return this.#touched.size;
  }
}

/**
 * A string that identifies a row's key: equal for equal key values whatever
 * the path that produced them (a number and a bigint of the same integer
 * are equal, as the source may decode one width as either).
 */
export function rowKey(row: Row, primaryKey: readonly string[]): string {
  let out = "";
  for (let i = 0; i < primaryKey.length; i++) {
    const name = primaryKey[i] as string;
    if (i > 0) out += "\u0001";
    out += encodeValue(row[name]);
  }
  return out;
}

function encodeValue(value: Value | undefined): string {
  if (value === null || value === undefined) return "\u0000";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
    case "bigint":
      return `n${String(value)}`;
    case "boolean":
      return value ? "t" : "f";
    default:
      if (value instanceof Uint8Array) return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
      return `j${JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `n${v.toString()}` : v instanceof Uint8Array ? `x${Buffer.from(v).toString("hex")}` : v))}`;
  }
}
