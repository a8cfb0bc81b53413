import type { TableRef } from "@zero-etl/core";

/**
 * What a DDL statement from the binlog means for replicated tables, in
 * statement order:
 * - `truncate`: every row of the table is gone (no row events were logged);
 * - `dropped`: the table no longer exists under this name (DROP, or the old
 *   name of a RENAME); `dropped-database`: every table of the database;
 * - `refresh`: the table's rows must be re-read, because the statement
 *   created it (possibly with rows: `CREATE TABLE … SELECT`), renamed another
 *   table into this name, or changed rows without row events (a column added
 *   with a value for existing rows, a type change, a key change, a column
 *   renamed or re-added, partition maintenance, anything not understood);
 * - `altered`: an in-place change the stream follows by itself from the next
 *   TABLE_MAP; it lists dropped and added columns (a later ADD of a dropped
 *   name needs a refresh, since the target may keep the old values) and
 *   whether the implicit key of a table without a primary key may change.
 */
export type DdlEffect =
  | { readonly kind: "truncate"; readonly table: TableRef }
  | { readonly kind: "dropped"; readonly table: TableRef; readonly reason: string }
  | { readonly kind: "dropped-database"; readonly database: string }
  | { readonly kind: "refresh"; readonly table: TableRef; readonly reason: string }
  | {
      readonly kind: "altered";
      readonly table: TableRef;
      readonly droppedColumns: readonly string[];
      readonly addedColumns: readonly string[];
      /** A UNIQUE key was added or an index dropped: on a table without a declared primary key this may change the key the server uses. */
      readonly keyMayChange: boolean;
    };

type Token = { readonly kind: "word" | "ident" | "string" | "number" | "punct"; readonly text: string; readonly upper: string };

/**
 * Classifies one statement of a binlog QUERY event. `database` is the
 * event's default database, which qualifies unqualified names. Statements
 * that are not table DDL (BEGIN, SAVEPOINT, GRANT, …) and temporary tables
 * give no effects. Pure; it runs on QUERY events (DDL, rare statements),
 * never on row events.
 */
export function classifyDdl(query: string, database: string): DdlEffect[] {
  const tokens = tokenize(query);
  const reader = new TokenReader(tokens);
  const verb = reader.peekUpper();
  if (verb === "CREATE") return classifyCreate(reader, database);
  if (verb === "DROP") return classifyDrop(reader, database);
  if (verb === "RENAME") return classifyRename(reader, database);
  if (verb === "TRUNCATE") {
    reader.next();
    reader.accept("TABLE");
    const table = reader.tableName(database);
    return table === undefined ? [] : [{ kind: "truncate", table }];
  }
  if (verb === "ALTER") return classifyAlter(reader, database);
  return [];
}

function classifyCreate(reader: TokenReader, database: string): DdlEffect[] {
  reader.next();
  if (reader.accept("OR")) reader.accept("REPLACE");
  if (reader.peekUpper() === "TEMPORARY") return [];
  if (reader.accept("UNIQUE")) {
    if (!reader.accept("INDEX") && !reader.accept("KEY")) return [];
    return indexOn(reader, database);
  }
  if (!reader.accept("TABLE")) return [];
  reader.acceptSequence("IF", "NOT", "EXISTS");
  const table = reader.tableName(database);
  return table === undefined ? [] : [{ kind: "refresh", table, reason: "table created at the source" }];
}

function classifyDrop(reader: TokenReader, database: string): DdlEffect[] {
  reader.next();
  if (reader.peekUpper() === "TEMPORARY") return [];
  if (reader.accept("INDEX")) return indexOn(reader, database);
  if (reader.accept("DATABASE") || reader.accept("SCHEMA")) {
    reader.acceptSequence("IF", "EXISTS");
    const name = reader.identifier();
    return name === undefined ? [] : [{ kind: "dropped-database", database: name }];
  }
  if (!reader.accept("TABLE")) return [];
  reader.acceptSequence("IF", "EXISTS");
  const out: DdlEffect[] = [];
  for (;;) {
    const table = reader.tableName(database);
    if (table === undefined) break;
    out.push({ kind: "dropped", table, reason: "table dropped at the source" });
    if (!reader.acceptPunct(",")) break;
  }
  return out;
}

/** `[IF [NOT] EXISTS] name [ONLINE] ON table`, after `CREATE UNIQUE INDEX` or `DROP INDEX`. */
function indexOn(reader: TokenReader, database: string): DdlEffect[] {
  if (!reader.acceptSequence("IF", "NOT", "EXISTS")) reader.acceptSequence("IF", "EXISTS");
  reader.identifier();
  while (!reader.isEmpty() && !reader.accept("ON")) reader.next();
  const table = reader.tableName(database);
  return table === undefined ? [] : [{ kind: "altered", table, droppedColumns: [], addedColumns: [], keyMayChange: true }];
}

function classifyRename(reader: TokenReader, database: string): DdlEffect[] {
  reader.next();
  if (!reader.accept("TABLE") && !reader.accept("TABLES")) return [];
  const out: DdlEffect[] = [];
  for (;;) {
    reader.acceptSequence("IF", "EXISTS");
    const from = reader.tableName(database);
    if (from === undefined) break;
    reader.acceptWait();
    if (!reader.accept("TO")) break;
    const to = reader.tableName(database);
    if (to === undefined) break;
    out.push({ kind: "dropped", table: from, reason: `renamed to ${to.namespace}.${to.name}` }, { kind: "refresh", table: to, reason: `renamed from ${from.namespace}.${from.name}` });
    if (!reader.acceptPunct(",")) break;
  }
  return out;
}

function classifyAlter(reader: TokenReader, database: string): DdlEffect[] {
  reader.next();
  reader.accept("ONLINE");
  reader.accept("IGNORE");
  if (!reader.accept("TABLE")) return [];
  reader.acceptSequence("IF", "EXISTS");
  const table = reader.tableName(database);
  if (table === undefined) return [];
  reader.acceptWait();
  const dropped: string[] = [];
  const added: string[] = [];
  let keyMayChange = false;
  for (const spec of reader.restSplitByComma()) {
    const verdict = classifyAlterSpec(spec, database);
    if (verdict.kind === "rename") {
      return [
        { kind: "dropped", table, reason: `renamed to ${verdict.to.namespace}.${verdict.to.name}` },
        { kind: "refresh", table: verdict.to, reason: `renamed from ${table.namespace}.${table.name}` },
      ];
    }
    if (verdict.kind === "refresh") return [{ kind: "refresh", table, reason: verdict.reason }];
    if (verdict.kind === "drop-column") dropped.push(verdict.column);
    if (verdict.kind === "add-columns") added.push(...verdict.columns);
    if (verdict.kind === "key-may-change") keyMayChange = true;
  }
  if (dropped.length === 0 && added.length === 0 && !keyMayChange) return [];
  return [{ kind: "altered", table, droppedColumns: dropped, addedColumns: added, keyMayChange }];
}

type SpecVerdict =
  | { readonly kind: "safe" }
  | { readonly kind: "key-may-change" }
  | { readonly kind: "drop-column"; readonly column: string }
  | { readonly kind: "add-columns"; readonly columns: readonly string[] }
  | { readonly kind: "rename"; readonly to: TableRef }
  | { readonly kind: "refresh"; readonly reason: string };

const SAFE: SpecVerdict = { kind: "safe" };
const KEY_MAY_CHANGE: SpecVerdict = { kind: "key-may-change" };
/** Table options and clauses that change neither rows nor the key. */
const SAFE_LEADS = new Set([
  "ALGORITHM", "LOCK", "FORCE", "COMMENT", "ENGINE", "AUTO_INCREMENT", "ROW_FORMAT", "KEY_BLOCK_SIZE", "STATS_PERSISTENT", "STATS_AUTO_RECALC",
  "STATS_SAMPLE_PAGES", "PACK_KEYS", "CHECKSUM", "DELAY_KEY_WRITE", "MAX_ROWS", "MIN_ROWS", "AVG_ROW_LENGTH", "PAGE_CHECKSUM", "TRANSACTIONAL",
  "ENABLE", "DISABLE", "ORDER", "DEFAULT", "CHARACTER", "CHARSET", "COLLATE", "ENCRYPTED", "ENCRYPTION_KEY_ID", "PAGE_COMPRESSED",
  "PAGE_COMPRESSION_LEVEL", "IETF_QUOTES", "SEQUENCE", "ANALYZE", "OPTIMIZE", "CHECK", "REPAIR", "REBUILD", "COALESCE",
]);

function classifyAlterSpec(spec: TokenReader, database: string): SpecVerdict {
  if (spec.isEmpty()) return SAFE;
  const lead = spec.peekUpper();
  if (lead === undefined) return { kind: "refresh", reason: "ALTER clause not understood" };
  if (lead === "RENAME") {
    spec.next();
    if (spec.peekUpper() === "COLUMN") return { kind: "refresh", reason: "column renamed" };
    if (spec.peekUpper() === "INDEX" || spec.peekUpper() === "KEY") return SAFE;
    if (!spec.accept("TO")) spec.accept("AS");
    const to = spec.tableName(database);
    return to === undefined ? { kind: "refresh", reason: "unrecognised RENAME clause" } : { kind: "rename", to };
  }
  if (lead === "ADD") {
    spec.next();
    const what = spec.peekUpper();
    if (what === "INDEX" || what === "KEY" || what === "FULLTEXT" || what === "SPATIAL" || what === "FOREIGN" || what === "CHECK") return SAFE;
    if (what === "UNIQUE") return KEY_MAY_CHANGE;
    if (what === "CONSTRAINT") {
      spec.next();
      const next = spec.peekUpper();
      if (next !== "PRIMARY" && next !== "UNIQUE" && next !== "FOREIGN" && next !== "CHECK") spec.next(); // the constraint's name
    }
    const kind = spec.peekUpper();
    if (kind === "PRIMARY") return { kind: "refresh", reason: "primary key changed" };
    if (kind === "UNIQUE") return KEY_MAY_CHANGE;
    if (kind === "FOREIGN" || kind === "CHECK") return SAFE;
    if (kind === "PARTITION") return { kind: "refresh", reason: "partitioning changed" };
    spec.accept("COLUMN");
    spec.acceptSequence("IF", "NOT", "EXISTS");
    const group = spec.parenthesised();
    const definitions = group === undefined ? [spec] : group.splitByComma();
    const columns: string[] = [];
    for (const def of definitions) {
      const name = def.identifier();
      if (name === undefined) return { kind: "refresh", reason: "unrecognised ADD clause" };
      const upper = def.peekUpper();
      if (upper === "INDEX" || upper === "KEY" || upper === "PRIMARY" || upper === "UNIQUE" || upper === "CONSTRAINT") return { kind: "refresh", reason: "unrecognised ADD clause" };
      const why = whyNewColumnNeedsReread(def);
      if (why !== undefined) return { kind: "refresh", reason: `column ${name} added ${why}` };
      columns.push(name);
    }
    return { kind: "add-columns", columns };
  }
  if (lead === "DROP") {
    spec.next();
    const what = spec.peekUpper();
    if (what === "PRIMARY") return { kind: "refresh", reason: "primary key changed" };
    if (what === "INDEX" || what === "KEY" || what === "CONSTRAINT") return KEY_MAY_CHANGE;
    if (what === "FOREIGN" || what === "CHECK") return SAFE;
    if (what === "PARTITION") return { kind: "refresh", reason: "partition dropped" };
    spec.accept("COLUMN");
    spec.acceptSequence("IF", "EXISTS");
    const column = spec.identifier();
    return column === undefined ? { kind: "refresh", reason: "unrecognised DROP clause" } : { kind: "drop-column", column };
  }
  if (lead === "ALTER") {
    spec.next();
    const what = spec.peekUpper();
    if (what === "INDEX" || what === "KEY" || what === "CHECK" || what === "CONSTRAINT") return SAFE;
    spec.accept("COLUMN");
    spec.identifier();
    // SET DEFAULT / DROP DEFAULT change only future inserts; SET/DROP VISIBLE/INVISIBLE nothing stored
    const action = spec.peekUpper();
    if (action === "SET" || action === "DROP") return SAFE;
    return { kind: "refresh", reason: "column altered" };
  }
  if (lead === "MODIFY" || lead === "CHANGE") return { kind: "refresh", reason: "column definition changed" };
  if (lead === "CONVERT") return { kind: "refresh", reason: "character set converted" };
  if (lead === "PARTITION" || lead === "REMOVE" || lead === "TRUNCATE" || lead === "EXCHANGE" || lead === "REORGANIZE" || lead === "DISCARD" || lead === "IMPORT") {
    return { kind: "refresh", reason: "partitions or tablespace changed" };
  }
  if (SAFE_LEADS.has(lead)) return SAFE;
  return { kind: "refresh", reason: `ALTER clause ${lead} not understood` };
}

/**
 * Why a new column needs the table re-read: its definition gives existing
 * rows a non-NULL value, or it is MariaDB's JSON (a LONGTEXT in the binlog,
 * known as JSON only from introspection); undefined when existing rows read
 * NULL and the binlog describes the column fully.
 */
function whyNewColumnNeedsReread(def: TokenReader): string | undefined {
  let sawNull = false;
  let type: string | undefined;
  for (let t = def.nextToken(); t !== undefined; t = def.nextToken()) {
    type ??= t.upper;
    if (t.upper === "NOT" && def.peekUpper() === "NULL") return "NOT NULL (existing rows take an implicit default)";
    if (t.upper === "NULL") sawNull = true;
    if (t.upper === "DEFAULT") {
      const value = def.peekUpper();
      if (value === "NULL") {
        def.next();
        continue;
      }
      return "with a DEFAULT";
    }
    if (t.upper === "AUTO_INCREMENT" || t.upper === "SERIAL") return "with AUTO_INCREMENT";
    if (t.upper === "AS" || t.upper === "GENERATED") return "as a generated column";
    if (t.text === "(") def.skipGroup();
  }
  // without explicit_defaults_for_timestamp, a TIMESTAMP column is NOT NULL DEFAULT CURRENT_TIMESTAMP
  if (type === "TIMESTAMP" && !sawNull) return "as a TIMESTAMP that may take a default";
  if (type === "JSON") return "as JSON, which only introspection tells from LONGTEXT on MariaDB";
  return undefined;
}

class TokenReader {
  private i = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  isEmpty(): boolean {
    return this.i >= this.tokens.length;
  }

  /** The current token's keyword spelling (undefined for identifiers, strings and the end). */
  peekUpper(): string | undefined {
    const t = this.tokens[this.i];
    return t === undefined || t.kind === "ident" || t.kind === "string" ? undefined : t.upper;
  }

  next(): void {
    this.i++;
  }

  nextToken(): Token | undefined {
    return this.tokens[this.i++];
  }

  accept(word: string): boolean {
    if (this.peekUpper() !== word) return false;
    this.i++;
    return true;
  }

  acceptPunct(text: string): boolean {
    const t = this.tokens[this.i];
    if (t === undefined || t.kind !== "punct" || t.text !== text) return false;
    this.i++;
    return true;
  }

  acceptSequence(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) {
      const t = this.tokens[this.i + k];
      if (t === undefined || t.kind === "ident" || t.upper !== words[k]) return false;
    }
    this.i += words.length;
    return true;
  }

  /** MariaDB's `WAIT n` / `NOWAIT` after a table name. */
  acceptWait(): void {
    if (this.accept("NOWAIT")) return;
    if (this.accept("WAIT")) this.i++;
  }

  /** An identifier: backquoted, or a bare word. */
  identifier(): string | undefined {
    const t = this.tokens[this.i];
    if (t === undefined || (t.kind !== "ident" && t.kind !== "word")) return undefined;
    this.i++;
    return t.text;
  }

  /** `name` or `db.name`, qualified with `database` when bare. */
  tableName(database: string): TableRef | undefined {
    const first = this.identifier();
    if (first === undefined) return undefined;
    if (this.acceptPunct(".")) {
      const second = this.identifier();
      if (second === undefined) return undefined;
      return { namespace: first, name: second };
    }
    return { namespace: database, name: first };
  }

  /** Skips to the `)` matching an already consumed `(`. */
  skipGroup(): void {
    let depth = 1;
    while (this.i < this.tokens.length && depth > 0) {
      const t = this.tokens[this.i++] as Token;
      if (t.kind === "punct" && t.text === "(") depth++;
      else if (t.kind === "punct" && t.text === ")") depth--;
    }
  }

  /** The tokens of a `( … )` group at the current position, consuming it; undefined when none starts here. */
  parenthesised(): TokenReader | undefined {
    if (!this.acceptPunct("(")) return undefined;
    const start = this.i;
    this.skipGroup();
    return new TokenReader(this.tokens.slice(start, this.i - 1));
  }

  /** The remaining tokens split at top-level commas. */
  restSplitByComma(): TokenReader[] {
    const rest = new TokenReader(this.tokens.slice(this.i));
    this.i = this.tokens.length;
    return rest.splitByComma();
  }

  splitByComma(): TokenReader[] {
    const out: TokenReader[] = [];
    let depth = 0;
    let start = this.i;
    for (let k = this.i; k <= this.tokens.length; k++) {
      const t = this.tokens[k];
      if (t === undefined || (depth === 0 && t.kind === "punct" && t.text === ",")) {
        if (k > start) out.push(new TokenReader(this.tokens.slice(start, k)));
        start = k + 1;
        continue;
      }
      if (t.kind === "punct" && t.text === "(") depth++;
      else if (t.kind === "punct" && t.text === ")") depth--;
    }
    return out;
  }
}

/** Splits SQL into words, `quoted identifiers`, strings, numbers and punctuation, dropping comments. */
function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "#" || (c === "-" && sql[i + 1] === "-" && (sql[i + 2] === " " || sql[i + 2] === "\t" || sql[i + 2] === "\n"))) {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === "`") {
      let text = "";
      i++;
      while (i < n) {
        if (sql[i] === "`") {
          if (sql[i + 1] === "`") {
            text += "`";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += sql[i];
        i++;
      }
      out.push({ kind: "ident", text, upper: text.toUpperCase() });
    } else if (c === "'" || c === '"') {
      let text = "";
      i++;
      while (i < n) {
        const d = sql[i] as string;
        if (d === "\\" && i + 1 < n) {
          text += sql[i + 1];
          i += 2;
        } else if (d === c && sql[i + 1] === c) {
          text += c;
          i += 2;
        } else if (d === c) {
          i++;
          break;
        } else {
          text += d;
          i++;
        }
      }
      out.push({ kind: "string", text, upper: text });
    } else if (/[A-Za-z0-9_$\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++;
      const text = sql.slice(i, j);
      out.push({ kind: /^\d/.test(text) && /^[\d.eE+-]+$/.test(text) ? "number" : "word", text, upper: text.toUpperCase() });
      i = j;
    } else {
      out.push({ kind: "punct", text: c, upper: c });
      i++;
    }
  }
  return out;
}
