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
 * The columns of one table as `parseSqlRedoRow` resolves a statement's
 * column names against them: position `i` is the table's `i`-th column (as
 * stored in the dictionary), so values come back in arrays indexed by
 * position instead of maps keyed by freshly sliced names. Build one per
 * table model and keep it: it also remembers the last statement headers it
 * saw (`insert into "O"."T"("A","B") values (`, `update "O"."T" set`,
 * `delete from "O"."T" where`), which most statements on a table repeat, so
 * a header is matched in one comparison. Not safe to share across threads
 * (there are none).
 */
export class OracleRedoTable {
  /** Column names in table order. */
  readonly names: readonly string[];
  readonly #byName: ReadonlyMap<string, number>;
  readonly #skipped: ReadonlySet<string>;
  /** The text of the last insert's header, up to and including `values (`, and its column positions. */
  insertHeader = "";
  insertSlots: readonly number[] = [];
  /** The text of the last update's header, up to and including `set`. */
  updateHeader = "";
  /** The text of the last delete's header, up to and including `where`. */
  deleteHeader = "";

  /**
   * @param names the table's columns in order.
   * @param skipped columns the table has but the source leaves out: their values are dropped, not reported unknown.
   */
  constructor(names: readonly string[], skipped: ReadonlySet<string> = NOTHING_SKIPPED) {
    this.names = names;
    this.#byName = new Map(names.map((name, i) => [name, i]));
    this.#skipped = skipped;
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
