import type { LogicalType, Value } from "@zero-etl/core";
import { ZeroEtlError, formatLogicalType } from "@zero-etl/core";
import { fromOracleType, type OracleColumnType } from "./oracle-column-type.js";
import {
  ORACLE_SESSION_NLS_FORMATS,
  civilFromDays,
  readOracleDatetime,
  toEpochSeconds,
  type OracleDatetimeFields,
} from "./oracle-datetime-mask.js";
import { REDO_NULL, REDO_NUMBER, REDO_STRING, type OracleRedoSlots } from "./oracle-redo-slots.js";
import type { OracleRedoLiteral } from "./oracle-redo-statement.js";

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Turns one `SQL_REDO` literal into the value the column's logical type
 * ({@link fromOracleType}) documents:
 *
 * - NUMBER: integers as `number` (≤ 32 bits) or `bigint`, decimals as plain
 *   decimal strings (no exponent; padded to the declared scale), checked
 *   against the declared precision and scale;
 * - BINARY_FLOAT/DOUBLE: `number` (`Nan`, `Inf`, `-Inf` as NaN/±Infinity);
 * - DATE/TIMESTAMP: `YYYY-MM-DDTHH:MM:SS[.f…]` with the type's precision
 *   digits (nanoseconds beyond 6 digits are truncated); with a zone, converted
 *   to UTC with a `Z`. A value without a mask is read in the session formats
 *   ({@link ORACLE_SESSION_NLS_FORMATS}); `TIMESTAMP WITH LOCAL TIME ZONE`
 *   printed without a zone is read as UTC (the session's time zone must be UTC);
 * - INTERVAL: ISO-8601 durations, each component signed (`P-1Y-2M`, `P1DT2H3M4.5S`);
 * - RAW/BLOB: `Uint8Array` from `HEXTORAW('…')`; `EMPTY_BLOB()`/`EMPTY_CLOB()` are empty;
 * - character types, CLOB, XMLTYPE, JSON: the string.
 *
 * `NULL` is `null`. Pure; the column type is resolved per call, so callers on
 * a hot path should keep the `LogicalType` and use {@link decodeOracleLiteralAs}.
 *
 * @throws ZeroEtlError `record-rejected` naming the column type when the
 * literal does not fit it (e.g. `Unsupported Type`, text in a NUMBER, a
 * value beyond the declared precision); the message never holds the value.
 */
export function decodeOracleLiteral(literal: OracleRedoLiteral, column: OracleColumnType): Value {
  return decodeOracleLiteralAs(literal, fromOracleType(column), column.dataType);
}

/**
 * {@link decodeOracleLiteral} with the logical type already resolved;
 * `dataType` (Oracle's `DATA_TYPE`) only names the column type in errors and
 * picks the default format of a `DATE`.
 */
export function decodeOracleLiteralAs(literal: OracleRedoLiteral, type: LogicalType, dataType: string): Value {
  if (literal.kind === "null") return null;
  switch (literal.kind) {
    case "unsupported":
      throw reject(dataType, type, "LogMiner printed `Unsupported Type` (the value is not in the redo)");
    case "empty-lob":
      if (literal.lob === "blob" && type.kind === "bytes") return EMPTY_BYTES;
      if (literal.lob === "clob" && (type.kind === "string" || type.kind === "json")) return "";
      throw reject(dataType, type, `EMPTY_${literal.lob.toUpperCase()}() does not fit`);
    default:
      break;
  }
  try {
    switch (type.kind) {
      case "int":
        return decodeInteger(numberText(literal), type.bits);
      case "decimal":
        return decodeDecimal(numberText(literal), type.precision, type.scale);
      case "float":
        return decodeFloat(floatText(literal), type.bits);
      case "string":
      case "json":
        return stringText(literal);
      case "bytes":
        return decodeHex(hexText(literal));
      case "timestamp":
        return decodeTimestamp(literal, type.precision, type.withZone, dataType);
      case "interval":
        return decodeInterval(literal);
      default:
        throw new Error(`no decoder for ${formatLogicalType(type)}`);
    }
  } catch (error) {
    if (error instanceof ZeroEtlError) throw error;
    throw reject(dataType, type, error instanceof Error ? error.message : String(error), error);
  }
}

/**
 * {@link decodeOracleLiteralAs} on the literal at `slot` of a parsed row
 * (`parseSqlRedoRow`), with the same values and errors: a string, number or
 * NULL (nearly every value) is decoded from the slot's text without making a
 * literal object. `slot` must hold a literal (`kinds[slot]` not absent).
 */
export function decodeOracleSlotAs(slots: OracleRedoSlots, slot: number, type: LogicalType, dataType: string): Value {
  const kind = slots.kinds[slot];
  if (kind === REDO_NULL) return null;
  if (kind === REDO_STRING || kind === REDO_NUMBER) {
    const text = slots.texts[slot] ?? "";
    try {
      switch (type.kind) {
        case "string":
        case "json":
          return text;
        case "int":
          return decodeInteger(text, type.bits);
        case "decimal":
          return decodeDecimal(text, type.precision, type.scale);
        case "float":
          return decodeFloat(text, type.bits);
        default:
          break;
      }
    } catch (error) {
      throw reject(dataType, type, error instanceof Error ? error.message : String(error), error);
    }
  }
  const literal = slots.literal(slot);
  if (literal === undefined) throw new Error(`slot ${slot} holds no literal`);
  return decodeOracleLiteralAs(literal, type, dataType);
}

function reject(dataType: string, type: LogicalType, reason: string, cause?: unknown): ZeroEtlError {
  return new ZeroEtlError(`oracle ${dataType} value (${formatLogicalType(type)}): ${reason}`, {
    code: "record-rejected",
    cause,
  });
}

function describe(literal: OracleRedoLiteral): string {
  return literal.kind === "call" ? `${literal.fn}(…)` : `a ${literal.kind} literal`;
}

function singleArg(literal: OracleRedoLiteral & { kind: "call" }): string {
  const arg = literal.args[0];
  if (arg === undefined || literal.args.length !== 1) throw new Error(`${literal.fn} takes one argument here`);
  return arg;
}

/** LogMiner quotes NUMBER values (`'12.5'`); an unquoted number or `TO_NUMBER('…')` is read the same. */
function numberText(literal: OracleRedoLiteral): string {
  if (literal.kind === "string") return literal.value;
  if (literal.kind === "number") return literal.text;
  if (literal.kind === "call" && literal.fn === "TO_NUMBER") return singleArg(literal);
  throw new Error(`expected a number, got ${describe(literal)}`);
}

function floatText(literal: OracleRedoLiteral): string {
  if (literal.kind === "call" && (literal.fn === "TO_BINARY_FLOAT" || literal.fn === "TO_BINARY_DOUBLE")) return singleArg(literal);
  return numberText(literal);
}

function stringText(literal: OracleRedoLiteral): string {
  if (literal.kind === "string") return literal.value;
  if (literal.kind === "number") return literal.text;
  if (literal.kind === "call" && (literal.fn === "XMLTYPE" || literal.fn === "TO_CLOB" || literal.fn === "TO_NCLOB")) return singleArg(literal);
  throw new Error(`expected a string, got ${describe(literal)}`);
}

function hexText(literal: OracleRedoLiteral): string {
  if (literal.kind === "call" && literal.fn === "HEXTORAW") return singleArg(literal);
  if (literal.kind === "string") return literal.value;
  throw new Error(`expected HEXTORAW('…'), got ${describe(literal)}`);
}

/** Sign, integer digits and fraction digits of a number text, without exponent or redundant zeros. */
interface DecimalParts {
  negative: boolean;
  integer: string;
  fraction: string;
}

const NUMBER_TEXT = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/**
 * {@link splitNumber} for the form LogMiner prints nearly every number in,
 * `[+-]digits[.digits]`, read without a regular expression; undefined for
 * any other form (exponent, blanks, a leading point), which the regular
 * expression reads.
 */
function splitPlainNumber(text: string): DecimalParts | undefined {
  const n = text.length;
  let i = 0;
  let c = text.charCodeAt(0);
  const signed = c === 0x2d || c === 0x2b;
  if (signed) c = text.charCodeAt(++i);
  let intStart = i;
  while (c >= 0x30 && c <= 0x39) c = text.charCodeAt(++i);
  const intEnd = i;
  if (intEnd === intStart) return undefined;
  let fracStart = i;
  let fracEnd = i;
  if (i < n) {
    if (c !== 0x2e) return undefined;
    fracStart = ++i;
    c = text.charCodeAt(i);
    while (c >= 0x30 && c <= 0x39) c = text.charCodeAt(++i);
    if (i < n) return undefined;
    fracEnd = i;
  }
  while (intStart < intEnd && text.charCodeAt(intStart) === 0x30) intStart++;
  while (fracEnd > fracStart && text.charCodeAt(fracEnd - 1) === 0x30) fracEnd--;
  const integer = text.slice(intStart, intEnd);
  const fraction = text.slice(fracStart, fracEnd);
  return { negative: signed && text.charCodeAt(0) === 0x2d && (integer !== "" || fraction !== ""), integer, fraction };
}

function splitNumber(text: string): DecimalParts {
  const plain = splitPlainNumber(text);
  if (plain !== undefined) return plain;
  const m = NUMBER_TEXT.exec(text);
  if (m === null || ((m[2] ?? "") === "" && (m[3] ?? "") === "")) throw new Error("not a number");
  let digits = (m[2] ?? "") + (m[3] ?? "");
  let point = (m[2] ?? "").length + Number(m[4] ?? "0");
  // An exponent far beyond Oracle's range (1E±130) cannot be a NUMBER.
  if (Math.abs(point) > 200) throw new Error("exponent out of Oracle's NUMBER range");
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) {
    digits = digits + "0".repeat(point - digits.length);
  }
  const integer = digits.slice(0, point).replace(/^0+/, "");
  const fraction = digits.slice(point).replace(/0+$/, "");
  const negative = m[1] === "-" && (integer !== "" || fraction !== "");
  return { negative, integer, fraction };
}

const INT_LIMITS = { 8: 127, 16: 32767, 32: 2147483647 } as const;
const INT64_MAX = 9223372036854775807n;

/** Up to this many digits an integer text is exact as a double. */
const SAFE_DIGITS = 15;

function decodeInteger(text: string, bits: 8 | 16 | 32 | 64): number | bigint {
  // the common case, a short run of digits with an optional minus: converted at once
  const n = text.length;
  const start = text.charCodeAt(0) === 0x2d ? 1 : 0;
  if (n > start && n - start <= SAFE_DIGITS) {
    let i = start;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    if (i === n) {
      // + 0 turns -0 into 0
      const value = Number(text) + 0;
      if (bits === 64) return BigInt(value);
      const limit = INT_LIMITS[bits];
      if (value > limit || value < -limit - 1) throw new Error(`beyond ${bits} bits`);
      return value;
    }
  }
  const parts = splitNumber(text);
  if (parts.fraction !== "") throw new Error("a fraction in an integer column");
  const digits = parts.integer === "" ? "0" : parts.integer;
  if (bits === 64) {
    const value = BigInt(parts.negative ? `-${digits}` : digits);
    if (value > INT64_MAX || value < -INT64_MAX - 1n) throw new Error("beyond 64 bits");
    return value;
  }
  const value = parts.negative ? -Number(digits) : Number(digits);
  const limit = INT_LIMITS[bits];
  if (digits.length > 10 || value > limit || value < -limit - 1) throw new Error(`beyond ${bits} bits`);
  return value;
}

function decodeDecimal(text: string, precision: number | undefined, scale: number | undefined): string {
  const parts = splitNumber(text);
  let fraction = parts.fraction;
  if (scale !== undefined) {
    if (fraction.length > scale) throw new Error(`more than ${scale} fraction digits`);
    fraction = fraction.padEnd(scale, "0");
  }
  if (precision !== undefined && parts.integer.length > precision - (scale ?? 0)) {
    throw new Error(`more than ${precision - (scale ?? 0)} integer digits`);
  }
  const integer = parts.integer === "" ? "0" : parts.integer;
  const sign = parts.negative ? "-" : "";
  return fraction === "" ? `${sign}${integer}` : `${sign}${integer}.${fraction}`;
}

function decodeFloat(text: string, bits: 32 | 64): number {
  const trimmed = text.trim();
  let value: number;
  switch (trimmed.toUpperCase()) {
    case "NAN":
    case "BINARY_FLOAT_NAN":
    case "BINARY_DOUBLE_NAN":
      return Number.NaN;
    case "INF":
    case "+INF":
    case "INFINITY":
    case "BINARY_FLOAT_INFINITY":
    case "BINARY_DOUBLE_INFINITY":
      return Number.POSITIVE_INFINITY;
    case "-INF":
    case "-INFINITY":
    case "-BINARY_FLOAT_INFINITY":
    case "-BINARY_DOUBLE_INFINITY":
      return Number.NEGATIVE_INFINITY;
    default:
      if (!NUMBER_TEXT.test(trimmed)) throw new Error("not a number");
      value = Number(trimmed);
  }
  return bits === 32 ? Math.fround(value) : value;
}

function decodeHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(hex)) throw new Error("not an even-length hexadecimal text");
  return new Uint8Array(Buffer.from(hex, "hex"));
}

const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));

function formatYear(year: number): string {
  return year < 0 ? `-${String(-year).padStart(4, "0")}` : String(year).padStart(4, "0");
}

function formatTimestamp(fields: OracleDatetimeFields, precision: number, utc: boolean): string {
  const fraction = precision === 0 ? "" : `.${String(fields.nanos).padStart(9, "0").slice(0, precision)}`;
  return `${formatYear(fields.year)}-${PAD2[fields.month]}-${PAD2[fields.day]}T${PAD2[fields.hour]}:${PAD2[fields.minute]}:${PAD2[fields.second]}${fraction}${utc ? "Z" : ""}`;
}

function decodeTimestamp(literal: OracleRedoLiteral, precision: number, withZone: boolean, dataType: string): string {
  let text: string;
  let mask: string | undefined;
  let fn: string;
  if (literal.kind === "call") {
    fn = literal.fn;
    text = literal.args[0] ?? "";
    mask = literal.args[1];
    if (literal.args.length === 0 || literal.args.length > 3) throw new Error(`${fn} with ${literal.args.length} arguments`);
  } else if (literal.kind === "string") {
    // A bare string is read as the function of the column's own type would read it.
    fn = dataType.toUpperCase() === "DATE" ? "TO_DATE" : withZone ? "TO_TIMESTAMP_TZ" : "TO_TIMESTAMP";
    text = literal.value;
  } else {
    throw new Error(`expected TO_DATE/TO_TIMESTAMP/TO_TIMESTAMP_TZ, got ${describe(literal)}`);
  }
  switch (fn) {
    case "TO_DATE":
      mask ??= ORACLE_SESSION_NLS_FORMATS.NLS_DATE_FORMAT;
      break;
    case "TO_TIMESTAMP":
      mask ??= ORACLE_SESSION_NLS_FORMATS.NLS_TIMESTAMP_FORMAT;
      break;
    case "TO_TIMESTAMP_TZ":
      if (!withZone) throw new Error("TO_TIMESTAMP_TZ in a column without time zone");
      mask ??= ORACLE_SESSION_NLS_FORMATS.NLS_TIMESTAMP_TZ_FORMAT;
      break;
    default:
      throw new Error(`expected TO_DATE/TO_TIMESTAMP/TO_TIMESTAMP_TZ, got ${fn}(…)`);
  }
  const fields = readOracleDatetime(text, mask);
  if (!withZone) {
    if (fields.offsetMinutes !== undefined || fields.zone !== undefined) throw new Error("a time zone in a column without time zone");
    return formatTimestamp(fields, precision, false);
  }
  if (fields.offsetMinutes === 0 || (fields.offsetMinutes === undefined && fields.zone === undefined)) {
    return formatTimestamp(fields, precision, true);
  }
  const epoch = toEpochSeconds(fields);
  const days = Math.floor(epoch / 86400);
  const sod = epoch - days * 86400;
  const date = civilFromDays(days);
  const utc: OracleDatetimeFields = {
    ...date,
    hour: Math.floor(sod / 3600),
    minute: Math.floor(sod / 60) % 60,
    second: sod % 60,
    nanos: fields.nanos,
    offsetMinutes: 0,
    zone: undefined,
  };
  return formatTimestamp(utc, precision, true);
}

const YM_INTERVAL = /^\s*([+-])?(\d+)-(\d+)\s*$/;
const DS_INTERVAL = /^\s*([+-])?(\d+) (\d+):(\d+):(\d+)(?:\.(\d*))?\s*$/;

function decodeInterval(literal: OracleRedoLiteral): string {
  if (literal.kind !== "call" && literal.kind !== "string") throw new Error(`expected TO_YMINTERVAL/TO_DSINTERVAL, got ${describe(literal)}`);
  const text = literal.kind === "call" ? singleArg(literal) : literal.value;
  if (literal.kind === "call" && literal.fn !== "TO_YMINTERVAL" && literal.fn !== "TO_DSINTERVAL") {
    throw new Error(`expected TO_YMINTERVAL/TO_DSINTERVAL, got ${literal.fn}(…)`);
  }
  if (/^\s*-?P/i.test(text)) return text.trim().toUpperCase();
  const ym = YM_INTERVAL.exec(text);
  if (ym !== null) {
    const sign = ym[1] === "-" ? "-" : "";
    const years = Number(ym[2]);
    const months = Number(ym[3]);
    if (months > 11) throw new Error("months beyond 11 in a year-to-month interval");
    let out = "P";
    if (years !== 0) out += `${sign}${years}Y`;
    if (months !== 0) out += `${sign}${months}M`;
    return out === "P" ? "PT0S" : out;
  }
  const ds = DS_INTERVAL.exec(text);
  if (ds !== null) {
    const sign = ds[1] === "-" ? "-" : "";
    const days = Number(ds[2]);
    const hours = Number(ds[3]);
    const minutes = Number(ds[4]);
    const seconds = Number(ds[5]);
    if (hours > 23 || minutes > 59 || seconds > 59) throw new Error("a time component out of range in a day-to-second interval");
    const fraction = (ds[6] ?? "").slice(0, 6).replace(/0+$/, "");
    let out = "P";
    if (days !== 0) out += `${sign}${days}D`;
    let time = "";
    if (hours !== 0) time += `${sign}${hours}H`;
    if (minutes !== 0) time += `${sign}${minutes}M`;
    if (seconds !== 0 || fraction !== "") time += `${sign}${seconds}${fraction === "" ? "" : `.${fraction}`}S`;
    if (time !== "") out += `T${time}`;
    return out === "P" ? "PT0S" : out;
  }
  throw new Error("not an Oracle interval text");
}
