import { ZeroEtlError } from "@zero-etl/core";
import type { OracleRedoColumns, OracleRedoLiteral, OracleRedoStatement } from "./oracle-redo-statement.js";

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
const NO_COLUMNS: OracleRedoColumns = new Map();

const QUOTE = 0x27; // '
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

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Letters, digits, `_`, `$`, `#`: what an unquoted Oracle identifier or keyword is made of. */
function isWordChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x5f || c === 0x24 || c === 0x23;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * A single-pass scanner over one statement. It reads char codes and slices
 * tokens straight out of the input, so the only allocations are the parsed
 * names, literals and maps themselves.
 */
class RedoScanner {
  private pos = 0;
  private owner = "";
  private table = "";

  constructor(private readonly sql: string) {}

  parse(): OracleRedoStatement {
    this.skipSpace();
    let statement: OracleRedoStatement;
    if (this.tryKeyword("insert")) statement = this.parseInsert();
    else if (this.tryKeyword("update")) statement = this.parseUpdate();
    else if (this.tryKeyword("delete")) statement = this.parseDelete();
    else throw this.fail("insert, update or delete");
    this.skipSpace();
    if (this.peek() === SEMICOLON) {
      this.pos++;
      this.skipSpace();
    }
    if (this.pos < this.sql.length) throw this.fail("the end of the statement");
    return statement;
  }

  private parseInsert(): OracleRedoStatement {
    this.expectKeyword("into");
    this.parseTableName();
    const { owner, table } = this;
    this.skipSpace();
    const names: string[] = [];
    const values = new Map<string, OracleRedoLiteral>();
    if (this.peek() === LPAREN) {
      this.pos++;
      for (;;) {
        names.push(this.parseIdentifier());
        if (!this.tryChar(COMMA)) break;
      }
      this.expectChar(RPAREN, "',' or ')' after a column name");
    }
    this.expectKeyword("values");
    this.expectChar(LPAREN, "'(' after values");
    let index = 0;
    this.skipSpace();
    if (this.peek() !== RPAREN) {
      for (;;) {
        const at = this.pos;
        const literal = this.parseValue();
        const name = names[index];
        if (name === undefined) {
          this.pos = at;
          throw this.fail(`no more than ${names.length} values (one per listed column)`);
        }
        values.set(name, literal);
        index++;
        if (!this.tryChar(COMMA)) break;
      }
    }
    this.expectChar(RPAREN, "',' or ')' after a value");
    if (index !== names.length) throw this.fail(`${names.length} values (one per listed column), got ${index}`);
    return { kind: "insert", owner, table, values };
  }

  private parseUpdate(): OracleRedoStatement {
    this.parseTableName();
    const { owner, table } = this;
    if (!this.tryKeyword("set")) {
      this.skipAlias();
      this.expectKeyword("set");
    }
    const set = new Map<string, OracleRedoLiteral>();
    for (;;) {
      const name = this.parseColumnRef();
      this.expectChar(EQUALS, "'=' after a column name");
      set.set(name, this.parseValue());
      if (!this.tryChar(COMMA)) break;
    }
    const where = this.tryKeyword("where") ? this.parseConditions() : NO_COLUMNS;
    return { kind: "update", owner, table, set, where };
  }

  private parseDelete(): OracleRedoStatement {
    this.expectKeyword("from");
    this.parseTableName();
    const { owner, table } = this;
    this.skipSpace();
    if (this.pos < this.sql.length && this.peek() !== SEMICOLON && !this.tryKeyword("where", false)) this.skipAlias();
    const where = this.tryKeyword("where") ? this.parseConditions() : NO_COLUMNS;
    return { kind: "delete", owner, table, where };
  }

  /** `"C" = value`, `"C" IS NULL`, joined by `and`; the `ROWID = '…'` term is skipped. */
  private parseConditions(): OracleRedoColumns {
    const where = new Map<string, OracleRedoLiteral>();
    for (;;) {
      this.skipSpace();
      const name = this.parseColumnRef();
      // a quoted name ends with its closing quote; only the unquoted ROWID is the pseudo-column
      const quoted = this.sql.charCodeAt(this.pos - 1) === DQUOTE;
      let literal: OracleRedoLiteral;
      if (this.tryKeyword("is")) {
        this.expectKeyword("null");
        literal = NULL_LITERAL;
      } else {
        this.expectChar(EQUALS, "'=' or IS NULL after a column name");
        literal = this.parseValue();
      }
      if (quoted || name !== "ROWID") where.set(name, literal);
      if (!this.tryKeyword("and")) break;
    }
    return where;
  }

  /** A table alias LogMiner may print after the table name (`update "O"."T" a set a."C" = …`). */
  private skipAlias(): void {
    this.skipSpace();
    if (!isWordChar(this.peek()) && this.peek() !== DQUOTE) throw this.fail("SET, WHERE or a table alias");
    this.parseIdentifier();
  }

  /** A column name, possibly qualified by the table alias (`a."C"`): the alias is dropped. */
  private parseColumnRef(): string {
    const name = this.parseIdentifier();
    if (this.peek() !== DOT) return name;
    this.pos++;
    return this.parseIdentifier();
  }

  /** `"OWNER"."TABLE"`; LogMiner always qualifies, an unqualified name gets the owner "". */
  private parseTableName(): void {
    const first = this.parseIdentifier();
    this.skipSpace();
    if (this.peek() !== DOT) {
      this.owner = "";
      this.table = first;
      return;
    }
    this.pos++;
    this.owner = first;
    this.table = this.parseIdentifier();
  }

  /** A value, with `||` concatenations of strings joined into one string. */
  private parseValue(): OracleRedoLiteral {
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
    if (this.tryKeyword("null")) return NULL_LITERAL;
    const start = this.pos;
    const word = this.readWord();
    const upper = this.lowerInWord ? word.toUpperCase() : word;
    switch (upper) {
      case "NULL":
        return NULL_LITERAL;
      case "UNSUPPORTED":
        this.expectKeyword("type");
        return UNSUPPORTED_LITERAL;
      case "EMPTY_CLOB":
      case "EMPTY_BLOB":
        this.expectChar(LPAREN, "'(' after " + upper);
        this.expectChar(RPAREN, "')' after " + upper + "(");
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
    const args: string[] = [];
    this.skipSpace();
    if (this.peek() !== RPAREN) {
      for (;;) {
        this.skipSpace();
        if (this.peek() === QUOTE) {
          const at = this.pos;
          const text = this.parseQuoted();
          this.skipSpace();
          if (!this.isConcat()) {
            args.push(text);
            if (!this.tryChar(COMMA)) break;
            continue;
          }
          // a concatenation: parsed again as a whole value
          this.pos = at;
        }
        const arg = this.parseValue();
        if (arg.kind === "string") args.push(arg.value);
        else if (arg.kind === "number") args.push(arg.text);
        else throw this.fail(`a string or number argument of ${upper}`);
        if (!this.tryChar(COMMA)) break;
      }
    }
    this.expectChar(RPAREN, `',' or ')' in the arguments of ${upper}`);
    return { kind: "call", fn: upper, args };
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
    let slash = raw.indexOf("\\");
    if (slash < 0) return raw;
    let text = "";
    let from = 0;
    while (slash >= 0) {
      text += raw.slice(from, slash);
      if (raw.charCodeAt(slash + 1) === BACKSLASH) {
        text += "\\";
        from = slash + 2;
      } else {
        let unit = 0;
        for (let i = 1; i <= 4; i++) {
          const h = hexValue(raw.charCodeAt(slash + i));
          if (h < 0) throw this.fail("\\XXXX (four hex digits) or \\\\ in UNISTR(…)");
          unit = unit * 16 + h;
        }
        text += String.fromCharCode(unit);
        from = slash + 5;
      }
      slash = raw.indexOf("\\", from);
    }
    return text + raw.slice(from);
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

  private parseIdentifier(): string {
    this.skipSpace();
    if (this.peek() === DQUOTE) {
      const close = this.sql.indexOf('"', this.pos + 1);
      if (close < 0) throw this.fail("a closing double quote");
      const name = this.sql.slice(this.pos + 1, close);
      this.pos = close + 1;
      return name;
    }
    if (!isWordChar(this.peek())) throw this.fail("an identifier");
    const word = this.readWord();
    return this.lowerInWord ? word.toUpperCase() : word;
  }

  /** Whether the last {@link readWord} saw a lower-case letter (else it needs no upper-casing). */
  private lowerInWord = false;

  private readWord(): string {
    const start = this.pos;
    const sql = this.sql;
    let i = start;
    let lower = false;
    for (; i < sql.length; i++) {
      const c = sql.charCodeAt(i);
      if (c >= 0x61 && c <= 0x7a) lower = true;
      else if (!isWordChar(c)) break;
    }
    this.lowerInWord = lower;
    this.pos = i;
    return sql.slice(start, i);
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
  return new RedoScanner(sql).parse();
}
