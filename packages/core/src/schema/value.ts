/**
 * A cell value, as {@link LogicalType} documents per kind. `null` is SQL NULL
 * (or an absent DynamoDB attribute).
 */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly Value[]
  | { readonly [field: string]: Value };

/** A row image: column name to value. */
export type Row = Readonly<Record<string, Value>>;

/** Approximate in-memory size of a value in bytes; used for batching by bytes, never for billing. */
export function estimateValueBytes(value: Value): number {
  if (value === null) return 1;
  switch (typeof value) {
    case "string":
      return value.length + 2;
    case "number":
    case "bigint":
      return 8;
    case "boolean":
      return 1;
    default:
      break;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) {
    let total = 2;
    for (const v of value as readonly Value[]) total += estimateValueBytes(v);
    return total;
  }
  let total = 2;
  for (const k in value as Record<string, Value>) total += k.length + estimateValueBytes((value as Record<string, Value>)[k] ?? null);
  return total;
}

/** Approximate size of a row in bytes. */
export function estimateRowBytes(row: Row): number {
  let total = 0;
  for (const k in row) total += k.length + estimateValueBytes(row[k] ?? null);
  return total;
}
