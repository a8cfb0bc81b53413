import { isSameLogicalType } from "@zero-etl/core";
import type { OpenSearchFieldMapping } from "../type-mapping/to-opensearch-type.js";
import { toOpenSearchType } from "../type-mapping/to-opensearch-type.js";
import type { RefusedChange, SchemaChange } from "./schema-change.js";

/** The body of a `PUT <index>/_mapping` request, and the changes a mapping cannot take. */
export interface OpenSearchMappingUpdate {
  readonly mapping: { readonly properties: Readonly<Record<string, OpenSearchFieldMapping>> };
  readonly refused: readonly RefusedChange[];
}

/**
 * The OpenSearch mapping update for schema changes. A mapping can only gain
 * fields: new columns become properties; a type change that keeps the same
 * field mapping needs nothing, any other is refused (a field's mapping can
 * never change; the index must be rebuilt); renames and primary-key changes
 * (the document id) are refused; drops and nullability need nothing.
 */
export function renderOpenSearchMappingUpdate(changes: readonly SchemaChange[]): OpenSearchMappingUpdate {
  const properties: Record<string, OpenSearchFieldMapping> = {};
  const refused: RefusedChange[] = [];
  for (const change of changes) {
    switch (change.kind) {
      case "add-column":
        properties[change.column.name] = toOpenSearchType(change.column.type).type;
        break;
      case "widen-type":
      case "change-type": {
        if (isSameLogicalType(change.from, change.to)) break;
        const from = JSON.stringify(toOpenSearchType(change.from).type);
        const to = JSON.stringify(toOpenSearchType(change.to).type);
        if (from !== to) refused.push({ change, reason: `an OpenSearch field mapping cannot change (${from} to ${to}); the index must be rebuilt` });
        break;
      }
      case "rename-column":
        refused.push({ change, reason: "OpenSearch cannot rename a field; the index must be rebuilt" });
        break;
      case "change-primary-key":
        refused.push({ change, reason: "the document id derives from the primary key; the index must be rebuilt" });
        break;
      default:
        break;
    }
  }
  return { mapping: { properties }, refused };
}
