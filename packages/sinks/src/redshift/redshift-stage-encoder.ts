import type { Row, Value } from "@zero-etl/core";
import { writeParquetFile } from "../iceberg/parquet-file-writer.js";
import type { IcebergField } from "../iceberg/iceberg-schema.js";
import { toIcebergValue } from "../iceberg/iceberg-value-codec.js";
import type { RedshiftColumn } from "./redshift-ddl-compiler.js";

/** How a staged file is laid out for `COPY`. */
export type StageFormat = "parquet" | "json";

/** One staged column: the target column and where its value comes from in a row (absent: always NULL). */
export interface StageColumn extends RedshiftColumn {
  readonly source?: string;
}

/** Redshift's largest SUPER value (bytes). */
export const REDSHIFT_MAX_SUPER_BYTES = 16 * 1024 * 1024;
/** Redshift's largest row `COPY` takes from one input record (bytes). */
export const REDSHIFT_MAX_COPY_ROW_BYTES = 4 * 1024 * 1024;

const JSON_ONLY = /^(SUPER|TIME|TIMETZ|GEOMETRY)$/;
const VARCHAR_BYTES = /^(?:VARCHAR|CHAR)\((\d+)\)$/;

/**
 * The staging format of a table's columns: Parquet (typed, columnar) unless a
 * column's type has no Parquet type `COPY` loads it from (SUPER, TIME,
 * TIMETZ, GEOMETRY), then JSON lines (`FORMAT AS JSON 'auto'`), where nested
 * values land in SUPER as documents.
 */
export function stageFormatOf(columns: readonly RedshiftColumn[]): StageFormat {
  return columns.some((c) => JSON_ONLY.test(c.type)) ? "json" : "parquet";
}

/** The Parquet (Iceberg-form) primitive type a Redshift column is staged as. */
export function parquetTypeOf(type: string): string {
  if (type === "BOOLEAN") return "boolean";
  if (type === "SMALLINT" || type === "INTEGER") return "int";
  if (type === "BIGINT") return "long";
  if (type === "REAL") return "float";
  if (type === "DOUBLE PRECISION") return "double";
  if (type === "DATE") return "date";
  if (type === "TIMESTAMP") return "timestamp";
  if (type === "TIMESTAMPTZ") return "timestamptz";
  if (type.startsWith("VARBYTE")) return "binary";
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type);
  if (decimal !== null) return `decimal(${decimal[1]},${decimal[2]})`;
  return "string";
}

/** A row encoded for staging (one cell per staged column), or why it cannot be staged. */
export type StagedRow = unknown[];

/**
 * Converts rows to staged cells for `columns` (the target table's physical
 * order, as `COPY` maps Parquet columns by position), once per row, so a
 * batch is checked when it is written and the file is built at flush. Text
 * longer than its VARCHAR's bytes is cut at a character boundary (as the
 * type mapping documents); a value that does not fit its column (a decimal
 * with too many digits, a SUPER value over 16 MB, a row over COPY's 4 MB)
 * makes `encode` return the reason instead.
 */
export class StageRowEncoder {
  readonly columns: readonly StageColumn[];
  readonly format: StageFormat;
  readonly #types: readonly string[];
  readonly #limits: readonly (number | undefined)[];
  readonly #converters: readonly Converter[];
  /** Per column, the source name ("" for a column always NULL). */
  readonly #sources: readonly string[];
  /** Per column, the {@link FastKind} tried before its converter, so the row loop calls no closure for common values. */
  readonly #fast: Int8Array;
  /** Per column, the VARCHAR byte limit (0: none). */
  readonly #byteLimits: Int32Array;

  constructor(columns: readonly StageColumn[], format: StageFormat = stageFormatOf(columns)) {
    this.columns = columns;
    this.format = format;
    this.#types = columns.map((c) => (format === "parquet" ? parquetTypeOf(c.type) : c.type));
    this.#limits = columns.map((c) => byteLimit(c.type));
    this.#converters = this.#types.map((type, i) => converterOf(type, this.#limits[i]));
    this.#sources = columns.map((c) => c.source ?? "");
    this.#fast = Int8Array.from(this.#types, (type) => (format === "parquet" ? fastKindOf(type) : FastKind.None));
    this.#byteLimits = Int32Array.from(this.#limits, (limit) => limit ?? 0);
  }

  /** The row's cells, or a string naming the column and the reason it cannot be staged. */
  encode(row: Row): StagedRow | string {
    const columns = this.columns;
    const out: unknown[] = new Array(columns.length);
    let size = 0;
    const sources = this.#sources;
    const fast = this.#fast;
    for (let i = 0; i < columns.length; i++) {
      const source = sources[i] as string;
      const value = source === "" ? null : (row[source] ?? null);
      if (value === null) {
        out[i] = null;
        continue;
      }
      // the common values of each type, converted in this loop (one switch, no closure call)
      switch (fast[i]) {
        case FastKind.String:
          if (typeof value === "string") {
            const limit = this.#byteLimits[i] as number;
            const text = limit === 0 || value.length * 3 <= limit ? value : cutToBytes(value, limit);
            out[i] = text;
            size += text.length;
            continue;
          }
          break;
        case FastKind.Long:
          if (typeof value === "bigint") {
            out[i] = value;
            size += 8;
            continue;
          }
          break;
        case FastKind.Number:
          if (typeof value === "number") {
            // refused with the row, as StageColumns does, rather than by the file's encoder at the flush
            if (this.#types[i] === "int" && (value | 0) !== value) return `column ${(columns[i] as StageColumn).name} (${(columns[i] as StageColumn).type}): not a 32-bit integer`;
            out[i] = value;
            size += 8;
            continue;
          }
          break;
        case FastKind.Boolean:
          if (typeof value === "boolean") {
            out[i] = value;
            size += 8;
            continue;
          }
          break;
        case FastKind.Timestamptz:
          if (typeof value === "string") {
            const micros = utcIsoMicros(value);
            if (micros !== undefined) {
              out[i] = micros;
              size += 8;
              continue;
            }
          }
          break;
        default:
          break;
      }
      const column = columns[i] as StageColumn;
      try {
        if (this.format === "parquet") {
          const v = (this.#converters[i] as Converter)(value);
          out[i] = v;
          size += typeof v === "string" ? v.length : v instanceof Uint8Array ? v.byteLength : 8;
        } else {
          const text = jsonCell(column.type, value, this.#limits[i]);
          if (column.type === "SUPER" && text.length > REDSHIFT_MAX_SUPER_BYTES / 4 && Buffer.byteLength(text) > REDSHIFT_MAX_SUPER_BYTES) {
            return `column ${column.name} (SUPER): value of ${Buffer.byteLength(text)} bytes exceeds Redshift's 16 MB SUPER value`;
          }
          out[i] = text;
          size += text.length + column.name.length + 4;
        }
      } catch (error) {
        return `column ${column.name} (${column.type}): ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    if (size > REDSHIFT_MAX_COPY_ROW_BYTES) return `row of about ${size} bytes exceeds Redshift COPY's 4 MB per row`;
    return out;
  }

  /** One staged file of encoded rows. */
  file(rows: Iterable<StagedRow>): Uint8Array {
    if (this.format === "parquet") {
      const fields: IcebergField[] = this.columns.map((c, i) => ({ id: i + 1, name: c.name, required: false, type: this.#types[i] ?? "string" }));
      return writeParquetFile({ fields, rows: Array.isArray(rows) ? (rows as StagedRow[]) : [...rows] }).bytes;
    }
    const keys = this.columns.map((c) => JSON.stringify(c.name));
    let text = "";
    for (const row of rows) {
      let line = "{";
      for (let i = 0; i < row.length; i++) {
        const cell = row[i];
        // an absent key loads as NULL
        if (cell === null || cell === undefined) continue;
        line += `${line.length === 1 ? "" : ","}${keys[i]}:${cell as string}`;
      }
      text += `${line}}\n`;
    }
    return Buffer.from(text, "utf8");
  }
}

/** Converts one non-null source value to its staged Parquet value; throws a RangeError naming what does not fit. */
export type Converter = (value: Value) => unknown;

/** Staged Parquet types whose common source values the row loop converts itself. */
const enum FastKind {
  None = 0,
  String = 1,
  Long = 2,
  Number = 3,
  Boolean = 4,
  Timestamptz = 5,
}

function fastKindOf(type: string): FastKind {
  switch (type) {
    case "string":
      return FastKind.String;
    case "long":
      return FastKind.Long;
    // an int column takes a number as it is (as its converter does): the encoder checks the 32-bit range
    case "int":
    case "double":
    case "float":
      return FastKind.Number;
    case "boolean":
      return FastKind.Boolean;
    case "timestamptz":
      return FastKind.Timestamptz;
    default:
      return FastKind.None;
  }
}

/**
 * A per-column converter to the staged Parquet value, chosen once per
 * table: the values sources deliver for the type pass straight through, the
 * rest go through the Iceberg value codec (which throws a RangeError naming
 * what does not fit).
 */
export function converterOf(type: string, limit: number | undefined): Converter {
  const general = (value: Value): unknown => {
    const v = toIcebergValue(type, value);
    return typeof v === "string" ? cutToBytes(v, limit) : v;
  };
  switch (type) {
    case "string":
      return (value) => (typeof value === "string" ? cutToBytes(value, limit) : general(value));
    case "long":
      return (value) => (typeof value === "bigint" ? value : general(value));
    case "int":
    case "double":
    case "float":
      return (value) => (typeof value === "number" ? value : general(value));
    case "boolean":
      return (value) => (typeof value === "boolean" ? value : general(value));
    case "timestamptz":
      return (value) => {
        // the common form, ISO in UTC: parsed by char codes to microseconds as a safe number (no BigInt per value)
        if (typeof value === "string") {
          const micros = utcIsoMicros(value);
          if (micros !== undefined) return micros;
        }
        return general(value);
      };
    default: {
      const decimal = /^decimal\((\d+),(\d+)\)$/.exec(type);
      const precision = Number(decimal?.[1] ?? 0);
      const scale = Number(decimal?.[2] ?? 0);
      // a decimal stored as INT32/INT64 (up to 18 digits): a value of up to 15 digits is a safe number, written without a BigInt
      if (decimal === null || precision > 18) return general;
      return (value) => {
        if (typeof value === "string") {
          const unscaled = shortUnscaled(value, precision, scale);
          if (unscaled !== undefined) return unscaled;
        }
        return general(value);
      };
    }
  }
}

const MICROS_PER_DAY = 86_400_000_000;

/**
 * Microseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z` (years
 * 1970 to 2200, so the result is a safe integer), or undefined for any other
 * form, which the general parser then handles.
 */
export function utcIsoMicros(text: string): number | undefined {
  const n = text.length;
  if (n < 20 || n > 27 || text.charCodeAt(n - 1) !== 90 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const century = twoDigits(text, 0);
  const yy = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  // any field not two digits is negative
  if ((century | yy | month | day | hour | minute | second) < 0) return undefined;
  const year = century * 100 + yy;
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  let fraction = 0;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 || n === 21) return undefined;
    const width = n - 21;
    fraction = digits(text, 20, width);
    if (fraction < 0) return undefined;
    for (let w = width; w < 6; w++) fraction *= 10;
  }
  let days: number;
  if (year === lastYear && month === lastMonth) days = lastMonthDays + day - 1;
  else {
    // days from the civil date (proleptic Gregorian), as in Howard Hinnant's algorithm; kept per month, as a batch's timestamps mostly share one
    const y = month <= 2 ? year - 1 : year;
    const era = Math.floor(y / 400);
    const yoe = y - era * 400;
    const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5);
    lastMonthDays = era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
    lastYear = year;
    lastMonth = month;
    lastMonthLength = month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
    days = lastMonthDays + day - 1;
  }
  if (day > lastMonthLength) return undefined;
  return days * MICROS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1_000_000 + fraction;
}

/** The month {@link utcIsoMicros} saw last: its year, month, first day (days since the epoch) and length. */
let lastYear = 0;
let lastMonth = 0;
let lastMonthDays = 0;
let lastMonthLength = 0;

/** The two decimal digits at `at` as a number, or -1 when either is not a digit. */
function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >>> 0 > 9 || b >>> 0 > 9 ? -1 : a * 10 + b;
}

/** The decimal digits `text[at, at+count)` as a number, or -1 when one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The unscaled value of a plain decimal string (`-12.5`) at `scale` with at
 * most `precision` digits and at most 15 (a safe number); undefined for
 * anything else (exponents, more digits or fraction digits), left to the
 * general parser.
 */
export function shortUnscaled(text: string, precision: number, scale: number): number | undefined {
  const n = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 45) {
    negative = true;
    i = 1;
  }
  let unscaled = 0;
  let count = 0;
  let fraction = -1;
  let any = false;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 && fraction < 0) {
      fraction = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return undefined;
    any = true;
    if (fraction >= 0) {
      if (fraction === scale) return undefined;
      fraction++;
    }
    if (unscaled !== 0 || d !== 0) count++;
    unscaled = unscaled * 10 + d;
  }
  if (!any) return undefined;
  for (let f = fraction < 0 ? 0 : fraction; f < scale; f++) {
    if (unscaled !== 0) count++;
    unscaled *= 10;
  }
  if (count > precision || count > 15) return undefined;
  return negative ? -unscaled : unscaled;
}

/** One JSON value for `COPY ... FORMAT AS JSON 'auto'`: VARBYTE and GEOMETRY as hex, SUPER as a document. */
export function jsonCell(type: string, value: Value, limit: number | undefined): string {
  if (type === "SUPER") {
    // a json column holds its document as text: embed it as is, so numbers keep every digit
    if (typeof value === "string") {
      try {
        JSON.parse(value);
        return value;
      } catch {
        return JSON.stringify(value);
      }
    }
    return superJson(value);
  }
  if (value instanceof Uint8Array) return `"${Buffer.from(value).toString("hex")}"`;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`${value} has no JSON form`);
    // String(-0) is "0": JSON's -0 keeps the sign a REAL/DOUBLE column holds
    return Object.is(value, -0) ? "-0" : String(value);
  }
  if (typeof value === "string") {
    if (type.startsWith("DECIMAL")) {
      if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) throw new RangeError("not a finite decimal");
      return value;
    }
    return JSON.stringify(cutToBytes(value, limit));
  }
  return JSON.stringify(JSON.stringify(value));
}

/**
 * A list or struct value as the JSON of one SUPER value: a 64-bit integer
 * (bigint) as a JSON number with every digit (SUPER holds integers up to 64
 * bits; a string would change its type), bytes as base64, other scalars as
 * `JSON.stringify` writes them.
 */
export function superJson(value: Value | undefined): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64"));
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (const element of value as readonly Value[]) parts.push(superJson(element));
    return `[${parts.join(",")}]`;
  }
  if (typeof value === "object") {
    const parts: string[] = [];
    for (const [field, v] of Object.entries(value)) {
      // JSON.stringify leaves out an undefined field
      if (v !== undefined) parts.push(`${JSON.stringify(field)}:${superJson(v)}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The byte limit of a VARCHAR/CHAR type, undefined for any other type. */
export function byteLimit(type: string): number | undefined {
  const m = VARCHAR_BYTES.exec(type);
  return m === null ? undefined : Number(m[1]);
}

/** Text cut to at most `limit` UTF-8 bytes at a character boundary. */
export function cutToBytes(text: string, limit: number | undefined): string {
  // a UTF-16 unit is at most 3 UTF-8 bytes: short text needs no count
  if (limit === undefined || text.length * 3 <= limit) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.byteLength <= limit) return text;
  let end = limit;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}
