import { ZeroEtlError } from "@zero-etl/core";
import type { OracleRedoRowBuffer } from "./oracle-redo-slots.js";
import type { OracleRedoLiteral, OracleRedoRow, OracleRedoStatement } from "./oracle-redo-statement.js";
import { decodeUnistrText, isDigit, isSpace, isWordAt, isWordChar, knownWordAt, scanRedoRow } from "./oracle-redo-row-scanner.js";
import { OracleRedoTable, REDO_SLOT_UNKNOWN } from "./oracle-redo-table.js";

/** A `SQL_REDO` text that is not an insert, update or delete LogMiner prints. */
export class OracleRedoParseError extends ZeroEtlError {
  /** Zero-based offset in the statement where parsing stopped. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(message, { code: "source-failed" });
    this.name = "OracleRedoParseError";
    this.position = position;
  }
}

// Shared, frozen: the hot path hands out the same object for every NULL.
const NULL_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "null" });
const UNSUPPORTED_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "unsupported" });
const EMPTY_CLOB_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "empty-lob", lob: "clob" });
const EMPTY_BLOB_LITERAL: OracleRedoLiteral = Object.freeze({ kind: "empty-lob", lob: "blob" });
const NO_COLUMNS: ReadonlyMap<string, OracleRedoLiteral> = new Map();
const ROWID = "ROWID";

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
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const STAR = 0x2a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const EXCERPT_LENGTH = 32;

/** Which result a literal goes to: an insert's values or an update's set clause, or a where clause. */
const VALUES = 0;
const WHERE = 1;
type Clause = typeof VALUES | typeof WHERE;

/**
 * A single-pass scanner over one statement. It reads char codes and never
 * slices syntax out of the input: identifiers are kept as spans
 * (`idStart`..`idEnd`) that the subclass resolves, by name for
 * {@link parseSqlRedo}, by in-place comparison with the table's columns for
 * {@link parseSqlRedoRow}. The only allocations are the literals and what
 * the subclass builds.
 */
abstract class RedoScanner<Result> {
  protected sql = "";
  protected pos = 0;
  /** The identifier just read: `sql[idStart, idEnd)`, whether it was quoted and (unquoted) whether it has lower-case letters. */
  protected idStart = 0;
  protected idEnd = 0;
  protected idQuoted = false;
  protected idLower = false;
  private slotBuffer = new Int32Array(64);

  /** Called with the identifier just read as the first (`second` false) or second part of the table name. */
  protected abstract tablePart(second: boolean): void;
  /** Starts the insert values, set or where clause (called once per clause, before its first {@link put}). */
  protected abstract beginClause(clause: Clause): void;
  /** The slot of the column named by the identifier just read; a negative slot is not stored. */
  protected abstract column(): number;
  protected abstract put(clause: Clause, slot: number, literal: OracleRedoLiteral): void;
  /** The result once the whole statement is read. */
  protected abstract result(kind: "insert" | "update" | "delete"): Result;

  protected scan(sql: string): Result {
    this.sql = sql;
    this.pos = 0;
    let kind: "insert" | "update" | "delete";
    const cached = this.cachedHeader();
    if (cached === "update") {
      this.parseUpdateClauses();
      kind = cached;
    } else if (cached === "delete") {
      this.parseConditions();
      kind = cached;
    } else if (this.tryKeyword("insert")) {
      this.parseInsert();
      kind = "insert";
    } else if (this.tryKeyword("update")) {
      this.parseUpdate();
      kind = "update";
    } else if (this.tryKeyword("delete")) {
      this.parseDelete();
      kind = "delete";
    } else throw this.fail("insert, update or delete");
    this.finishStatement();
    return this.result(kind);
  }

  /**
   * When the statement starts with a header seen before for this table (an
   * update up to `set`, a delete up to `where`), moves past it and says
   * which; else undefined and the cursor stays at 0.
   */
  protected cachedHeader(): "update" | "delete" | undefined {
    return undefined;
  }

  /** Called when an update's header (up to `set`) or a delete's (up to `where`) has been read, the cursor after it. */
  protected headerRead(_kind: "update" | "delete"): void {}

  private finishStatement(): void {
    this.skipSpace();
    if (this.peek() === SEMICOLON) {
      this.pos++;
      this.skipSpace();
    }
    if (this.pos < this.sql.length) throw this.fail("the end of the statement");
  }

  /** `insert into "O"."T"("A","B") values (`: the slots of the listed columns; the cursor is after the `(`. */
  protected parseInsertHeader(): number[] {
    this.expectKeyword("into");
    this.parseTableName();
    this.skipSpace();
    // collected in a buffer kept across statements, then copied once at the exact size
    let buffer = this.slotBuffer;
    let count = 0;
    if (this.peek() === LPAREN) {
      this.pos++;
      for (;;) {
        // LogMiner's form `"A","B"`: a quoted name right at the cursor, read in place
        if (!this.tryQuotedName()) this.readIdentifier();
        if (count === buffer.length) {
          const grown = new Int32Array(buffer.length * 2);
          grown.set(buffer);
          buffer = this.slotBuffer = grown;
        }
        buffer[count++] = this.column();
        if (!this.tryChar(COMMA)) break;
      }
      this.expectChar(RPAREN, "',' or ')' after a column name");
    }
    this.expectKeyword("values");
    this.expectChar(LPAREN, "'(' after values");
    const slots = new Array<number>(count);
    for (let i = 0; i < count; i++) slots[i] = buffer[i] as number;
    return slots;
  }

  protected parseInsert(): void {
    this.parseInsertValues(this.parseInsertHeader());
  }

  /** The values after `values (`, one per listed column. */
  protected parseInsertValues(slots: readonly number[]): void {
    this.beginClause(VALUES);
    let index = 0;
    this.skipSpace();
    if (this.peek() !== RPAREN) {
      for (;;) {
        const at = this.pos;
        const literal = this.parseValue();
        const slot = slots[index];
        if (slot === undefined) {
          this.pos = at;
          throw this.fail(`no more than ${slots.length} values (one per listed column)`);
        }
        this.put(VALUES, slot, literal);
        index++;
        if (!this.tryChar(COMMA)) break;
      }
    }
    this.expectChar(RPAREN, "',' or ')' after a value");
    if (index !== slots.length) throw this.fail(`${slots.length} values (one per listed column), got ${index}`);
  }

  private parseUpdate(): void {
    this.parseTableName();
    if (!this.tryKeyword("set")) {
      this.skipAlias();
      this.expectKeyword("set");
    }
    this.headerRead("update");
    this.parseUpdateClauses();
  }

  /** The set clause and the where clause, if any. */
  private parseUpdateClauses(): void {
    this.beginClause(VALUES);
    for (;;) {
      if (!this.tryQuotedEquals()) {
        this.readColumnRef();
        const slot = this.column();
        this.expectChar(EQUALS, "'=' after a column name");
        this.put(VALUES, slot, this.parseValue());
      } else this.put(VALUES, this.column(), this.parseValue());
      if (!this.tryChar(COMMA)) break;
    }
    if (this.tryKeyword("where")) this.parseConditions();
  }

  private parseDelete(): void {
    this.expectKeyword("from");
    this.parseTableName();
    this.skipSpace();
    if (this.pos < this.sql.length && this.peek() !== SEMICOLON && !this.tryKeyword("where", false)) this.skipAlias();
    if (this.tryKeyword("where")) {
      this.headerRead("delete");
      this.parseConditions();
    }
  }

  /** `"C" = value`, `"C" IS NULL`, joined by `and`; the `ROWID = '…'` term is skipped. */
  private parseConditions(): void {
    this.beginClause(WHERE);
    for (;;) {
      if (this.tryQuotedEquals()) {
        this.put(WHERE, this.column(), this.parseValue());
        if (!this.tryAnd()) break;
        continue;
      }
      this.skipSpace();
      this.readColumnRef();
      // a quoted name ends with its closing quote; only the unquoted ROWID is the pseudo-column
      const pseudo = !this.idQuoted && this.isRowId();
      const slot = pseudo ? -1 : this.column();
      let literal: OracleRedoLiteral;
      this.skipSpace();
      // `=` is by far the most common: tested first, in place
      if (this.peek() === EQUALS) {
        this.pos++;
        literal = this.parseValue();
      } else if (this.tryKeyword("is")) {
        this.expectKeyword("null");
        literal = NULL_LITERAL;
      } else throw this.fail("'=' or IS NULL after a column name");
      if (!pseudo) this.put(WHERE, slot, literal);
      if (!this.tryAnd()) break;
    }
  }

  /**
   * The common form of a set or where term, `"NAME" =` after at most one
   * blank: reads the name as the identifier and moves past the `=`. Any other
   * form (an alias, an unquoted name, IS NULL, other blanks) is left to the
   * full path.
   */
  private tryQuotedEquals(): boolean {
    const sql = this.sql;
    let at = this.pos;
    if (sql.charCodeAt(at) === SPACE) at++;
    if (sql.charCodeAt(at) !== DQUOTE) return false;
    let close = at + 1;
    const length = sql.length;
    while (close < length && sql.charCodeAt(close) !== DQUOTE) close++;
    if (close >= length || sql.charCodeAt(close + 1) !== SPACE || sql.charCodeAt(close + 2) !== EQUALS) return false;
    this.idStart = at + 1;
    this.idEnd = close;
    this.idQuoted = true;
    this.idLower = false;
    this.pos = close + 3;
    return true;
  }

  /** A quoted name right at the cursor (no blank before it), read as the identifier; else false and nothing moves. */
  private tryQuotedName(): boolean {
    const sql = this.sql;
    const at = this.pos;
    if (sql.charCodeAt(at) !== DQUOTE) return false;
    let close = at + 1;
    const length = sql.length;
    while (close < length && sql.charCodeAt(close) !== DQUOTE) close++;
    if (close >= length) return false;
    this.idStart = at + 1;
    this.idEnd = close;
    this.idQuoted = true;
    this.idLower = false;
    this.pos = close + 1;
    return true;
  }

  /** `tryKeyword("and")`, small enough to be inlined in the where loop. */
  private tryAnd(): boolean {
    this.skipSpace();
    const sql = this.sql;
    const at = this.pos;
    if ((sql.charCodeAt(at) | 0x20) !== 0x61 || (sql.charCodeAt(at + 1) | 0x20) !== 0x6e || (sql.charCodeAt(at + 2) | 0x20) !== 0x64) return false;
    if (isWordChar(sql.charCodeAt(at + 3))) return false;
    this.pos = at + 3;
    return true;
  }

  /** Whether the (unquoted) identifier just read is `ROWID`, in any case. */
  private isRowId(): boolean {
    const start = this.idStart;
    if (this.idEnd - start !== ROWID.length) return false;
    for (let k = 0; k < ROWID.length; k++) if ((this.sql.charCodeAt(start + k) & ~0x20) !== ROWID.charCodeAt(k)) return false;
    return true;
  }

  /** A table alias LogMiner may print after the table name (`update "O"."T" a set a."C" = …`). */
  private skipAlias(): void {
    this.skipSpace();
    if (!isWordChar(this.peek()) && this.peek() !== DQUOTE) throw this.fail("SET, WHERE or a table alias");
    this.readIdentifier();
  }

  /** A column name, possibly qualified by the table alias (`a."C"`): the alias is dropped. */
  private readColumnRef(): void {
    this.readIdentifier();
    if (this.peek() !== DOT) return;
    this.pos++;
    this.readIdentifier();
  }

  /** `"OWNER"."TABLE"`; LogMiner always qualifies, an unqualified name gets the owner "". */
  private parseTableName(): void {
    this.readIdentifier();
    this.tablePart(false);
    this.skipSpace();
    if (this.peek() !== DOT) return;
    this.pos++;
    this.readIdentifier();
    this.tablePart(true);
  }

  /** The identifier just read as the dictionary stores it: quoted as is, unquoted upper-cased. */
  protected identifierText(): string {
    const text = this.sql.slice(this.idStart, this.idEnd);
    return this.idLower ? text.toUpperCase() : text;
  }

  /** A value, with `||` concatenations of strings joined into one string. */
  protected parseValue(): OracleRedoLiteral {
    // Fast path for the two most common values, a quoted string without '' and NULL, when
    // no || follows: the same result as parseConcatenation, read with local variables.
    const sql = this.sql;
    let at = this.pos;
    let c = sql.charCodeAt(at);
    if (c === SPACE) c = sql.charCodeAt(++at);
    let end = -1;
    if (c === QUOTE) {
      const close = sql.indexOf("'", at + 1);
      if (close > 0 && sql.charCodeAt(close + 1) !== QUOTE) end = close + 1;
    } else if ((c | 0x20) === 0x6e && isWordAt(sql, at, "NULL") && !isWordChar(sql.charCodeAt(at + 4))) end = at + 4;
    if (end > 0) {
      // what follows must be neither a blank run, a comment nor a || (those take the full path)
      let next = end;
      let d = sql.charCodeAt(next);
      if (d === SPACE) d = sql.charCodeAt(++next);
      if (d > 0x20 && d !== PIPE && d !== SLASH) {
        this.pos = next;
        return c === QUOTE ? { kind: "string", value: sql.slice(at + 1, end - 1) } : NULL_LITERAL;
      }
    }
    return this.parseConcatenation();
  }

  /** A value, with `||` concatenations of strings joined into one string. */
  private parseConcatenation(): OracleRedoLiteral {
    const first = this.parseTerm();
    this.skipSpace();
    if (!this.isConcat()) return first;
    let text = this.concatText(first);
    while (this.isConcat()) {
      this.pos += 2;
      text += this.concatText(this.parseTerm());
      this.skipSpace();
    }
    return { kind: "string", value: text };
  }

  private isConcat(): boolean {
    return this.peek() === PIPE && this.sql.charCodeAt(this.pos + 1) === PIPE;
  }

  private concatText(literal: OracleRedoLiteral): string {
    // Oracle treats NULL as the empty string in a concatenation.
    if (literal.kind === "string") return literal.value;
    if (literal.kind === "null") return "";
    throw this.fail("a string, UNISTR(…) or NULL in a || concatenation");
  }

  private parseTerm(): OracleRedoLiteral {
    this.skipSpace();
    const c = this.peek();
    if (c === QUOTE) return { kind: "string", value: this.parseQuoted() };
    if (isDigit(c) || c === MINUS || c === PLUS || c === DOT) return { kind: "number", text: this.parseNumber() };
    if (!isWordChar(c)) throw this.fail("a value");
    // NULL is the most frequent word: matched in place, without slicing it out
    if ((c | 0x20) === 0x6e && this.tryKeyword("null")) return NULL_LITERAL;
    const start = this.pos;
    let upper = knownWordAt(this.sql, start);
    if (upper !== "") this.pos = start + upper.length;
    else {
      this.skipWord();
      const word = this.sql.slice(start, this.pos);
      upper = this.lowerInWord ? word.toUpperCase() : word;
    }
    switch (upper) {
      case "NULL":
        return NULL_LITERAL;
      case "UNSUPPORTED":
        this.expectKeyword("type");
        return UNSUPPORTED_LITERAL;
      case "EMPTY_CLOB":
      case "EMPTY_BLOB":
        // the messages are built only on failure: this is the hot path
        if (!this.tryChar(LPAREN)) throw this.fail("'(' after " + upper);
        if (!this.tryChar(RPAREN)) throw this.fail("')' after " + upper + "(");
        return upper === "EMPTY_CLOB" ? EMPTY_CLOB_LITERAL : EMPTY_BLOB_LITERAL;
      case "UNISTR": {
        this.expectChar(LPAREN, "'(' after UNISTR");
        this.skipSpace();
        if (this.peek() !== QUOTE) throw this.fail("a quoted string in UNISTR(…)");
        const value = this.decodeUnistr(this.parseQuoted());
        this.expectChar(RPAREN, "')' after the UNISTR argument");
        return { kind: "string", value };
      }
      default:
        break;
    }
    this.skipSpace();
    if (this.peek() !== LPAREN) {
      this.pos = start;
      throw this.fail("a value");
    }
    this.pos++;
    // arrays of the exact size: an empty array grown by push reserves room for 17
    let args: string[];
    this.skipSpace();
    if (this.peek() === RPAREN) args = [];
    else {
      const first = this.parseArgument(upper);
      if (!this.tryChar(COMMA)) args = [first];
      else {
        const second = this.parseArgument(upper);
        args = [first, second];
        while (this.tryChar(COMMA)) args.push(this.parseArgument(upper));
      }
    }
    if (!this.tryChar(RPAREN)) throw this.fail(`',' or ')' in the arguments of ${upper}`);
    return { kind: "call", fn: upper, args };
  }

  /** One argument of the call `fn`: a string (possibly a concatenation) or a number, as text. */
  private parseArgument(fn: string): string {
    this.skipSpace();
    if (this.peek() === QUOTE) {
      const at = this.pos;
      const text = this.parseQuoted();
      this.skipSpace();
      if (!this.isConcat()) return text;
      // a concatenation: parsed again as a whole value
      this.pos = at;
    }
    const arg = this.parseValue();
    if (arg.kind === "string") return arg.value;
    if (arg.kind === "number") return arg.text;
    throw this.fail(`a string or number argument of ${fn}`);
  }

  /** A `'…'` literal at the cursor with `''` unescaped. */
  private parseQuoted(): string {
    const sql = this.sql;
    const open = this.pos;
    let from = open + 1;
    let close = sql.indexOf("'", from);
    if (close < 0) throw this.fail("a closing quote");
    if (sql.charCodeAt(close + 1) !== QUOTE) {
      this.pos = close + 1;
      return sql.slice(from, close);
    }
    let text = "";
    for (;;) {
      if (close < 0) {
        this.pos = open;
        throw this.fail("a closing quote");
      }
      if (sql.charCodeAt(close + 1) === QUOTE) {
        text += sql.slice(from, close + 1);
        from = close + 2;
        close = sql.indexOf("'", from);
        continue;
      }
      text += sql.slice(from, close);
      this.pos = close + 1;
      return text;
    }
  }

  /** UNISTR's escapes: `\XXXX` is one UTF-16 code unit, `\\` a backslash. */
  private decodeUnistr(raw: string): string {
    const text = decodeUnistrText(raw);
    if (text === undefined) throw this.fail("\\XXXX (four hex digits) or \\\\ in UNISTR(…)");
    return text;
  }

  /** An unquoted number: sign, digits with at most one point, optional exponent. */
  private parseNumber(): string {
    const sql = this.sql;
    const start = this.pos;
    let i = start;
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
    if (digits === 0) throw this.fail("a number");
    if (c === 0x45 || c === 0x65) {
      c = sql.charCodeAt(++i);
      if (c === MINUS || c === PLUS) c = sql.charCodeAt(++i);
      if (!isDigit(c)) {
        this.pos = i;
        throw this.fail("the digits of an exponent");
      }
      while (isDigit(c)) c = sql.charCodeAt(++i);
    }
    this.pos = i;
    return sql.slice(start, i);
  }

  /** An identifier at the cursor (after blanks), kept as a span: see {@link idStart}. */
  protected readIdentifier(): void {
    this.skipSpace();
    const sql = this.sql;
    const at = this.pos;
    if (sql.charCodeAt(at) === DQUOTE) {
      // names are short: a loop here is cheaper than a call to indexOf
      let close = at + 1;
      const length = sql.length;
      while (close < length && sql.charCodeAt(close) !== DQUOTE) close++;
      if (close >= length) throw this.fail("a closing double quote");
      this.idStart = at + 1;
      this.idEnd = close;
      this.idQuoted = true;
      this.idLower = false;
      this.pos = close + 1;
      return;
    }
    if (!isWordChar(sql.charCodeAt(at))) throw this.fail("an identifier");
    this.skipWord();
    this.idStart = at;
    this.idEnd = this.pos;
    this.idQuoted = false;
    this.idLower = this.lowerInWord;
  }

  /** Whether the last {@link readWord} saw a lower-case letter (else it needs no upper-casing). */
  private lowerInWord = false;

  /** Moves past the word at the cursor, noting in {@link lowerInWord} whether it has lower-case letters. */
  private skipWord(): void {
    const sql = this.sql;
    let i = this.pos;
    let lower = false;
    for (; i < sql.length; i++) {
      const c = sql.charCodeAt(i);
      if (c >= 0x61 && c <= 0x7a) lower = true;
      else if (!isWordChar(c)) break;
    }
    this.lowerInWord = lower;
    this.pos = i;
  }

  private peek(): number {
    return this.sql.charCodeAt(this.pos);
  }

  // White space and block comments: LogMiner marks a binary JSON value with a JSON comment before it.
  private skipSpace(): void {
    // most calls find a token at the cursor: one comparison, small enough to inline
    const sql = this.sql;
    const at = this.pos;
    const c = sql.charCodeAt(at);
    if (c > 0x20 && c !== SLASH) return;
    // the next most common: one blank before the token
    if (c === 0x20) {
      const d = sql.charCodeAt(at + 1);
      if (d > 0x20 && d !== SLASH) {
        this.pos = at + 1;
        return;
      }
    }
    this.skipSpaceFrom(at);
  }

  private skipSpaceFrom(from: number): void {
    const sql = this.sql;
    let i = from;
    for (;;) {
      const c = sql.charCodeAt(i);
      if (isSpace(c)) i++;
      else if (c === SLASH && sql.charCodeAt(i + 1) === STAR) {
        const end = sql.indexOf("*/", i + 2);
        if (end < 0) {
          this.pos = i;
          throw this.fail("the end of a /* comment");
        }
        i = end + 2;
      } else break;
    }
    this.pos = i;
  }

  private tryChar(c: number): boolean {
    this.skipSpace();
    if (this.sql.charCodeAt(this.pos) !== c) return false;
    this.pos++;
    return true;
  }

  private expectChar(c: number, what: string): void {
    if (!this.tryChar(c)) throw this.fail(what);
  }

  /** Consumes `keyword` (lower-case, matched case-insensitively) when it is a whole word at the cursor. */
  private tryKeyword(keyword: string, consume = true): boolean {
    this.skipSpace();
    const sql = this.sql;
    const start = this.pos;
    const n = keyword.length;
    for (let k = 0; k < n; k++) {
      if ((sql.charCodeAt(start + k) | 0x20) !== keyword.charCodeAt(k)) return false;
    }
    if (isWordChar(sql.charCodeAt(start + n))) return false;
    if (consume) this.pos = start + n;
    return true;
  }

  private expectKeyword(keyword: string): void {
    if (!this.tryKeyword(keyword)) throw this.fail(keyword.toUpperCase());
  }

  private fail(expected: string): OracleRedoParseError {
    const at = Math.min(this.pos, this.sql.length);
    const excerpt = this.sql.slice(at, at + EXCERPT_LENGTH);
    const near = at >= this.sql.length ? "at the end" : `near "${excerpt}${at + EXCERPT_LENGTH < this.sql.length ? "…" : ""}"`;
    return new OracleRedoParseError(`SQL_REDO: expected ${expected} at position ${at} ${near}`, at);
  }
}


/** {@link parseSqlRedo}: names sliced out of the statement, literals in maps keyed by name, in statement order. */
class NamedScanner extends RedoScanner<OracleRedoStatement> {
  private owner = "";
  private table = "";
  /** Every column name read so far; a slot is an index in it. */
  private names: string[] = [];
  private values: Map<string, OracleRedoLiteral> | undefined;
  private where: Map<string, OracleRedoLiteral> | undefined;

  parse(sql: string): OracleRedoStatement {
    this.owner = "";
    this.table = "";
    this.names = [];
    this.values = undefined;
    this.where = undefined;
    return this.scan(sql);
  }

  protected tablePart(second: boolean): void {
    if (second) this.owner = this.table;
    this.table = this.identifierText();
  }

  protected beginClause(clause: Clause): void {
    if (clause === VALUES) this.values = new Map();
    else this.where = new Map();
  }

  protected column(): number {
    this.names.push(this.identifierText());
    return this.names.length - 1;
  }

  protected put(clause: Clause, slot: number, literal: OracleRedoLiteral): void {
    const name = this.names[slot] as string;
    (clause === VALUES ? this.values : this.where)?.set(name, literal);
  }

  protected result(kind: "insert" | "update" | "delete"): OracleRedoStatement {
    const { owner, table } = this;
    const values = this.values ?? NO_COLUMNS;
    const where = this.where ?? NO_COLUMNS;
    switch (kind) {
      case "insert":
        return { kind, owner, table, values };
      case "update":
        return { kind, owner, table, set: values, where };
      case "delete":
        return { kind, owner, table, where };
    }
  }
}

/**
 * {@link parseSqlRedoRow}'s full path: column names compared in place with
 * the table's columns, literals into the table's reused {@link OracleRedoRowBuffer}.
 * One instance is reused for every statement (parsing is synchronous and
 * never re-entered). It reads every form {@link parseSqlRedo} reads, with the
 * same errors; the common forms are read faster by `scanRedoRow` first.
 */
class RowScanner extends RedoScanner<OracleRedoRow> {
  private columns: OracleRedoTable = new OracleRedoTable([]);
  private row: OracleRedoRowBuffer = this.columns.row;
  /** The slot tried first for the next column: the one after the last found. */
  private hint = 0;

  parse(sql: string, columns: OracleRedoTable): OracleRedoRow {
    this.columns = columns;
    this.row = columns.row;
    this.row.reset();
    this.hint = 0;
    return this.scan(sql);
  }

  // the table is known already: its name is read over, not kept
  protected tablePart(): void {}

  /** An insert whose header (`insert into … values (`) repeats the table's last one skips to its values. */
  protected override parseInsert(): void {
    const columns = this.columns;
    const length = columns.insertHeaderIn(this.sql);
    if (length > 0) {
      this.pos = length;
      this.parseInsertValues(columns.insertSlots);
      return;
    }
    const slots = this.parseInsertHeader();
    // a header naming an unknown column is not kept: the next statement must report it too
    if (this.row.unknownColumn === undefined) columns.keepInsertHeader(this.sql, this.pos, slots);
    this.parseInsertValues(slots);
  }

  protected override cachedHeader(): "update" | "delete" | undefined {
    const sql = this.sql;
    const columns = this.columns;
    const c = sql.charCodeAt(0);
    const length = c === 0x75 ? columns.updateHeaderIn(sql) : c === 0x64 ? columns.deleteHeaderIn(sql) : -1;
    if (length < 0) return undefined;
    this.pos = length;
    return c === 0x75 ? "update" : "delete";
  }

  protected override headerRead(kind: "update" | "delete"): void {
    if (kind === "update") this.columns.keepUpdateHeader(this.sql, this.pos);
    else this.columns.keepDeleteHeader(this.sql, this.pos);
  }

  protected beginClause(): void {
    this.hint = 0;
  }

  protected column(): number {
    const columns = this.columns;
    const slot =
      !this.idQuoted && this.idLower ? columns.slotOf(this.identifierText()) : columns.slotAt(this.sql, this.idStart, this.idEnd, this.hint);
    if (slot >= 0) this.hint = slot + 1;
    else if (slot === REDO_SLOT_UNKNOWN && this.row.unknownColumn === undefined) this.row.unknownColumn = this.identifierText();
    return slot;
  }

  protected put(clause: Clause, slot: number, literal: OracleRedoLiteral): void {
    if (slot < 0) return;
    (clause === VALUES ? this.row.values : this.row.where).set(slot, literal);
  }

  protected result(kind: "insert" | "update" | "delete"): OracleRedoRow {
    this.row.kind = kind;
    return this.row;
  }
}

const namedScanner = new NamedScanner();
// read once: run through tsx, a function imported from another module costs a getter call on every use
const scanRow = scanRedoRow;
const rowScanner = new RowScanner();

/**
 * Parses one LogMiner `SQL_REDO` insert, update or delete (the whole text of
 * a row, continuation rows already joined) into its table and column
 * literals. Keywords are case-insensitive; quoted identifiers keep their
 * case, unquoted ones are upper-cased. Pure and synchronous.
 *
 * @throws OracleRedoParseError naming the position and a short excerpt when
 * the text is not a statement of that shape.
 */
export function parseSqlRedo(sql: string): OracleRedoStatement {
  return namedScanner.parse(sql);
}

/**
 * {@link parseSqlRedo} for a statement of a known table, the source's hot
 * path: the same grammar, literals and errors, but column names are resolved
 * against `columns` in place and the literals come back by column position in
 * `OracleRedoSlots` (a kind and a string per column, no object per value), so
 * no name is sliced out and no map is built. The forms LogMiner prints are
 * read by `scanRedoRow`; any other form, and every error, by the full scanner.
 * The owner and table in the text are read over, not checked (the caller
 * knows the table from `V$LOGMNR_CONTENTS`). A column `columns` skips is
 * dropped; the first one it does not have is named in `unknownColumn`.
 *
 * The result is `columns.row`, refilled by the next call with the same
 * `columns`: consume or copy it before then.
 *
 * @throws OracleRedoParseError as {@link parseSqlRedo} does.
 */
export function parseSqlRedoRow(sql: string, columns: OracleRedoTable): OracleRedoRow {
  if (scanRow(sql, columns)) return columns.row;
  return rowScanner.parse(sql, columns);
}
