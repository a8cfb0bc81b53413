import type { OracleRedoSlots } from "./oracle-redo-slots.js";

/**
 * One value as LogMiner prints it in `V$LOGMNR_CONTENTS.SQL_REDO`, before it
 * is interpreted with the column's type (see `decodeOracleLiteral`).
 *
 * - `string`: a quoted literal with `''` unescaped; concatenations
 *   (`'a' || UNISTR('\00e9') || 'b'`) are joined and `UNISTR` escapes decoded.
 * - `number`: an unquoted number exactly as printed (`-1.5E+10`, `.5`).
 * - `call`: a conversion function (`TO_DATE`, `TO_TIMESTAMP`, `TO_TIMESTAMP_TZ`,
 *   `HEXTORAW`, `TO_DSINTERVAL`, `TO_YMINTERVAL`, …): `fn` upper-case, `args`
 *   the unescaped string (or number) arguments in order.
 * - `empty-lob`: `EMPTY_CLOB()` / `EMPTY_BLOB()`; the LOB's content, if any,
 *   follows in later LOB_WRITE rows.
 * - `unsupported`: LogMiner's `Unsupported Type` placeholder.
 */
export type OracleRedoLiteral =
  | { readonly kind: "null" }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "call"; readonly fn: string; readonly args: readonly string[] }
  | { readonly kind: "empty-lob"; readonly lob: "clob" | "blob" }
  | { readonly kind: "unsupported" };

/**
 * Column name to literal, in the order the statement lists them. Names are
 * as stored in the dictionary: a quoted name keeps its case, an unquoted one
 * is upper-cased (LogMiner always quotes).
 */
export type OracleRedoColumns = ReadonlyMap<string, OracleRedoLiteral>;

/**
 * A parsed `SQL_REDO` DML statement. `where` holds the before image LogMiner
 * prints (the columns supplemental logging recorded; `IS NULL` becomes a
 * `null` literal); the `ROWID = '…'` term is not a column and is left out.
 * An update's after image is `where` overlaid with `set`.
 */
export type OracleRedoStatement =
  | { readonly kind: "insert"; readonly owner: string; readonly table: string; readonly values: OracleRedoColumns }
  | {
      readonly kind: "update";
      readonly owner: string;
      readonly table: string;
      readonly set: OracleRedoColumns;
      readonly where: OracleRedoColumns;
    }
  | { readonly kind: "delete"; readonly owner: string; readonly table: string; readonly where: OracleRedoColumns };

/**
 * A parsed `SQL_REDO` statement resolved against its table's columns
 * (`parseSqlRedoRow`): the same literals as {@link OracleRedoStatement}, by
 * column position in parallel arrays (`OracleRedoSlots`) instead of maps
 * keyed by name. The object and its slots belong to the `OracleRedoTable` the
 * statement was parsed against and are overwritten by the next statement
 * parsed against it: consume or copy first.
 */
export interface OracleRedoRow {
  readonly kind: "insert" | "update" | "delete";
  /** An insert's values or an update's set clause; every column absent for a delete. */
  readonly values: OracleRedoSlots;
  /** The before image of an update or delete (`IS NULL` as a `null`, `ROWID` left out); every column absent for an insert. */
  readonly where: OracleRedoSlots;
  /** The first column name the table neither has nor skips (a DDL not seen yet?), or `undefined`. */
  readonly unknownColumn: string | undefined;
}
