import type { Row } from "@zero-etl/core";
import { writeJsonValue } from "../unnest/json-value-writer.js";

/**
 * The OpenSearch document id of a row: the id columns' values in order,
 * joined with `|`; `\` and `|` inside values are escaped with `\`, so
 * distinct keys never share an id. Numbers keep every digit.
 */
export function openSearchDocumentId(row: Row, idColumns: readonly string[]): string {
  return idColumns
    .map((name) => {
      const value = row[name];
      const text = typeof value === "string" ? value : writeJsonValue(value ?? null);
      return text.replace(/[\\|]/g, "\\$&");
    })
    .join("|");
}
