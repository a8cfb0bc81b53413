import type { Value } from "@zero-etl/core";

/**
 * Serialises a value of the value model as JSON text without losing
 * precision: `bigint` becomes its digits, `Uint8Array` a base64 string, other
 * values as `JSON.stringify` writes them. Used when a nested value has to be
 * kept as one JSON column.
 */
export function writeJsonValue(value: Value | undefined): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
    default:
      break;
  }
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64"));
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + writeJsonValue(value[i] as Value);
    return `${text}]`;
  }
  let text = "{";
  let first = true;
  const record = value as Readonly<Record<string, Value>>;
  for (const key in record) {
    const field = record[key];
    if (field === undefined) continue;
    text += `${first ? "" : ","}${JSON.stringify(key)}:${writeJsonValue(field)}`;
    first = false;
  }
  return `${text}}`;
}
