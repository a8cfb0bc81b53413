import { canonicalDecimal, canonicalFloat, canonicalJson, canonicalTime, canonicalTimestamp, durationMicros } from "./canonical-value.js";

/**
 * How a column's values are normalised for comparison, chosen from the
 * SOURCE column's type and used on both sides:
 * - `int`, `decimal`: exact decimal text (`canonicalDecimal`);
 * - `float`: shortest round-trip text of the double (`canonicalFloat`; float4 widened exactly);
 * - `text`, `uuid`, `interval`, `date`: the text as the database prints it (UTC, ISO sessions);
 * - `bytes`: lowercase hex;
 * - `bool`: `true`/`false`;
 * - `time`, `timetz`: `HH:MM:SS[.f][offset]`, fraction zeros trimmed;
 * - `timestamp`, `timestamptz`: `YYYY-MM-DD HH:MM:SS[.f]` in UTC, fraction zeros trimmed;
 * - `json`: semantic (jsonb-like: keys sorted, duplicate keys last-wins, numbers exact);
 *   arrays and hstore are compared as their JSON (`to_jsonb`) form;
 * - `json-text`: the exact JSON text (PostgreSQL `json` when its text must survive);
 * - `duration`: signed microseconds (MySQL TIME, landing as `interval` or `time`).
 */
export type ValueKind =
  | "int"
  | "decimal"
  | "float"
  | "text"
  | "bytes"
  | "bool"
  | "date"
  | "time"
  | "timetz"
  | "timestamp"
  | "timestamptz"
  | "interval"
  | "uuid"
  | "json"
  | "json-text"
  | "duration";

/** One column as a reader saw it. */
export interface ColumnInfo {
  readonly name: string;
  readonly kind: ValueKind;
  /** The column's type as the system names it (for reports). */
  readonly type: string;
}

/** A canonical row: column name -> canonical value. */
export type CanonicalRow = Readonly<Record<string, string | null>>;

/** A table read by a reader: columns, key columns and canonical rows. */
export interface TableRows {
  readonly columns: readonly ColumnInfo[];
  /** Key column names; empty for a keyless table (rows are then keyed by their whole content). */
  readonly key: readonly string[];
  readonly rows: readonly CanonicalRow[];
}

/** Canonical text of one raw value (text as read from a database) of a kind; `null` stays `null`. */
export function canonicalValue(kind: ValueKind, raw: string | null): string | null {
  if (raw === null) return null;
  switch (kind) {
    case "int":
    case "decimal":
      return canonicalDecimal(raw);
    case "float":
      return canonicalFloat(raw);
    case "bool":
      return raw === "t" || raw === "true" || raw === "1" ? "true" : raw === "f" || raw === "false" || raw === "0" ? "false" : `!${raw}`;
    case "time":
    case "timetz":
      return canonicalTime(raw);
    case "timestamp":
    case "timestamptz":
      return canonicalTimestamp(raw);
    case "json":
      return canonicalJson(raw);
    case "duration":
      return raw.includes(":") ? durationMicros(raw) : canonicalDecimal(raw);
    case "bytes":
      return raw.toLowerCase();
    default:
      return raw;
  }
}

/**
 * Indexes rows by the canonical values of `keyColumns` (for a keyless
 * table, all the source's columns); a repeated key gets a `#n` suffix.
 */
export function indexRows(rows: readonly CanonicalRow[], keyColumns: readonly string[]): Map<string, CanonicalRow> {
  const out = new Map<string, CanonicalRow>();
  for (const row of rows) {
    const base = JSON.stringify(keyColumns.map((k) => row[k] ?? null));
    let k = base;
    for (let n = 2; out.has(k); n++) k = `${base}#${n}`;
    out.set(k, row);
  }
  return out;
}
