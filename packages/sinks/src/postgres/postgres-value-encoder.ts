import type { LogicalType, Value } from "@zero-etl/core";
import { LIST_LOWER_BOUNDS } from "@zero-etl/core";

/**
 * Turns a cell value (as `LogicalType` documents it) into a `pg` query
 * parameter: `bigint` to its decimal string, `Uint8Array` to a `Buffer` over
 * the same memory, arrays and objects (list, struct) to JSON text for a
 * `jsonb` column; strings (decimals, dates, timestamps, ISO intervals, uuids,
 * JSON text), numbers and booleans pass through, PostgreSQL parses them
 * against the column type. Works on the value, not the column type, so rows
 * of an older schema version encode the same way.
 */
export function toPgParameter(value: Value | undefined): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // pg would send String(-0) === "0" and lose the sign of a negative zero
      return value === 0 && 1 / value < 0 ? "-0" : value;
    case "bigint":
      return value.toString();
    default:
      break;
  }
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return encodeNestedJson(value);
}

/**
 * JSON text of a list or struct value: 64-bit integers keep every digit (as
 * JSON numbers), bytes become base64 strings, non-finite floats become the
 * strings `NaN`/`Infinity`/`-Infinity` since JSON has no such numbers.
 */
export function encodeNestedJson(value: Value): string {
  const parts: string[] = [];
  writeJson(value, parts);
  return parts.join("");
}

function writeJson(value: Value | undefined, out: string[]): void {
  if (value === null || value === undefined) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "number":
      out.push(Number.isFinite(value) ? String(value) : JSON.stringify(String(value)));
      return;
    case "bigint":
      out.push(value.toString());
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    default:
      break;
  }
  if (value instanceof Uint8Array) {
    out.push(`"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}"`);
    return;
  }
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      writeJson((value as readonly Value[])[i], out);
    }
    out.push("]");
    return;
  }
  out.push("{");
  let first = true;
  for (const [k, v] of Object.entries(value as Record<string, Value>)) {
    if (v === undefined) continue;
    if (!first) out.push(",");
    first = false;
    out.push(JSON.stringify(k), ":");
    writeJson(v, out);
  }
  out.push("}");
}

/** Encodes one cell for a parameter bound to a column of a given target type. */
export type PgParameterEncoder = (value: Value | undefined) => unknown;

const TEMPORAL_BASE_TYPES = new Set(["date", "timestamp without time zone", "timestamp with time zone"]);

/**
 * The encoder for a column whose type without modifiers is `baseType` (as
 * `format_type(oid, NULL)` prints it): arrays get PostgreSQL array literals
 * (elements encoded for the element type, lower bounds kept), `hstore` an
 * hstore literal from the JSON object the value holds, dates and timestamps
 * turn astronomical negative years (`-0043-03-15`, which PostgreSQL reads as
 * a time zone) into its ` BC` form; everything else is {@link toPgParameter}.
 */
export function createPgParameterEncoder(baseType: string): PgParameterEncoder {
  if (baseType.endsWith("[]")) {
    const element = baseType.slice(0, -2);
    const encodeElement = createArrayElementEncoder(element);
    return (value) => (Array.isArray(value) ? encodePgArray(value as readonly Value[], encodeElement) : toPgParameter(value));
  }
  if (baseType === "hstore") return (value) => (typeof value === "string" ? jsonToHstore(value) : toPgParameter(value));
  if (TEMPORAL_BASE_TYPES.has(baseType)) return (value) => (typeof value === "string" ? toPgEra(value) : toPgParameter(value));
  return toPgParameter;
}

/** `-YYYY...` (astronomical year, 0 = 1 BC) to PostgreSQL's `YYYY... BC`; other text unchanged. */
export function toPgEra(text: string): string {
  if (text.charCodeAt(0) !== 0x2d /* - */ || !(text.charCodeAt(1) >= 0x30 && text.charCodeAt(1) <= 0x39)) return text;
  const dash = text.indexOf("-", 1);
  if (dash < 0) return text;
  const year = 1 + Number(text.slice(1, dash));
  return `${String(year).padStart(4, "0")}${text.slice(dash)} BC`;
}

function createArrayElementEncoder(element: string): (value: Value) => string {
  const temporal = TEMPORAL_BASE_TYPES.has(element);
  const hstore = element === "hstore";
  return (value) => {
    if (typeof value === "string") return temporal ? toPgEra(value) : hstore ? jsonToHstore(value) : value;
    if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
    if (typeof value === "boolean") return value ? "t" : "f";
    if (typeof value === "number") return value === 0 && 1 / value < 0 ? "-0" : String(value);
    if (typeof value === "bigint") return value.toString();
    return encodeNestedJson(value);
  };
}

/** A PostgreSQL array literal of a (possibly nested) list, every element quoted, with the bounds decoration when lower bounds are not 1. */
export function encodePgArray(value: readonly Value[], encodeElement: (value: Value) => string): string {
  const parts: string[] = [];
  const bounds = (value as { [LIST_LOWER_BOUNDS]?: readonly number[] })[LIST_LOWER_BOUNDS];
  if (bounds !== undefined && bounds.some((b) => b !== 1)) {
    let level: readonly Value[] | undefined = value;
    for (const lower of bounds) {
      const length = level?.length ?? 0;
      parts.push(`[${lower}:${lower + length - 1}]`);
      const first: Value | undefined = level?.[0];
      level = Array.isArray(first) ? (first as readonly Value[]) : undefined;
    }
    parts.push("=");
  }
  writeArray(value, encodeElement, parts);
  return parts.join("");
}

function writeArray(value: readonly Value[], encodeElement: (value: Value) => string, out: string[]): void {
  out.push("{");
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out.push(",");
    const element = value[i];
    if (element === null || element === undefined) out.push("NULL");
    else if (Array.isArray(element)) writeArray(element as readonly Value[], encodeElement, out);
    else out.push(`"${encodeElement(element).replace(/[\\"]/g, "\\$&")}"`);
  }
  out.push("}");
}

/** An hstore literal of a JSON object text whose values are strings or null; other text unchanged (the server then names the problem). */
export function jsonToHstore(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return text;
  const quote = (s: string) => `"${s.replace(/[\\"]/g, "\\$&")}"`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    parts.push(`${quote(k)}=>${v === null ? "NULL" : quote(typeof v === "string" ? v : JSON.stringify(v))}`);
  }
  return parts.join(", ");
}

/**
 * True when a list or struct type holds `json` or `decimal` somewhere: its
 * JSON text must be embedded as JSON, and its decimal strings written as JSON
 * numbers, when the whole value lands in one `jsonb` column; only the type
 * tells a decimal string from text.
 */
export function needsTypedJson(type: LogicalType): boolean {
  if (type.kind === "list") return isTypedJsonLeaf(type.element) || needsTypedJson(type.element);
  if (type.kind === "struct") return type.fields.some((f) => isTypedJsonLeaf(f.type) || needsTypedJson(f.type));
  return false;
}

function isTypedJsonLeaf(type: LogicalType): boolean {
  return type.kind === "json" || type.kind === "map" || type.kind === "decimal";
}

/**
 * The encoder of a list or struct value into one `jsonb`/`json` column (see
 * {@link needsTypedJson}): `json` parts embedded as JSON, decimals as JSON
 * numbers with exactly the source's digits (never through a JS float, so 30
 * digits survive), as PostgreSQL's `to_jsonb` prints a composite. `NaN` and
 * `±Infinity`, which JSON has no number for, stay the strings `"NaN"`,
 * `"Infinity"`, `"-Infinity"` (also `to_jsonb`'s rule).
 */
export function createTypedJsonEncoder(type: LogicalType): PgParameterEncoder {
  return (value) => {
    if (value === null || value === undefined || typeof value !== "object" || value instanceof Uint8Array) return toPgParameter(value);
    const out: string[] = [];
    writeTypedJson(value, type, out);
    return out.join("");
  };
}

function writeTypedJson(value: Value | undefined, type: LogicalType | undefined, out: string[]): void {
  if (typeof value === "string" && type !== undefined) {
    if (type.kind === "json" || type.kind === "map") {
      out.push(value);
      return;
    }
    if (type.kind === "decimal") {
      out.push(decimalAsJsonNumber(value) ?? JSON.stringify(value));
      return;
    }
  }
  if (value === null || value === undefined || typeof value !== "object" || value instanceof Uint8Array) {
    out.push(encodeNestedJson(value ?? null));
    return;
  }
  if (Array.isArray(value)) {
    const element = type?.kind === "list" ? type.element : undefined;
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      writeTypedJson((value as readonly Value[])[i], element, out);
    }
    out.push("]");
    return;
  }
  const fields = type?.kind === "struct" ? type.fields : undefined;
  out.push("{");
  let first = true;
  for (const [k, v] of Object.entries(value as Record<string, Value>)) {
    if (v === undefined) continue;
    if (!first) out.push(",");
    first = false;
    out.push(JSON.stringify(k), ":");
    writeTypedJson(v, fields?.find((f) => f.name === k)?.type, out);
  }
  out.push("}");
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LOOSE_DECIMAL = /^([+-]?)0*(\d*)(?:\.(\d*))?([eE][+-]?\d+)?$/;

/**
 * A decimal string as a JSON number with the same digits, or undefined when
 * it is no finite decimal (`NaN`, `Infinity`). Forms JSON does not accept
 * (`+1`, `.5`, `5.`, `007`) are rewritten digit for digit.
 */
export function decimalAsJsonNumber(text: string): string | undefined {
  if (JSON_NUMBER.test(text)) return text;
  const m = LOOSE_DECIMAL.exec(text);
  if (m === null) return undefined;
  const [, sign = "", whole = "", fraction, exponent = ""] = m;
  if (whole === "" && (fraction === undefined || fraction === "")) return text.includes("0") ? `${sign === "-" ? "-" : ""}0${exponent}` : undefined;
  return `${sign === "-" ? "-" : ""}${whole === "" ? "0" : whole}${fraction === undefined || fraction === "" ? "" : `.${fraction}`}${exponent}`;
}
