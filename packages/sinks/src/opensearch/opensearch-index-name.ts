import type { TableRef } from "@zero-etl/core";
import { ZeroEtlError, tableKey } from "@zero-etl/core";

/** Characters OpenSearch refuses anywhere in an index name. */
const FORBIDDEN = /[\\/*?"<>| ,#:]/;

/**
 * The index of a table: the template with `{namespace}` and `{table}`
 * replaced, lowercased (OpenSearch index names are lowercase). A name
 * OpenSearch would refuse is an error naming the table, never a silent
 * rewrite that could merge two tables into one index.
 */
export function openSearchIndexName(template: string, table: TableRef): string {
  const name = template.replaceAll("{namespace}", table.namespace).replaceAll("{table}", table.name).toLowerCase();
  const bad =
    name === "" || name === "." || name === ".."
      ? "is empty or a dot"
      : /^[-_+]/.test(name)
        ? "starts with -, _ or +"
        : FORBIDDEN.test(name)
          ? 'contains one of \\ / * ? " < > | , # : or a space'
          : Buffer.byteLength(name) > 255
            ? "is longer than 255 bytes"
            : undefined;
  if (bad !== undefined) {
    throw new ZeroEtlError(`index name ${JSON.stringify(name)} for table ${tableKey(table)} ${bad}; change target.index`, {
      code: "schema-unsupported",
      table: tableKey(table),
    });
  }
  return name;
}
