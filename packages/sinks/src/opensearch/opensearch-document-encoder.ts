import type { Row, TableSchema, Value } from "@zero-etl/core";

/** How one column is written into a document. */
interface EncodedColumn {
  /** The column name as a JSON string with its colon, ready to append. */
  readonly key: string;
  readonly name: string;
  /** A JSON column's value is the source's JSON text, spliced in as it is. */
  readonly rawJson: boolean;
}

/**
 * Writes rows of one schema as OpenSearch document JSON. Exact numbers stay
 * exact: 64-bit integers (`bigint`) and decimals (decimal strings) are
 * written as JSON strings, which `_source` keeps digit for digit and
 * OpenSearch coerces into the numeric field of the mapping; JSON columns are
 * spliced in as the source's text, so their numbers keep every digit too.
 * Bytes are base64 (the `binary` type).
 */
export class DocumentEncoder {
  readonly #columns: readonly EncodedColumn[];

  constructor(schema: TableSchema) {
    this.#columns = schema.columns.map((c) => ({ key: `${JSON.stringify(c.name)}:`, name: c.name, rawJson: c.type.kind === "json" || c.type.kind === "map" }));
  }

  /** The document of a row; columns absent from the row are left out. */
  encode(row: Row): string {
    let text = "{";
    let first = true;
    for (const column of this.#columns) {
      const value = row[column.name];
      if (value === undefined) continue;
      text += first ? column.key : `,${column.key}`;
      first = false;
      text += column.rawJson && typeof value === "string" ? value : encodeValue(value);
    }
    return `${text}}`;
  }
}

/** JSON text of a value; bigint as a quoted digit string (see {@link DocumentEncoder}). */
export function encodeValue(value: Value): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "bigint":
      return `"${value.toString()}"`;
    case "boolean":
      return value ? "true" : "false";
    default:
      break;
  }
  if (value instanceof Uint8Array) return `"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}"`;
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + encodeValue(value[i] as Value);
    return `${text}]`;
  }
  let text = "{";
  let first = true;
  const record = value as Readonly<Record<string, Value>>;
  for (const key in record) {
    const field = record[key];
    if (field === undefined) continue;
    text += `${first ? "" : ","}${JSON.stringify(key)}:${encodeValue(field)}`;
    first = false;
  }
  return `${text}}`;
}
