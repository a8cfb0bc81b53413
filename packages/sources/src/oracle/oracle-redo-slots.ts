import type { OracleRedoLiteral, OracleRedoRow } from "./oracle-redo-statement.js";

/** {@link OracleRedoSlots.kinds}: the statement does not name the column. */
export const REDO_ABSENT = 0;
/** `NULL` (or `IS NULL` in a where clause). */
export const REDO_NULL = 1;
/** A string; `texts[i]` is its value (`''` unescaped, concatenations joined, UNISTR decoded). */
export const REDO_STRING = 2;
/** An unquoted number; `texts[i]` is its text as printed. */
export const REDO_NUMBER = 3;
/** A call such as `TO_DATE('…', '…')`; `texts[i]` is the function name upper-cased, `args[i]` its arguments. */
export const REDO_CALL = 4;
export const REDO_EMPTY_CLOB = 5;
export const REDO_EMPTY_BLOB = 6;
/** LogMiner's `Unsupported Type`. */
export const REDO_UNSUPPORTED = 7;

const NO_ARGS: readonly string[] = Object.freeze([]);
const NULL_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "null" });
const UNSUPPORTED_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "unsupported" });
const EMPTY_CLOB_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "empty-lob", lob: "clob" });
const EMPTY_BLOB_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "empty-lob", lob: "blob" });

/**
 * One clause's literals by column position, in parallel arrays instead of a
 * literal object per value: `kinds[i]` says what column `i` holds (one of the
 * `REDO_*` constants), `texts[i]` and `args[i]` hold its text and call
 * arguments. `texts[i]` and `args[i]` mean something only where `kinds[i]`
 * says so (they may keep a previous statement's text otherwise). Owned by an
 * `OracleRedoTable` and overwritten by the next statement parsed against it:
 * consume or copy what you need first.
 */
export class OracleRedoSlots {
  readonly kinds: Uint8Array;
  readonly texts: (string | undefined)[];
  readonly args: (readonly string[] | undefined)[];

  constructor(size: number) {
    this.kinds = new Uint8Array(size);
    this.texts = new Array<string | undefined>(size).fill(undefined);
    this.args = new Array<readonly string[] | undefined>(size).fill(undefined);
  }

  /** The number of columns (the table's), not the number the statement names. */
  get length(): number {
    return this.kinds.length;
  }

  /** Marks every column absent. */
  clear(): void {
    // tables are narrow: a loop is cheaper than a call to fill
    const kinds = this.kinds;
    for (let i = 0; i < kinds.length; i++) kinds[i] = REDO_ABSENT;
  }

  /** Stores `literal` at `slot`. */
  set(slot: number, literal: OracleRedoLiteral): void {
    switch (literal.kind) {
      case "null":
        this.kinds[slot] = REDO_NULL;
        return;
      case "string":
        this.kinds[slot] = REDO_STRING;
        this.texts[slot] = literal.value;
        return;
      case "number":
        this.kinds[slot] = REDO_NUMBER;
        this.texts[slot] = literal.text;
        return;
      case "call":
        this.kinds[slot] = REDO_CALL;
        this.texts[slot] = literal.fn;
        this.args[slot] = literal.args;
        return;
      case "empty-lob":
        this.kinds[slot] = literal.lob === "clob" ? REDO_EMPTY_CLOB : REDO_EMPTY_BLOB;
        return;
      case "unsupported":
        this.kinds[slot] = REDO_UNSUPPORTED;
        return;
    }
  }

  /** The literal at `slot` as an object (made on each call: for tools and tests, not the hot path), or undefined when absent. */
  literal(slot: number): OracleRedoLiteral | undefined {
    switch (this.kinds[slot]) {
      case REDO_NULL:
        return NULL_LITERAL;
      case REDO_STRING:
        return { kind: "string", value: this.texts[slot] ?? "" };
      case REDO_NUMBER:
        return { kind: "number", text: this.texts[slot] ?? "" };
      case REDO_CALL:
        return { kind: "call", fn: this.texts[slot] ?? "", args: this.args[slot] ?? NO_ARGS };
      case REDO_EMPTY_CLOB:
        return EMPTY_CLOB_LITERAL;
      case REDO_EMPTY_BLOB:
        return EMPTY_BLOB_LITERAL;
      case REDO_UNSUPPORTED:
        return UNSUPPORTED_LITERAL;
      default:
        return undefined;
    }
  }

  /** Every column's literal by position ({@link literal}), `undefined` where absent. */
  toLiterals(): (OracleRedoLiteral | undefined)[] {
    return Array.from({ length: this.kinds.length }, (_, i) => this.literal(i));
  }
}

/**
 * The result of `parseSqlRedoRow`, reused: one per `OracleRedoTable`, filled
 * in place by each statement parsed against that table.
 */
export class OracleRedoRowBuffer implements OracleRedoRow {
  kind: "insert" | "update" | "delete" = "insert";
  readonly values: OracleRedoSlots;
  readonly where: OracleRedoSlots;
  unknownColumn: string | undefined = undefined;

  constructor(size: number) {
    this.values = new OracleRedoSlots(size);
    this.where = new OracleRedoSlots(size);
  }

  /** Empties both clauses before a statement. */
  reset(): void {
    this.values.clear();
    this.where.clear();
    this.unknownColumn = undefined;
  }
}
