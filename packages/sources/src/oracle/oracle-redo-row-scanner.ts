import * as kinds from "./oracle-redo-slots.js";
import type { OracleRedoRowBuffer, OracleRedoSlots } from "./oracle-redo-slots.js";
import { REDO_SLOT_UNKNOWN as SLOT_UNKNOWN, type OracleRedoTable } from "./oracle-redo-table.js";

/*
 * The fast path of `parseSqlRedoRow`: the statement forms LogMiner prints
 * (`insert into "O"."T"("A","B") values ('x',NULL);`, `update "O"."T" set "A"
 * = 'x', "B" = NULL where "A" = 'y' and "B" IS NULL;`, `delete from "O"."T"
 * where … and ROWID = '…';`, single blanks where LogMiner puts them), read by
 * plain functions over the text and a position held in locals: each function
 * takes the position and returns the next one, or FALLBACK for anything else
 * (other blanks, comments, aliases, unquoted names, unknown functions,
 * errors). The caller then parses the statement again with the full scanner,
 * which reads every form and words the errors, so this path never has to
 * accept more or fail differently; it only has to give the same literals on
 * what it accepts (checked against `parseSqlRedo` on random statements by
 * oracle-sql-redo-row.test.ts). Values go straight into the table's reused
 * slots: no literal object per value.
 */

const FALLBACK = -1;

// Local copies, read once: run through tsx (tests, benches) a constant or
// function imported from another module costs a getter call on every use,
// which on this path cost more than the work. The character classes are in
// this file for the same reason.
const REDO_NULL = kinds.REDO_NULL;
const REDO_STRING = kinds.REDO_STRING;
const REDO_NUMBER = kinds.REDO_NUMBER;
const REDO_CALL = kinds.REDO_CALL;
const REDO_EMPTY_CLOB = kinds.REDO_EMPTY_CLOB;
const REDO_EMPTY_BLOB = kinds.REDO_EMPTY_BLOB;
const REDO_UNSUPPORTED = kinds.REDO_UNSUPPORTED;
const REDO_SLOT_UNKNOWN = SLOT_UNKNOWN;

const QUOTE = 0x27; // '
const SPACE = 0x20;
const DQUOTE = 0x22; // "
const LPAREN = 0x28;
const RPAREN = 0x29;
const COMMA = 0x2c;
const DOT = 0x2e;
const EQUALS = 0x3d;
const SEMICOLON = 0x3b;
const PIPE = 0x7c;
const MINUS = 0x2d;
const PLUS = 0x2b;

// Second results of the functions below (set just before they return a position).
/** The text of the quoted literal {@link readQuoted} read. */
let quotedText = "";
/** The slot of the column name {@link readColumn} read. */
let columnSlot = 0;
/** The column tried first: the one after the last found (LogMiner lists columns in table order). */
let hint = 0;
/** Up to this many columns a name is looked for by in-place comparison with each (as `OracleRedoTable.slotAt` does). */
const IN_PLACE_COLUMNS = 24;
/** Slots of an insert's column list, kept across statements. */
let headerSlots = new Int32Array(64);
let headerCount = 0;

/**
 * Parses `sql` into `table.row` when it is in one of the forms LogMiner
 * prints; false (the row then holds nothing of use) when the full scanner
 * must read it, including every statement that is not valid.
 */
export function scanRedoRow(sql: string, table: OracleRedoTable): boolean {
  const row = table.row;
  row.reset();
  let pos: number;
  switch (sql.charCodeAt(0)) {
    case 0x69: // i
      row.kind = "insert";
      pos = scanInsert(sql, table, row);
      break;
    case 0x75: // u
      row.kind = "update";
      pos = scanUpdate(sql, table, row);
      break;
    case 0x64: // d
      row.kind = "delete";
      pos = scanDelete(sql, table, row);
      break;
    default:
      return false;
  }
  if (pos < 0) return false;
  if (sql.charCodeAt(pos) === SEMICOLON) pos++;
  return pos === sql.length;
}

/** Whether `sql` has `name` at `start`. */
function sameText(sql: string, start: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) if (sql.charCodeAt(start + k) !== name.charCodeAt(k)) return false;
  return true;
}

/** Whether `sql` has the lower-case `keyword` at `at` in any case, not followed by more of a word. */
function keywordAt(sql: string, at: number, keyword: string): boolean {
  const n = keyword.length;
  for (let k = 0; k < n; k++) if ((sql.charCodeAt(at + k) | 0x20) !== keyword.charCodeAt(k)) return false;
  return !isWordChar(sql.charCodeAt(at + n));
}

/** `"OWNER"."TABLE"` at `at` (names read over: the caller knows the table); the position after it. */
function skipTableName(sql: string, at: number): number {
  if (sql.charCodeAt(at) !== DQUOTE) return FALLBACK;
  const dot = sql.indexOf('"', at + 1) + 1;
  if (dot === 0 || sql.charCodeAt(dot) !== DOT || sql.charCodeAt(dot + 1) !== DQUOTE) return FALLBACK;
  const end = sql.indexOf('"', dot + 2);
  return end < 0 ? FALLBACK : end + 1;
}

/** The quoted column name at `at` resolved into {@link columnSlot}; the position after its closing quote. */
function readColumn(sql: string, at: number, table: OracleRedoTable, row: OracleRedoRowBuffer): number {
  if (sql.charCodeAt(at) !== DQUOTE) return FALLBACK;
  const start = at + 1;
  // Compared in place, each name ending at the closing quote (names have no
  // quotes), from the hinted column on: LogMiner lists columns in table
  // order, often with gaps (an update's changed columns). Wide tables try the
  // hint only, then hash the name.
  const names = table.names;
  const count = names.length;
  const tries = count <= IN_PLACE_COLUMNS ? count : 1;
  for (let k = 0; k < tries; k++) {
    let i = hint + k;
    if (i >= count) i -= count;
    const name = names[i] as string;
    const end = start + name.length;
    if (sql.charCodeAt(end) === DQUOTE && sameText(sql, start, name)) {
      columnSlot = i;
      hint = i + 1;
      return end + 1;
    }
  }
  const length = sql.length;
  // names are short: a loop here is cheaper than a call to indexOf
  let close = start;
  while (close < length && sql.charCodeAt(close) !== DQUOTE) close++;
  if (close >= length) return FALLBACK;
  const slot = table.slotAt(sql, start, close, hint);
  if (slot >= 0) hint = slot + 1;
  else if (slot === REDO_SLOT_UNKNOWN && row.unknownColumn === undefined) row.unknownColumn = sql.slice(start, close);
  columnSlot = slot;
  return close + 1;
}

function scanInsert(sql: string, table: OracleRedoTable, row: OracleRedoRowBuffer): number {
  let pos: number;
  let slots: ArrayLike<number>;
  let count: number;
  const length = table.insertHeaderIn(sql);
  if (length > 0) {
    pos = length;
    slots = table.insertSlots;
    count = slots.length;
  } else {
    pos = scanInsertHeader(sql, table, row);
    if (pos < 0) return FALLBACK;
    slots = headerSlots;
    count = headerCount;
    // a header naming an unknown column is not kept: the next statement must report it too
    if (row.unknownColumn === undefined) {
      const kept = new Array<number>(count);
      for (let i = 0; i < count; i++) kept[i] = headerSlots[i] as number;
      table.keepInsertHeader(sql, pos, kept);
    }
  }
  if (count === 0) return FALLBACK;
  const values = row.values;
  for (let i = 0; ; ) {
    pos = scanValue(sql, pos, values, slots[i] as number);
    if (pos < 0) return FALLBACK;
    i++;
    const c = sql.charCodeAt(pos);
    if (c === COMMA && i < count) pos++;
    else if (c === RPAREN && i === count) return pos + 1;
    else return FALLBACK;
  }
}

/** `insert into "O"."T"("A","B") values (`: the column slots into {@link headerSlots}; the position after the `(`. */
function scanInsertHeader(sql: string, table: OracleRedoTable, row: OracleRedoRowBuffer): number {
  if (!sql.startsWith("insert into ")) return FALLBACK;
  let pos = skipTableName(sql, 12);
  if (pos < 0 || sql.charCodeAt(pos) !== LPAREN) return FALLBACK;
  pos++;
  hint = 0;
  let count = 0;
  for (;;) {
    pos = readColumn(sql, pos, table, row);
    if (pos < 0) return FALLBACK;
    if (count === headerSlots.length) {
      const grown = new Int32Array(count * 2);
      grown.set(headerSlots);
      headerSlots = grown;
    }
    headerSlots[count++] = columnSlot;
    const c = sql.charCodeAt(pos);
    if (c === COMMA) pos++;
    else if (c === RPAREN) break;
    else return FALLBACK;
  }
  headerCount = count;
  if (!sql.startsWith(") values (", pos)) return FALLBACK;
  return pos + 10;
}

function scanUpdate(sql: string, table: OracleRedoTable, row: OracleRedoRowBuffer): number {
  let pos: number;
  pos = table.updateHeaderIn(sql);
  if (pos < 0) {
    if (!sql.startsWith("update ")) return FALLBACK;
    pos = skipTableName(sql, 7);
    if (pos < 0 || sql.charCodeAt(pos) !== SPACE || !keywordAt(sql, pos + 1, "set")) return FALLBACK;
    pos += 4;
    table.keepUpdateHeader(sql, pos);
  }
  hint = 0;
  const values = row.values;
  for (;;) {
    if (sql.charCodeAt(pos) === SPACE) pos++;
    pos = readColumn(sql, pos, table, row);
    if (pos < 0 || sql.charCodeAt(pos) !== SPACE || sql.charCodeAt(pos + 1) !== EQUALS) return FALLBACK;
    pos = scanValue(sql, pos + 2, values, columnSlot);
    if (pos < 0) return FALLBACK;
    if (sql.charCodeAt(pos) !== COMMA) break;
    pos++;
  }
  if (sql.charCodeAt(pos) === SPACE && keywordAt(sql, pos + 1, "where")) return scanWhere(sql, pos + 6, table, row);
  return pos;
}

function scanDelete(sql: string, table: OracleRedoTable, row: OracleRedoRowBuffer): number {
  let pos: number;
  pos = table.deleteHeaderIn(sql);
  if (pos < 0) {
    if (!sql.startsWith("delete from ")) return FALLBACK;
    pos = skipTableName(sql, 12);
    if (pos < 0 || sql.charCodeAt(pos) !== SPACE || !keywordAt(sql, pos + 1, "where")) return FALLBACK;
    pos += 6;
    table.keepDeleteHeader(sql, pos);
  }
  return scanWhere(sql, pos, table, row);
}

/** `"A" = value`, `"A" IS NULL` and `ROWID = '…'` (read, not kept) joined by `and`. */
function scanWhere(sql: string, at: number, table: OracleRedoTable, row: OracleRedoRowBuffer): number {
  hint = 0;
  const where = row.where;
  let pos = at;
  for (;;) {
    if (sql.charCodeAt(pos) === SPACE) pos++;
    let slot: number;
    if (sql.charCodeAt(pos) === DQUOTE) {
      pos = readColumn(sql, pos, table, row);
      if (pos < 0 || sql.charCodeAt(pos) !== SPACE) return FALLBACK;
      slot = columnSlot;
    } else if (keywordAt(sql, pos, "rowid")) {
      pos += 5;
      if (sql.charCodeAt(pos) !== SPACE) return FALLBACK;
      slot = -1;
    } else return FALLBACK;
    if (sql.charCodeAt(pos + 1) === EQUALS) {
      pos = scanValue(sql, pos + 2, where, slot);
      if (pos < 0) return FALLBACK;
    } else if (keywordAt(sql, pos + 1, "is") && sql.charCodeAt(pos + 3) === SPACE && keywordAt(sql, pos + 4, "null")) {
      if (slot >= 0) where.kinds[slot] = REDO_NULL;
      pos += 8;
    } else return FALLBACK;
    if (sql.charCodeAt(pos) !== SPACE || !keywordAt(sql, pos + 1, "and")) return pos;
    pos += 4;
  }
}

/** A `'…'` literal at `at` into {@link quotedText}, `''` unescaped; the position after it. */
function readQuoted(sql: string, at: number): number {
  let close = sql.indexOf("'", at + 1);
  if (close < 0) return FALLBACK;
  if (sql.charCodeAt(close + 1) !== QUOTE) {
    quotedText = sql.slice(at + 1, close);
    return close + 1;
  }
  let from = at + 1;
  let text = "";
  for (;;) {
    if (close < 0) return FALLBACK;
    if (sql.charCodeAt(close + 1) === QUOTE) {
      text += sql.slice(from, close + 1);
      from = close + 2;
      close = sql.indexOf("'", from);
      continue;
    }
    quotedText = text + sql.slice(from, close);
    return close + 1;
  }
}

/** `UNISTR('…')` at `at` (the word already matched) decoded into {@link quotedText}; the position after it. */
function readUnistr(sql: string, at: number): number {
  if (sql.charCodeAt(at + 6) !== LPAREN || sql.charCodeAt(at + 7) !== QUOTE) return FALLBACK;
  const pos = readQuoted(sql, at + 7);
  if (pos < 0 || sql.charCodeAt(pos) !== RPAREN) return FALLBACK;
  const text = decodeUnistrText(quotedText);
  if (text === undefined) return FALLBACK;
  quotedText = text;
  return pos + 1;
}

/**
 * The value at `at` (after at most one blank) into `slots` at `slot` (not
 * kept when negative): a quoted string, NULL, a number, `UNISTR('…')`, a
 * `||` concatenation of those strings and NULLs, `EMPTY_CLOB()`,
 * `EMPTY_BLOB()`, `Unsupported Type` or a known function of quoted
 * arguments. The position after it.
 */
function scanValue(sql: string, at: number, slots: OracleRedoSlots, slot: number): number {
  let pos = at;
  let c = sql.charCodeAt(pos);
  if (c === SPACE) c = sql.charCodeAt(++pos);
  let kind: number;
  let text = "";
  let args: string[] | undefined;
  if (c === QUOTE) {
    pos = readQuoted(sql, pos);
    if (pos < 0) return FALLBACK;
    kind = REDO_STRING;
    text = quotedText;
  } else if (isDigit(c) || c === MINUS || c === PLUS || c === DOT) {
    const start = pos;
    pos = skipNumber(sql, pos);
    if (pos < 0) return FALLBACK;
    kind = REDO_NUMBER;
    text = sql.slice(start, pos);
  } else {
    const word = knownWordAt(sql, pos);
    switch (word) {
      case "NULL":
        kind = REDO_NULL;
        pos += 4;
        break;
      case "UNISTR":
        pos = readUnistr(sql, pos);
        if (pos < 0) return FALLBACK;
        kind = REDO_STRING;
        text = quotedText;
        break;
      case "EMPTY_CLOB":
      case "EMPTY_BLOB":
        if (sql.charCodeAt(pos + 10) !== LPAREN || sql.charCodeAt(pos + 11) !== RPAREN) return FALLBACK;
        kind = word === "EMPTY_CLOB" ? REDO_EMPTY_CLOB : REDO_EMPTY_BLOB;
        pos += 12;
        break;
      case "UNSUPPORTED":
        if (sql.charCodeAt(pos + 11) !== SPACE || !keywordAt(sql, pos + 12, "type")) return FALLBACK;
        kind = REDO_UNSUPPORTED;
        pos += 16;
        break;
      case "":
        return FALLBACK;
      default: {
        // TO_DATE, TO_TIMESTAMP[_TZ], TO_DSINTERVAL, TO_YMINTERVAL, HEXTORAW: quoted arguments
        pos += word.length;
        if (sql.charCodeAt(pos) !== LPAREN || sql.charCodeAt(pos + 1) !== QUOTE) return FALLBACK;
        pos = readQuoted(sql, pos + 1);
        if (pos < 0) return FALLBACK;
        const first = quotedText;
        pos = nextArgument(sql, pos);
        if (pos < 0) return FALLBACK;
        if (sql.charCodeAt(pos) === RPAREN) args = [first];
        else {
          pos = readQuoted(sql, pos);
          if (pos < 0) return FALLBACK;
          args = [first, quotedText];
          for (;;) {
            pos = nextArgument(sql, pos);
            if (pos < 0) return FALLBACK;
            if (sql.charCodeAt(pos) === RPAREN) break;
            pos = readQuoted(sql, pos);
            if (pos < 0) return FALLBACK;
            args.push(quotedText);
          }
        }
        pos++;
        kind = REDO_CALL;
        text = word;
      }
    }
  }
  if (kind === REDO_STRING || kind === REDO_NULL) {
    // a || concatenation of strings (NULL is the empty string in one)
    let next = pos;
    if (sql.charCodeAt(next) === SPACE) next++;
    if (sql.charCodeAt(next) === PIPE) {
      pos = concatenate(sql, next, kind === REDO_STRING ? text : "");
      if (pos < 0) return FALLBACK;
      kind = REDO_STRING;
      text = quotedText;
    }
  }
  if (slot >= 0) {
    slots.kinds[slot] = kind;
    if (kind === REDO_STRING || kind === REDO_NUMBER) slots.texts[slot] = text;
    else if (kind === REDO_CALL) {
      slots.texts[slot] = text;
      slots.args[slot] = args;
    }
  }
  return pos;
}

/** After a call argument: the position of the next quoted argument (after `,` and at most one blank) or of the closing `)`. */
function nextArgument(sql: string, at: number): number {
  const c = sql.charCodeAt(at);
  if (c === RPAREN) return at;
  if (c !== COMMA) return FALLBACK;
  let pos = at + 1;
  if (sql.charCodeAt(pos) === SPACE) pos++;
  return sql.charCodeAt(pos) === QUOTE ? pos : FALLBACK;
}

/** `|| term || term …` at `at` after `first`, joined into {@link quotedText}; the position after the last term. */
function concatenate(sql: string, at: number, first: string): number {
  let text = first;
  let pos = at;
  for (;;) {
    if (sql.charCodeAt(pos + 1) !== PIPE) return FALLBACK;
    pos += 2;
    if (sql.charCodeAt(pos) === SPACE) pos++;
    const c = sql.charCodeAt(pos);
    if (c === QUOTE) {
      pos = readQuoted(sql, pos);
      if (pos < 0) return FALLBACK;
      text += quotedText;
    } else if ((c | 0x20) === 0x75 && isWordAt(sql, pos, "UNISTR") && !isWordChar(sql.charCodeAt(pos + 6))) {
      pos = readUnistr(sql, pos);
      if (pos < 0) return FALLBACK;
      text += quotedText;
    } else if ((c | 0x20) === 0x6e && keywordAt(sql, pos, "null")) pos += 4;
    else return FALLBACK;
    let next = pos;
    if (sql.charCodeAt(next) === SPACE) next++;
    if (sql.charCodeAt(next) !== PIPE) {
      quotedText = text;
      return pos;
    }
    pos = next;
  }
}

/** An unquoted number at `at`: sign, digits with at most one point, optional exponent; the position after it. */
function skipNumber(sql: string, at: number): number {
  let i = at;
  let c = sql.charCodeAt(i);
  if (c === MINUS || c === PLUS) c = sql.charCodeAt(++i);
  let digits = 0;
  while (isDigit(c)) {
    digits++;
    c = sql.charCodeAt(++i);
  }
  if (c === DOT) {
    c = sql.charCodeAt(++i);
    while (isDigit(c)) {
      digits++;
      c = sql.charCodeAt(++i);
    }
  }
  if (digits === 0) return FALLBACK;
  if (c === 0x45 || c === 0x65) {
    c = sql.charCodeAt(++i);
    if (c === MINUS || c === PLUS) c = sql.charCodeAt(++i);
    if (!isDigit(c)) return FALLBACK;
    while (isDigit(c)) c = sql.charCodeAt(++i);
  }
  return i;
}

// Character classes and words of LogMiner's `SQL_REDO` text, shared with the full scanner (oracle-sql-redo-parser.ts).

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Letters, digits, `_`, `$`, `#`: what an unquoted Oracle identifier or keyword is made of. */
export function isWordChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x5f || c === 0x24 || c === 0x23;
}

export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Whether `sql[start, start + upper.length)` is `upper`, ignoring the case of letters. */
export function isWordAt(sql: string, start: number, upper: string): boolean {
  for (let k = 0; k < upper.length; k++) {
    let c = sql.charCodeAt(start + k);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== upper.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * The word at `start` upper-cased when it is one of the words LogMiner prints
 * as a value and ends there (the constant itself, so no string is made),
 * else "". One or two characters pick the candidate, one comparison checks it.
 */
export function knownWordAt(sql: string, start: number): string {
  let word: string;
  // letters upper-cased; nothing else is tested
  switch (sql.charCodeAt(start) & ~0x20) {
    case 0x54: // T
      switch (sql.charCodeAt(start + 3) & ~0x20) {
        case 0x54:
          word = sql.charCodeAt(start + 12) === 0x5f ? "TO_TIMESTAMP_TZ" : "TO_TIMESTAMP";
          break;
        case 0x44:
          word = (sql.charCodeAt(start + 4) & ~0x20) === 0x41 ? "TO_DATE" : "TO_DSINTERVAL";
          break;
        case 0x59:
          word = "TO_YMINTERVAL";
          break;
        default:
          return "";
      }
      break;
    case 0x48: // H
      word = "HEXTORAW";
      break;
    case 0x55: // U
      word = (sql.charCodeAt(start + 2) & ~0x20) === 0x49 ? "UNISTR" : "UNSUPPORTED";
      break;
    case 0x45: // E
      word = (sql.charCodeAt(start + 6) & ~0x20) === 0x43 ? "EMPTY_CLOB" : "EMPTY_BLOB";
      break;
    case 0x4e: // N
      word = "NULL";
      break;
    default:
      return "";
  }
  return isWordAt(sql, start, word) && !isWordChar(sql.charCodeAt(start + word.length)) ? word : "";
}

/**
 * UNISTR's escapes decoded: `\XXXX` is one UTF-16 code unit, `\\` a
 * backslash; undefined when an escape is neither.
 */
export function decodeUnistrText(raw: string): string | undefined {
  let slash = raw.indexOf("\\");
  if (slash < 0) return raw;
  let text = "";
  let from = 0;
  while (slash >= 0) {
    text += raw.slice(from, slash);
    if (raw.charCodeAt(slash + 1) === 0x5c) {
      text += "\\";
      from = slash + 2;
    } else {
      let unit = 0;
      for (let i = 1; i <= 4; i++) {
        const h = hexValue(raw.charCodeAt(slash + i));
        if (h < 0) return undefined;
        unit = unit * 16 + h;
      }
      text += String.fromCharCode(unit);
      from = slash + 5;
    }
    slash = raw.indexOf("\\", from);
  }
  return text + raw.slice(from);
}
