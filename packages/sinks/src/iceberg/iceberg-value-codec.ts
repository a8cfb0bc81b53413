import type { Value } from "@zero-etl/core";

/**
 * The in-memory form of one Iceberg primitive value, as written to Parquet:
 * `boolean`; `int`/`date`/`float`/`double` as number (date = days since
 * epoch); `long`/`time`/`timestamp(tz)` and decimals (unscaled) as bigint;
 * `string` as string; `uuid`/`binary` as bytes.
 */
export type IcebergValue = boolean | number | bigint | string | Uint8Array;

const DECIMAL_TYPE = /^decimal\((\d+),\s*(\d+)\)$/;
const MICROS_PER_DAY = 86_400_000_000n;

/** `NaN`, `Infinity`, `-Infinity` as PostgreSQL prints them for `numeric`. */
function isNonFiniteDecimal(text: string): boolean {
  return text === "NaN" || text === "Infinity" || text === "-Infinity";
}

const decimalTypes = new Map<string, { precision: number; scale: number } | undefined>();

/** Precision and scale of a `decimal(P,S)` type string, or undefined. */
export function parseDecimalType(type: string): { precision: number; scale: number } | undefined {
  // Called once per value on the write path: the type strings of a schema are few, so memoise.
  if (decimalTypes.has(type)) return decimalTypes.get(type);
  const m = DECIMAL_TYPE.exec(type);
  const parsed = m === null ? undefined : Object.freeze({ precision: Number(m[1]), scale: Number(m[2]) });
  if (decimalTypes.size < 1024) decimalTypes.set(type, parsed);
  return parsed;
}

/**
 * Converts a logical value (as `LogicalType` documents) to its Iceberg form for
 * a primitive type. Throws a `RangeError` naming the problem when the value
 * cannot be represented exactly. One documented exception returns null: a
 * decimal `NaN`, `Infinity` or `-Infinity` (PostgreSQL `numeric` has them, no
 * Iceberg decimal does) lands as NULL rather than losing the row.
 */
export function toIcebergValue(type: string, value: Value): IcebergValue | null {
  switch (type) {
    case "boolean":
      if (typeof value === "boolean") return value;
      break;
    case "int":
    case "float":
    case "double":
      if (typeof value === "number") return value;
      if (typeof value === "bigint") return Number(value);
      if (typeof value === "string" && type !== "int") return Number(value);
      break;
    case "long":
      if (typeof value === "bigint") return value;
      if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
      if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
      break;
    case "string":
      if (typeof value === "string") return value;
      if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return String(value);
      if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
      return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    case "binary":
      if (value instanceof Uint8Array) return value;
      if (typeof value === "string") return Buffer.from(value, "utf8");
      break;
    case "date":
      if (typeof value === "string") return parseDateDays(value);
      break;
    case "time":
      if (typeof value === "string") return parseTimeMicros(value);
      break;
    case "timestamp":
    case "timestamptz":
      if (typeof value === "string") return parseTimestampMicros(value);
      break;
    case "uuid":
      if (typeof value === "string") return parseUuid(value);
      if (value instanceof Uint8Array && value.length === 16) return value;
      break;
    default: {
      const decimal = parseDecimalType(type);
      if (decimal !== undefined) {
        if (typeof value === "string" && isNonFiniteDecimal(value)) return null;
        return parseDecimal(value, decimal.precision, decimal.scale);
      }
    }
  }
  if (Array.isArray(value)) throw new RangeError(`a nested array does not fit iceberg type ${type} (a multidimensional array in a column typed as a list of ${type})`);
  throw new RangeError(`a ${typeof value} value does not fit iceberg type ${type}`);
}

/**
 * Converts a raw Parquet value read back for an Iceberg primitive type to the
 * logical representation (decimals as strings, longs as bigint, dates,
 * times and timestamps as ISO strings, uuids as canonical strings).
 */
export function fromIcebergValue(type: string, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case "boolean":
    case "int":
    case "float":
    case "double":
    case "string":
      return raw as Value;
    case "long":
      return typeof raw === "bigint" ? raw : BigInt(raw as number);
    case "binary":
      return raw instanceof Uint8Array ? raw : Buffer.from(String(raw), "utf8");
    case "date": {
      const days = Number(raw);
      return Math.abs(days) === INFINITE_DAYS ? (days > 0 ? "infinity" : "-infinity") : formatDate(days);
    }
    case "time":
      return formatTime(BigInt(raw as bigint));
    case "timestamp":
    case "timestamptz": {
      const micros = BigInt(raw as bigint);
      if (micros === INFINITE_MICROS || micros === -INFINITE_MICROS) return micros > 0n ? "infinity" : "-infinity";
      return formatTimestamp(micros, type === "timestamptz");
    }
    case "uuid":
      return formatUuid(raw as Uint8Array);
    default: {
      const decimal = parseDecimalType(type);
      if (decimal === undefined) return raw as Value;
      const unscaled = raw instanceof Uint8Array ? bytesToBigInt(raw) : BigInt(raw as number | bigint);
      return formatDecimal(unscaled, decimal.scale);
    }
  }
}

/** Orders two non-null Iceberg values of the same type (strings by code point, bytes unsigned). */
export function compareIcebergValues(a: IcebergValue, b: IcebergValue): number {
  if (typeof a === "string" && typeof b === "string") return compareCodePoints(a, b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  if (typeof a === "boolean" && typeof b === "boolean") return a === b ? 0 : a ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Binary single-value serialization of the spec's Appendix D, used for lower/upper bounds. */
export function serializeIcebergValue(type: string, value: IcebergValue): Uint8Array {
  switch (type) {
    case "boolean":
      return Uint8Array.of(value === true ? 1 : 0);
    case "int":
    case "date": {
      const b = Buffer.alloc(4);
      b.writeInt32LE(value as number);
      return b;
    }
    case "float": {
      const b = Buffer.alloc(4);
      b.writeFloatLE(value as number);
      return b;
    }
    case "double": {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(value as number);
      return b;
    }
    case "long":
    case "time":
    case "timestamp":
    case "timestamptz": {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(value as bigint);
      return b;
    }
    case "string":
      return Buffer.from(value as string, "utf8");
    case "uuid":
    case "binary":
      return value as Uint8Array;
    default:
      if (parseDecimalType(type) !== undefined) return bigIntToMinimalBytes(value as bigint);
      throw new RangeError(`no single-value serialization for iceberg type ${type}`);
  }
}

/** Reads back a value written by {@link serializeIcebergValue}. */
export function deserializeIcebergValue(type: string, bytes: Uint8Array): IcebergValue {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case "boolean":
      return b[0] !== 0;
    case "int":
    case "date":
      return b.readInt32LE(0);
    case "float":
      return b.readFloatLE(0);
    case "double":
      return b.readDoubleLE(0);
    case "long":
    case "time":
    case "timestamp":
    case "timestamptz":
      return b.readBigInt64LE(0);
    case "string":
      return b.toString("utf8");
    default:
      if (parseDecimalType(type) !== undefined) return bytesToBigInt(bytes);
      return bytes;
  }
}

/** Unscaled value of a decimal string/number/bigint at `scale`, checked against `precision`. */
export function parseDecimal(value: Value, precision: number, scale: number): bigint {
  if (typeof value === "string") {
    const fast = parseShortDecimal(value, precision, scale);
    if (fast !== undefined) return fast;
  }
  let text: string;
  if (typeof value === "bigint") text = value.toString();
  else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
  else if (typeof value === "string") text = value;
  else throw new RangeError(`a ${typeof value} value does not fit decimal(${precision},${scale})`);
  if (/e/i.test(text)) text = expandExponent(text);
  const negative = text.startsWith("-");
  const body = negative || text.startsWith("+") ? text.slice(1) : text;
  const dot = body.indexOf(".");
  const intPart = dot < 0 ? body : body.slice(0, dot);
  let frac = dot < 0 ? "" : body.slice(dot + 1);
  if (!/^\d*$/.test(intPart) || !/^\d*$/.test(frac) || intPart.length + frac.length === 0) {
    throw new RangeError(`not a decimal number for decimal(${precision},${scale})`);
  }
  if (frac.length > scale) {
    if (!/^0*$/.test(frac.slice(scale))) throw new RangeError(`more than ${scale} fractional digits for decimal(${precision},${scale})`);
    frac = frac.slice(0, scale);
  } else {
    frac = frac.padEnd(scale, "0");
  }
  const digits = (intPart + frac).replace(/^0+/, "");
  if (digits.length > precision) throw new RangeError(`more than ${precision} digits for decimal(${precision},${scale})`);
  const unscaled = digits.length === 0 ? 0n : BigInt(digits);
  return negative ? -unscaled : unscaled;
}

/**
 * The common case without allocations: `[-+]digits[.digits]` whose unscaled
 * value has at most 15 digits, so a double holds it exactly. Undefined sends
 * the caller to the general path (which also produces the errors).
 */
function parseShortDecimal(text: string, precision: number, scale: number): bigint | undefined {
  const n = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 45 || first === 43) {
    negative = first === 45;
    i = 1;
  }
  let unscaled = 0;
  let digits = 0;
  let fraction = -1;
  let any = false;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (fraction >= 0) return undefined;
      fraction = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return undefined;
    any = true;
    if (fraction >= 0) {
      if (fraction === scale) {
        if (d !== 0) return undefined;
        continue;
      }
      fraction++;
    }
    if (unscaled !== 0 || d !== 0) digits++;
    unscaled = unscaled * 10 + d;
  }
  if (!any) return undefined;
  for (let f = fraction < 0 ? 0 : fraction; f < scale; f++) {
    unscaled *= 10;
    if (unscaled !== 0) digits++;
  }
  if (digits > 15 || digits > precision) return undefined;
  return BigInt(negative ? -unscaled : unscaled);
}

function expandExponent(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$/.exec(text);
  if (m === null) throw new RangeError("not a decimal number");
  const sign = m[1] === "-" ? "-" : "";
  const intPart = m[2] ?? "";
  const frac = m[3] ?? "";
  const exp = Number(m[4]);
  const digits = intPart + frac;
  const point = intPart.length + exp;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Decimal string of an unscaled value. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale === 0) return (negative ? "-" : "") + digits;
  const padded = digits.padStart(scale + 1, "0");
  return `${negative ? "-" : ""}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** Big-endian two's complement with the fewest bytes (Appendix D decimal). */
export function bigIntToMinimalBytes(value: bigint): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    const signBit = (byte & 0x80) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) break;
  }
  return Uint8Array.from(bytes);
}

/** Big-endian two's complement bytes of exactly `size` bytes (Parquet FIXED_LEN_BYTE_ARRAY decimal). */
export function bigIntToFixedBytes(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = value;
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Signed big-endian bytes to bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const byte of bytes) v = (v << 8n) | BigInt(byte);
  if (bytes.length > 0 && ((bytes[0] ?? 0) & 0x80) !== 0) v -= 1n << BigInt(bytes.length * 8);
  return v;
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code-point order only when a surrogate meets U+E000..U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function digitsAt(s: string, start: number, count: number): number {
  let v = 0;
  for (let i = start; i < start + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date with an astronomical
 * year (1 BC is year 0). Pure arithmetic: JavaScript `Date` stops at year
 * 275760, PostgreSQL dates go to 5874897.
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** The proleptic Gregorian date (astronomical year) of days since 1970-01-01. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/**
 * PostgreSQL's `infinity` / `-infinity` have no Iceberg value. They land as
 * the sentinels DuckDB uses for its own infinite dates and timestamps
 * (±(2^31-1) days, ±(2^63-1) microseconds), so DuckDB reads them back as
 * `infinity` / `-infinity`. No finite PostgreSQL date reaches them;
 * `294247-01-10T04:00:54.775807` is the one finite timestamp that shares a
 * sentinel (documented in docs/connectors/iceberg.md).
 */
export const INFINITE_DAYS = 2_147_483_647;
/** See {@link INFINITE_DAYS}: microseconds of `infinity` (`-INFINITE_MICROS` is `-infinity`). */
export const INFINITE_MICROS = 9_223_372_036_854_775_807n;

/** 1 for `infinity`/`+infinity`, -1 for `-infinity`, 0 otherwise. */
function infinitySign(text: string): number {
  if (text === "infinity" || text === "+infinity") return 1;
  return text === "-infinity" ? -1 : 0;
}

/** Days since 1970-01-01 of `YYYY-MM-DD` (signed astronomical years of any length); must fit Iceberg's int32 days. `±infinity` gives the {@link INFINITE_DAYS} sentinels. */
export function parseDateDays(text: string): number {
  const m = /^([+-]?\d{4,})-(\d{2})-(\d{2})$/.exec(text);
  if (m === null) {
    const sign = infinitySign(text);
    if (sign !== 0) return sign * INFINITE_DAYS;
    throw new RangeError("not a YYYY-MM-DD date");
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw new RangeError("not a calendar date");
  const days = daysFromCivil(year, month, day);
  if (days < INT32_MIN || days > INT32_MAX) throw new RangeError("date outside iceberg's int32 days since 1970-01-01");
  return days;
}

function parseFractionMicros(text: string, start: number): number {
  let micros = 0;
  let scale = 100_000;
  for (let i = start; i < text.length && scale >= 1; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    micros += c * scale;
    scale /= 10;
  }
  return micros;
}

/** Microseconds since midnight of `HH:MM:SS[.ffffff]`; must lie within one day. */
export function parseTimeMicros(text: string): bigint {
  const h = digitsAt(text, 0, 2);
  const mi = digitsAt(text, 3, 2);
  const s = digitsAt(text, 6, 2);
  if (!(h >= 0 && h < 24 && mi >= 0 && mi < 60 && s >= 0 && s < 61) || text[2] !== ":" || text[5] !== ":") {
    // PostgreSQL accepts 24:00:00 (the end of the day); an iceberg time is a time of day
    if (h === 24 && mi === 0 && s === 0) throw new RangeError("time 24:00:00 is past the last iceberg time of day 23:59:59.999999");
    throw new RangeError("time outside the iceberg time of day 00:00:00..23:59:59.999999");
  }
  const frac = text[8] === "." ? parseFractionMicros(text, 9) : 0;
  return BigInt((h * 3600 + mi * 60 + s) * 1_000_000 + frac);
}

/** Microseconds since the epoch of an ISO-8601 timestamp with optional `Z`/offset; `±infinity` gives the {@link INFINITE_MICROS} sentinels. */
export function parseTimestampMicros(text: string): bigint {
  if (text.length >= 19 && text.charCodeAt(4) === 45 && text.charCodeAt(10) === 84) {
    const y = digitsAt(text, 0, 4);
    const mo = digitsAt(text, 5, 2);
    const d = digitsAt(text, 8, 2);
    const h = digitsAt(text, 11, 2);
    const mi = digitsAt(text, 14, 2);
    const s = digitsAt(text, 17, 2);
    let pos = 19;
    let frac = 0;
    if (text.charCodeAt(pos) === 46) {
      frac = parseFractionMicros(text, pos + 1);
      pos++;
      while (pos < text.length && text.charCodeAt(pos) >= 48 && text.charCodeAt(pos) <= 57) pos++;
    }
    let offsetMinutes = 0;
    if (pos < text.length) {
      const c = text[pos];
      if (c === "Z") pos++;
      else if (c === "+" || c === "-") {
        const oh = digitsAt(text, pos + 1, 2);
        const om = text[pos + 3] === ":" ? digitsAt(text, pos + 4, 2) : digitsAt(text, pos + 3, 2);
        offsetMinutes = (c === "-" ? -1 : 1) * (oh * 60 + om);
        pos = text.length;
      }
    }
    if (!Number.isNaN(y + mo + d + h + mi + s + offsetMinutes) && y >= 100 && pos === text.length) {
      const ms = Date.UTC(y, mo - 1, d, h, mi, s) - offsetMinutes * 60_000;
      const micros = ms * 1000 + frac;
      // One BigInt instead of three while the microsecond count stays exact as a double (years 1685..2255).
      return Number.isSafeInteger(micros) ? BigInt(micros) : BigInt(ms) * 1000n + BigInt(frac);
    }
  }
  const m = /^([+-]?\d{4,})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (m === null) {
    const sign = infinitySign(text);
    if (sign !== 0) return sign > 0 ? INFINITE_MICROS : -INFINITE_MICROS;
    throw new RangeError("not an ISO-8601 timestamp");
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw new RangeError("not a calendar date in the timestamp");
  const seconds = Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
  let micros = BigInt(daysFromCivil(year, month, day)) * MICROS_PER_DAY + BigInt(seconds) * 1_000_000n + BigInt((m[7] ?? "").padEnd(6, "0").slice(0, 6) || "0");
  const off = m[8];
  if (off !== undefined && off !== "Z") {
    const sign = off.startsWith("-") ? -1n : 1n;
    const digits = off.slice(1).replace(":", "");
    micros -= sign * BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0")) * 60_000_000n;
  }
  if (micros > INT64_MAX) throw new RangeError("timestamp after 294247-01-10T04:00:54.775807Z, past iceberg's int64 microsecond range");
  if (micros < INT64_MIN) throw new RangeError("timestamp before -290308-12-21T19:59:05.224192Z, past iceberg's int64 microsecond range");
  return micros;
}

const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function formatYear(y: number): string {
  if (y >= 0 && y <= 9999) return pad(y, 4);
  return (y < 0 ? "-" : "+") + pad(Math.abs(y), 6);
}

/** `YYYY-MM-DD` of days since the epoch. */
export function formatDate(days: number): string {
  const d = civilFromDays(days);
  return `${formatYear(d.year)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
}

/** `HH:MM:SS.ffffff` of microseconds since midnight. */
export function formatTime(micros: bigint): string {
  const total = Number(micros);
  const s = Math.floor(total / 1_000_000);
  const f = total % 1_000_000;
  return `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}.${pad(f, 6)}`;
}

/** ISO-8601 with six fractional digits, `Z` when `withZone`. */
export function formatTimestamp(micros: bigint, withZone: boolean): string {
  const days = microsToDays(micros);
  const inDay = Number(micros - BigInt(days) * MICROS_PER_DAY);
  const d = civilFromDays(days);
  const s = Math.floor(inDay / 1_000_000);
  const base = `${formatYear(d.year)}-${pad(d.month, 2)}-${pad(d.day, 2)}T${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}`;
  return `${base}.${pad(inDay % 1_000_000, 6)}${withZone ? "Z" : ""}`;
}

/** Days of a timestamp in micros (floor), used by partition transforms. */
export function microsToDays(micros: bigint): number {
  let days = micros / MICROS_PER_DAY;
  if (micros % MICROS_PER_DAY < 0n) days -= 1n;
  return Number(days);
}

function parseUuid(text: string): Uint8Array {
  const hex = text.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError("not a uuid");
  return Buffer.from(hex, "hex");
}

function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The entries of a logical map value (`LogicalType` kind `map`): the JSON
 * text of an object (as the PostgreSQL source gives `hstore`), or a plain
 * object. Values that are JSON strings or null come back as such; any other
 * JSON value comes back as its JSON text (a string-valued map then holds it
 * as text). Throws a `RangeError` for anything else.
 */
export function mapEntries(value: Value): [string, Value][] {
  let object: unknown = value;
  if (typeof value === "string") {
    try {
      object = JSON.parse(value);
    } catch {
      throw new RangeError("a map value is not the JSON text of an object");
    }
  }
  if (typeof object !== "object" || object === null || Array.isArray(object) || object instanceof Uint8Array) throw new RangeError("a map value is not an object");
  return Object.entries(object as Record<string, unknown>).map(([k, v]): [string, Value] => [k, v === null || v === undefined || typeof v === "string" ? (v ?? null) : JSON.stringify(v)]);
}
