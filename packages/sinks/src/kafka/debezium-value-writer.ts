import type { LogicalType, Value } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

const MICROS_PER_DAY = 86_400_000_000n;
/** What Debezium's PostgreSQL connector writes for `infinity`/`-infinity` timestamps. */
export const POSITIVE_INFINITY_MICROS = 9_223_372_036_825_200_000n;
export const NEGATIVE_INFINITY_MICROS = -9_223_372_036_832_400_000n;

const DATE = /^([+-]?\d{4,})-(\d{2})-(\d{2})$/;
const TIME = /^(-)?(\d{2,}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const TIMESTAMP = /^([+-]?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil), exact for any year. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function micros(fraction: string | undefined): number {
  return fraction === undefined ? 0 : Number(fraction.padEnd(6, "0"));
}

function unencodable(kind: string): ZeroEtlError {
  return new ZeroEtlError(`a ${kind} value has no Debezium encoding`, { code: "record-rejected" });
}

/** `YYYY-MM-DD` to days since the epoch. */
export function encodeDate(value: string): number {
  const m = DATE.exec(value);
  if (m === null) throw unencodable("date");
  return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** `[-]HH:MM:SS[.ffffff]` (MySQL TIME may be negative or past 24 h) to microseconds. */
export function encodeTime(value: string): bigint {
  const m = TIME.exec(value);
  if (m === null) throw unencodable("time");
  const total = BigInt(((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1_000_000 + micros(m[5]));
  return m[1] === "-" ? -total : total;
}

/** A zoneless ISO-8601 timestamp to microseconds since the epoch; `infinity` as Debezium writes it. */
export function encodeTimestamp(value: string): bigint {
  if (value === "infinity") return POSITIVE_INFINITY_MICROS;
  if (value === "-infinity") return NEGATIVE_INFINITY_MICROS;
  const m = TIMESTAMP.exec(value);
  if (m === null) throw unencodable("timestamp");
  const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  const inDay = ((Number(m[4]) * 60 + Number(m[5])) * 60 + Number(m[6])) * 1_000_000 + micros(m[7]);
  return BigInt(days) * MICROS_PER_DAY + BigInt(inDay);
}

function base64(value: Value): string {
  if (!(value instanceof Uint8Array)) throw unencodable("bytes");
  return `"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}"`;
}

/**
 * Writes one value of `type` as the JSON text of its Debezium payload field
 * (see {@link connectSchemaOf}); 64-bit integers keep every digit. Throws a
 * `record-rejected` error for a value the encoding cannot hold.
 */
export function writeValue(type: LogicalType, value: Value): string {
  if (value === null) return "null";
  switch (type.kind) {
    case "bool":
      return value === true ? "true" : "false";
    case "int":
      return type.bits === 64 && !type.signed ? JSON.stringify(String(value)) : String(value);
    case "float":
      // String(-0) is "0": a negative zero is written as Debezium's JsonConverter writes it
      if (typeof value === "number" && Number.isFinite(value)) return Object.is(value, -0) ? "-0.0" : String(value);
      return JSON.stringify(String(value));
    case "decimal":
    case "string":
    case "interval":
    case "uuid":
    case "json":
      return JSON.stringify(typeof value === "string" ? value : String(value));
    case "bytes":
    case "geometry":
      return base64(value);
    case "date":
      if (typeof value !== "string") throw unencodable("date");
      return String(encodeDate(value));
    case "time":
      if (typeof value !== "string") throw unencodable("time");
      return type.withZone ? JSON.stringify(value) : String(encodeTime(value));
    case "timestamp":
      if (typeof value !== "string") throw unencodable("timestamp");
      return type.withZone ? JSON.stringify(value) : String(encodeTimestamp(value));
    case "list": {
      if (!Array.isArray(value)) throw unencodable("list");
      let out = "[";
      for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + writeValue(type.element, (value as readonly Value[])[i] ?? null);
      return `${out}]`;
    }
    case "struct": {
      const record = value as Readonly<Record<string, Value>>;
      let out = "{";
      for (let i = 0; i < type.fields.length; i++) {
        const f = type.fields[i];
        if (f === undefined) continue;
        out += `${i === 0 ? "" : ","}${JSON.stringify(f.name)}:${writeValue(f.type, record[f.name] ?? null)}`;
      }
      return `${out}}`;
    }
    case "map":
      // a map value is the JSON text of an object of strings: embedded as that object
      if (typeof value !== "string" || !value.trimStart().startsWith("{")) throw unencodable("map");
      return value;
  }
}
