import { OracleRedoRowBuffer } from "./oracle-redo-slots.js";

/** {@link OracleRedoTable.slotAt}: a column the table leaves out on purpose (its value is read and dropped). */
export const REDO_SLOT_SKIPPED = -1;
/** {@link OracleRedoTable.slotAt}: a column the table does not have. */
export const REDO_SLOT_UNKNOWN = -2;

// Up to this many columns a name is found by comparing it in place with each
// column name (no string made); wider tables slice the name once and hash it.
const LINEAR_SEARCH_COLUMNS = 24;
const NOTHING_SKIPPED: ReadonlySet<string> = new Set();

/** Whether `sql` has `name` at `start` (names are short: a loop beats a call to startsWith). */
function sameText(sql: string, start: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) if (sql.charCodeAt(start + k) !== name.charCodeAt(k)) return false;
  return true;
}

/**
 * Whether `sql` starts with `text[0, length)` (never for length 0). Compared
 * from the end: two insert headers with different column lists differ there
 * at once, while their beginnings (`insert into "O"."T"(`) are the same.
 */
function samePrefix(sql: string, text: string, length: number): boolean {
  if (length === 0 || sql.length < length) return false;
  for (let k = length - 1; k >= 0; k--) if (sql.charCodeAt(k) !== text.charCodeAt(k)) return false;
  return true;
}

/** Letters, digits, `_`, `$`, `#`: a keyword going on. */
function isWordChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24 || c === 0x23;
}

/**
 * The columns of one table as `parseSqlRedoRow` resolves a statement's
 * column names against them: position `i` is the table's `i`-th column (as
 * stored in the dictionary), so values come back in arrays indexed by
 * position instead of maps keyed by freshly sliced names. Build one per
 * table model and keep it: it also remembers the last statement headers it
 * saw (`insert into "O"."T"("A","B") values (`, `update "O"."T" set`,
 * `delete from "O"."T" where`), which most statements on a table repeat, so
 * a header is matched in one comparison, and holds the buffers the parse
 * fills (see {@link row}). Not safe to share across threads
 * (there are none).
 */
export class OracleRedoTable {
  /** Column names in table order. */
  readonly names: readonly string[];
  readonly #byName: ReadonlyMap<string, number>;
  readonly #skipped: ReadonlySet<string>;
  /** The column positions of the kept insert header's column list. */
  insertSlots: readonly number[] = [];
  // A kept header is the statement it was read from and its length: no copy is made.
  private insertText = "";
  private insertLength = 0;
  private updateText = "";
  private updateLength = 0;
  private deleteText = "";
  private deleteLength = 0;
  /** What `parseSqlRedoRow` returns for a statement on this table: refilled by each one. */
  readonly row: OracleRedoRowBuffer;

  /**
   * @param names the table's columns in order.
   * @param skipped columns the table has but the source leaves out: their values are dropped, not reported unknown.
   */
  constructor(names: readonly string[], skipped: ReadonlySet<string> = NOTHING_SKIPPED) {
    this.names = names;
    this.#byName = new Map(names.map((name, i) => [name, i]));
    this.#skipped = skipped;
    this.row = new OracleRedoRowBuffer(names.length);
  }

  /** The kept insert header, up to and including `values (`; "" when none is kept. */
  get insertHeader(): string {
    return this.insertText.slice(0, this.insertLength);
  }

  /** The kept update header, up to and including `set`. */
  get updateHeader(): string {
    return this.updateText.slice(0, this.updateLength);
  }

  /** The kept delete header, up to and including `where`. */
  get deleteHeader(): string {
    return this.deleteText.slice(0, this.deleteLength);
  }

  /** The length of the kept insert header when `sql` starts with it, else -1. */
  insertHeaderIn(sql: string): number {
    return samePrefix(sql, this.insertText, this.insertLength) ? this.insertLength : -1;
  }

  /** The length of the kept update header when `sql` starts with it and the keyword ends there, else -1. */
  updateHeaderIn(sql: string): number {
    const length = this.updateLength;
    return samePrefix(sql, this.updateText, length) && !isWordChar(sql.charCodeAt(length)) ? length : -1;
  }

  /** The length of the kept delete header when `sql` starts with it and the keyword ends there, else -1. */
  deleteHeaderIn(sql: string): number {
    const length = this.deleteLength;
    return samePrefix(sql, this.deleteText, length) && !isWordChar(sql.charCodeAt(length)) ? length : -1;
  }

  /** Keeps `sql[0, length)` as the insert header, its columns at `slots`. */
  keepInsertHeader(sql: string, length: number, slots: readonly number[]): void {
    this.insertText = sql;
    this.insertLength = length;
    this.insertSlots = slots;
  }

  keepUpdateHeader(sql: string, length: number): void {
    this.updateText = sql;
    this.updateLength = length;
  }

  keepDeleteHeader(sql: string, length: number): void {
    this.deleteText = sql;
    this.deleteLength = length;
  }

  /**
   * The position of the column named by `sql[start, end)` (compared exactly),
   * {@link REDO_SLOT_SKIPPED} or {@link REDO_SLOT_UNKNOWN}. `hint` is the
   * position tried first: LogMiner lists columns in table order, so the one
   * after the previous column usually matches.
   */
  slotAt(sql: string, start: number, end: number, hint: number): number {
    const names = this.names;
    const length = end - start;
    const guess = names[hint];
    if (guess !== undefined && guess.length === length && sameText(sql, start, guess)) return hint;
    if (names.length <= LINEAR_SEARCH_COLUMNS) {
      for (let i = 0; i < names.length; i++) {
        const name = names[i] as string;
        if (name.length === length && sameText(sql, start, name)) return i;
      }
      return this.#skippedOrUnknown(sql.slice(start, end));
    }
    return this.slotOf(sql.slice(start, end));
  }

  /** The position of the column `name`, {@link REDO_SLOT_SKIPPED} or {@link REDO_SLOT_UNKNOWN}. */
  slotOf(name: string): number {
    return this.#byName.get(name) ?? this.#skippedOrUnknown(name);
  }

  #skippedOrUnknown(name: string): number {
    return this.#skipped.has(name) ? REDO_SLOT_SKIPPED : REDO_SLOT_UNKNOWN;
  }
}
