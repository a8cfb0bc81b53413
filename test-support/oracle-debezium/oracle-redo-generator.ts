/**
 * Generates LogMiner-style `SQL_REDO` statements from random tables and
 * values (seeded, deterministic), each with the statement a correct parser
 * must produce, written independently of the parser under test: the
 * generator knows what it printed.
 */
import type { OracleColumnType } from "../../packages/sources/src/oracle/oracle-column-type.js";
import type { OracleRedoLiteral, OracleRedoStatement } from "../../packages/sources/src/oracle/oracle-redo-statement.js";

/** A generated column: its name as stored and its `ALL_TAB_COLUMNS` type. */
export interface GeneratedColumn extends OracleColumnType {
  readonly name: string;
}

export interface GeneratedTable {
  readonly owner: string;
  readonly name: string;
  readonly columns: readonly GeneratedColumn[];
}

/** How a string value was printed: Debezium returns UNISTR/concatenated forms as raw text. */
export type PrintedForm = "plain" | "raw";

export interface GeneratedStatement {
  readonly table: GeneratedTable;
  readonly sql: string;
  readonly expected: OracleRedoStatement;
  /** Per `new:<column>` / `old:<column>` the printed text Debezium returns as is (calls, UNISTR and concatenations), when not a plain quoted string. */
  readonly rawForms: ReadonlyMap<string, string>;
}

/** A small fast seeded PRNG (mulberry32). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OWNERS = ["DEBEZIUM", "APP", "HR_2", "Mixed Owner", "lower", "SYS$X"];
const TABLES = ["TEST", "ORDERS", "OBJ# 74858", "Mixed Case", "T_1", "with space", "A$B#C"];
const COLUMN_NAMES = [
  "ID", "NAME", "DESCRIPTION", "AMOUNT", "CREATED_AT", "COL 1", "col2", "Mixed Col", "IS", "AND", "WHERE", "SET", "VALUES",
  "NULL", "OR", "DATA$1", "X#Y", "ÉTÉ", "A'B", "WITH,COMMA", "PAREN(1)", "EQ=1", "UNISTR", "ROWID_", "TS", "DATE",
];

interface TypeSpec {
  readonly column: OracleColumnType;
  readonly value: (next: () => number) => { readonly sql: string; readonly literal: OracleRedoLiteral; readonly raw?: string };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
const int = (next: () => number, lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));

function callOf(fn: string, args: readonly string[]): { sql: string; literal: OracleRedoLiteral } {
  const sql = `${fn}(${args.map((a) => `'${a.replaceAll("'", "''")}'`).join(", ")})`;
  return { sql, literal: { kind: "call", fn, args } };
}

const PIECES = [
  "a", "Acme", "Bob's dog", "''", "'", "x, y", "(1)", ") , (", " and ", " where ", " or ", "IS NULL", "NULL", "=", "\"q\"", ";", "||",
  "a || b", "\\", "\\00e9", "\n", "\t", "  ", "TO_DATE('x')", "Unsupported Type", "EMPTY_CLOB()", "é", "中文", "😀", "ß", "€", "set ",
  "values (", "--", "/* c */", "0", "-1.5E+10",
];

/** A non-empty string (Oracle stores '' as NULL) printed the way LogMiner does: non-ASCII runs as UNISTR('\XXXX') joined by ||. */
function stringValue(next: () => number, maxPieces = 5): { sql: string; literal: OracleRedoLiteral; raw?: string } {
  let text = "";
  const pieces = int(next, 1, maxPieces);
  for (let i = 0; i < pieces; i++) text += PIECES[Math.floor(next() * PIECES.length)] ?? "a";
  const runs: string[] = [];
  let ascii = "";
  let wide = "";
  const flushAscii = (): void => {
    if (ascii !== "") runs.push(`'${ascii.replaceAll("'", "''")}'`);
    ascii = "";
  };
  const flushWide = (): void => {
    if (wide !== "") runs.push(`UNISTR('${wide}')`);
    wide = "";
  };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      flushWide();
      ascii += text[i];
    } else {
      flushAscii();
      wide += `\\${code.toString(16).toUpperCase().padStart(4, "0")}`;
    }
  }
  flushAscii();
  flushWide();
  const sql = runs.join(" || ");
  return runs.length === 1 && sql.startsWith("'") ? { sql, literal: { kind: "string", value: text } } : { sql, literal: { kind: "string", value: text }, raw: sql };
}

function numberText(next: () => number, precision: number, scale: number): string {
  const intDigits = int(next, 0, Math.max(0, precision - scale));
  let digits = "";
  for (let i = 0; i < intDigits; i++) digits += String(int(next, i === 0 ? 1 : 0, 9));
  let fraction = "";
  const fracDigits = scale > 0 ? int(next, 0, scale) : 0;
  for (let i = 0; i < fracDigits; i++) fraction += String(int(next, 0, 9));
  fraction = fraction.replace(/0+$/, "");
  // Oracle prints .5, not 0.5
  let text = fraction === "" ? (digits === "" ? "0" : digits) : `${digits}.${fraction}`;
  if (text !== "0" && next() < 0.3) text = `-${text}`;
  return text;
}

function timestampText(next: () => number, digits: number): string {
  const base = `${pad(int(next, 1, 9999), 4)}-${pad(int(next, 1, 12))}-${pad(int(next, 1, 28))} ${pad(int(next, 0, 23))}:${pad(int(next, 0, 59))}:${pad(int(next, 0, 59))}`;
  let fraction = "";
  for (let i = 0; i < digits; i++) fraction += String(int(next, 0, 9));
  return `${base}.${fraction}`;
}

const TYPES: readonly TypeSpec[] = [
  {
    column: { dataType: "NUMBER", precision: 10, scale: 0 },
    value: (next) => {
      const text = numberText(next, 10, 0);
      // LogMiner quotes numbers; Debezium's own tests also show unquoted ones
      return next() < 0.8 ? { sql: `'${text}'`, literal: { kind: "string", value: text } } : { sql: text, literal: { kind: "number", text } };
    },
  },
  {
    column: { dataType: "NUMBER", precision: 12, scale: 4 },
    value: (next) => {
      const text = numberText(next, 12, 4);
      return { sql: `'${text}'`, literal: { kind: "string", value: text } };
    },
  },
  {
    column: { dataType: "NUMBER" },
    value: (next) => {
      const text = next() < 0.5 ? numberText(next, 38, 10) : `${int(next, 1, 9)}.${int(next, 0, 99)}E${next() < 0.5 ? "+" : "-"}${int(next, 10, 125)}`;
      return { sql: `'${text}'`, literal: { kind: "string", value: text } };
    },
  },
  {
    column: { dataType: "BINARY_DOUBLE" },
    value: (next) => {
      const text = `${int(next, 1, 9)}.${int(next, 0, 999)}E${next() < 0.5 ? "+" : "-"}${pad(int(next, 0, 300), 3)}`;
      return next() < 0.5 ? { sql: `'${text}'`, literal: { kind: "string", value: text } } : { sql: text, literal: { kind: "number", text } };
    },
  },
  { column: { dataType: "VARCHAR2", length: 4000, charLength: 4000 }, value: (next) => stringValue(next) },
  { column: { dataType: "NVARCHAR2", length: 200, charLength: 100 }, value: (next) => stringValue(next, 3) },
  { column: { dataType: "CHAR", length: 10, charLength: 10 }, value: (next) => stringValue(next, 2) },
  {
    column: { dataType: "DATE" },
    value: (next) => callOf("TO_DATE", [timestampText(next, 0).slice(0, 19), "YYYY-MM-DD HH24:MI:SS"]),
  },
  { column: { dataType: "TIMESTAMP(6)", scale: 6 }, value: (next) => callOf("TO_TIMESTAMP", [timestampText(next, int(next, 0, 6))]) },
  {
    column: { dataType: "TIMESTAMP(9) WITH TIME ZONE", scale: 9 },
    value: (next) => {
      const hours = int(next, -12, 14);
      const zone = `${hours < 0 ? "-" : "+"}${pad(Math.abs(hours))}:${pad(next() < 0.8 ? 0 : 30)}`;
      return callOf("TO_TIMESTAMP_TZ", [`${timestampText(next, 9)} ${zone}`]);
    },
  },
  {
    column: { dataType: "INTERVAL YEAR(2) TO MONTH", precision: 2, scale: 0 },
    value: (next) => callOf("TO_YMINTERVAL", [`${next() < 0.5 ? "-" : "+"}${pad(int(next, 0, 99))}-${pad(int(next, 0, 11))}`]),
  },
  {
    column: { dataType: "INTERVAL DAY(2) TO SECOND(6)", precision: 2, scale: 6 },
    value: (next) =>
      callOf("TO_DSINTERVAL", [
        `${next() < 0.5 ? "-" : "+"}${pad(int(next, 0, 99))} ${pad(int(next, 0, 23))}:${pad(int(next, 0, 59))}:${pad(int(next, 0, 59))}.${pad(int(next, 0, 999999), 6)}`,
      ]),
  },
  {
    column: { dataType: "RAW", length: 16 },
    value: (next) => {
      let hex = "";
      const n = int(next, 1, 16);
      for (let i = 0; i < n; i++) hex += int(next, 0, 255).toString(16).toUpperCase().padStart(2, "0");
      return callOf("HEXTORAW", [hex]);
    },
  },
  {
    column: { dataType: "BLOB" },
    value: (next) => (next() < 0.5 ? { sql: "EMPTY_BLOB()", literal: { kind: "empty-lob", lob: "blob" } } : callOf("HEXTORAW", ["0A0B0C"])),
  },
  {
    column: { dataType: "CLOB" },
    value: (next) => (next() < 0.4 ? { sql: "EMPTY_CLOB()", literal: { kind: "empty-lob", lob: "clob" } } : stringValue(next)),
  },
  { column: { dataType: "XMLTYPE" }, value: () => ({ sql: "Unsupported Type", literal: { kind: "unsupported" } }) },
];

const NULL_LITERAL: OracleRedoLiteral = { kind: "null" };

function quoteName(name: string): string {
  return `"${name}"`;
}

/** A random table of 1-10 columns with distinct names. */
export function generateTable(next: () => number): GeneratedTable {
  const count = int(next, 1, 10);
  const names = new Set<string>();
  const columns: GeneratedColumn[] = [];
  while (columns.length < count) {
    let name = COLUMN_NAMES[Math.floor(next() * COLUMN_NAMES.length)] ?? "C";
    if (names.has(name)) name = `${name}_${columns.length}`;
    names.add(name);
    const spec = TYPES[Math.floor(next() * TYPES.length)] ?? (TYPES[0] as TypeSpec);
    columns.push({ name, ...spec.column });
  }
  return {
    owner: OWNERS[Math.floor(next() * OWNERS.length)] ?? "APP",
    name: TABLES[Math.floor(next() * TABLES.length)] ?? "T",
    columns,
  };
}

function specOf(column: GeneratedColumn): TypeSpec {
  const spec = TYPES.find((t) => t.column.dataType === column.dataType && t.column.precision === column.precision && t.column.scale === column.scale);
  if (spec === undefined) throw new Error(`no generator for ${column.dataType}`);
  return spec;
}

function subset(next: () => number, columns: readonly GeneratedColumn[], min: number): GeneratedColumn[] {
  const chosen = columns.filter(() => next() < 0.6);
  if (chosen.length < min && columns[0] !== undefined) chosen.push(columns[Math.floor(next() * columns.length)] ?? columns[0]);
  return chosen;
}

/** One random insert, update or delete on `table`, printed as LogMiner prints it. */
export function generateStatement(next: () => number, table: GeneratedTable): GeneratedStatement {
  const target = `${quoteName(table.owner)}.${quoteName(table.name)}`;
  const rawForms = new Map<string, string>();
  const value = (column: GeneratedColumn, allowNull: boolean): { sql: string; literal: OracleRedoLiteral } => {
    if (allowNull && next() < 0.15) return { sql: "NULL", literal: NULL_LITERAL };
    const v = specOf(column).value(next);
    if (v.raw !== undefined) rawForms.set(column.name, v.raw);
    else if (v.literal.kind === "call" || v.literal.kind === "empty-lob") rawForms.set(column.name, v.sql);
    return v;
  };
  const roll = next();
  if (roll < 0.4) {
    const columns = subset(next, table.columns, 1);
    const values = new Map<string, OracleRedoLiteral>();
    const printed: string[] = [];
    for (const column of columns) {
      const v = value(column, true);
      values.set(column.name, v.literal);
      printed.push(v.sql);
    }
    const sql = `insert into ${target}(${columns.map((c) => quoteName(c.name)).join(",")}) values (${printed.join(",")});`;
    const forms = new Map<string, string>();
    for (const [k, v] of rawForms) forms.set(`new:${k}`, v);
    return { table, sql, expected: { kind: "insert", owner: table.owner, table: table.name, values }, rawForms: forms };
  }
  const whereColumns = subset(next, table.columns, roll < 0.7 ? 0 : 1);
  const where = new Map<string, OracleRedoLiteral>();
  const terms: string[] = [];
  // the before image's raw forms are kept apart: an update's set may print the same column again
  const setColumns = roll < 0.7 ? subset(next, table.columns, 1) : [];
  const set = new Map<string, OracleRedoLiteral>();
  const assignments: string[] = [];
  for (const column of setColumns) {
    const v = value(column, true);
    set.set(column.name, v.literal);
    assignments.push(`${quoteName(column.name)} = ${v.sql}`);
  }
  const setForms = new Map(rawForms);
  rawForms.clear();
  for (const column of whereColumns) {
    if (next() < 0.15) {
      where.set(column.name, NULL_LITERAL);
      terms.push(`${quoteName(column.name)} IS NULL`);
      continue;
    }
    const v = value(column, false);
    where.set(column.name, v.literal);
    terms.push(`${quoteName(column.name)} = ${v.sql}`);
  }
  if (terms.length > 0 && next() < 0.2) terms.push(`ROWID = 'AAAR${int(next, 1000, 9999)}AAEAAAA${int(next, 10, 99)}AAA'`);
  const whereSql = terms.length === 0 ? "" : ` where ${terms.join(" and ")}`;
  const forms = new Map<string, string>();
  for (const [k, v] of rawForms) forms.set(`old:${k}`, v);
  for (const [k, v] of setForms) forms.set(`new:${k}`, v);
  if (roll < 0.7) {
    const sql = `update ${target} set ${assignments.join(", ")}${whereSql};`;
    return { table, sql, expected: { kind: "update", owner: table.owner, table: table.name, set, where }, rawForms: forms };
  }
  const sql = `delete from ${target}${whereSql};`;
  return { table, sql, expected: { kind: "delete", owner: table.owner, table: table.name, where }, rawForms: forms };
}

/** `count` statements over `tables` random tables, deterministic for a seed. */
export function generateStatements(seed: number, count: number, tables = 50): GeneratedStatement[] {
  const next = createRandom(seed);
  const pool = Array.from({ length: tables }, () => generateTable(next));
  const out: GeneratedStatement[] = [];
  for (let i = 0; i < count; i++) out.push(generateStatement(next, pool[Math.floor(next() * pool.length)] ?? (pool[0] as GeneratedTable)));
  return out;
}
