import type { Value } from "@zero-etl/core";

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
