import type { LogicalType, Value } from "@zero-etl/core";

const MICROS_PER_DAY = 86_400_000_000n;
const POSITIVE_INFINITY_MICROS = 9_223_372_036_825_200_000n;
const NEGATIVE_INFINITY_MICROS = -9_223_372_036_832_400_000n;

const pad = (n: number | bigint, width: number): string => String(n).padStart(width, "0");

/** The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's civil_from_days), as `YYYY-MM-DD`. */
export function civilFromDays(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const yearText = year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)}`;
}

function fraction(micros: bigint): string {
  if (micros === 0n) return "";
  return `.${pad(micros, 6).replace(/0+$/, "")}`;
}

/** Microseconds of a time of day (or MySQL's signed TIME) as `[-]HH:MM:SS[.ffffff]`. */
export function timeFromMicros(value: bigint): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const seconds = abs / 1_000_000n;
  const text = `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}${fraction(abs % 1_000_000n)}`;
  return negative ? `-${text}` : text;
}

/** Microseconds since the epoch as a zoneless ISO-8601 timestamp; Debezium's infinity values as `infinity`. */
export function timestampFromMicros(value: bigint): string {
  if (value === POSITIVE_INFINITY_MICROS) return "infinity";
  if (value === NEGATIVE_INFINITY_MICROS) return "-infinity";
  let days = value / MICROS_PER_DAY;
  let rest = value % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  return `${civilFromDays(Number(days))}T${timeFromMicros(rest)}`;
}

const toBigInt = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(v as string | number));

/**
 * Reads one Debezium payload field back into a zero-etl value of `type`
 * (the reverse of the Kafka sink's encoding; integers of 16+ digits arrive
 * as strings, see `quoteLongIntegers`).
 */
export function readValue(type: LogicalType, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (type.kind) {
    case "bool":
      return raw === true;
    case "int":
      return type.bits === 64 ? toBigInt(raw) : Number(raw);
    case "float":
      return Number(raw);
    case "decimal":
      return String(raw);
    case "string":
    case "interval":
    case "uuid":
    case "json":
      return typeof raw === "string" ? raw : JSON.stringify(raw);
    case "bytes":
    case "geometry":
      return new Uint8Array(Buffer.from(String(raw), "base64"));
    case "date":
      return civilFromDays(Number(raw));
    case "time":
      return type.withZone ? String(raw) : timeFromMicros(toBigInt(raw));
    case "timestamp":
      return type.withZone ? String(raw) : timestampFromMicros(toBigInt(raw));
    case "list":
      return (raw as unknown[]).map((v) => readValue(type.element, v));
    case "struct": {
      const out: Record<string, Value> = {};
      const record = raw as Record<string, unknown>;
      for (const f of type.fields) out[f.name] = readValue(f.type, record[f.name]);
      return out;
    }
    case "map":
      // the reverse of the sink's: the object back to its JSON text
      return typeof raw === "string" ? raw : JSON.stringify(raw);
  }
}
