import type { LogicalType, TableSchema } from "@zero-etl/core";
import type { OpenSearchFieldMapping } from "@zero-etl/mappers";
import { toOpenSearchType } from "@zero-etl/mappers";

/** A field mapping as the sink writes it: the mappers' one plus `ignore_malformed`. */
export interface SinkFieldMapping extends Omit<OpenSearchFieldMapping, "fields" | "properties"> {
  readonly ignore_malformed?: boolean;
  readonly fields?: Readonly<Record<string, SinkFieldMapping>>;
  readonly properties?: Readonly<Record<string, SinkFieldMapping>>;
}

/**
 * The field mapping of a column type. As `toOpenSearchType`, except for
 * decimals: every decimal is a `double` (ranges and sorting work at double
 * precision; a value beyond a double's range is kept but not indexed,
 * `ignore_malformed`) with an `exact` keyword sub-field holding its text for
 * exact terms. The document's `_source` keeps the decimal as the source's
 * text, digit for digit. (`scaled_float` lives in the mapper-extras module,
 * which minimal distributions lack, and is no more exact in search.)
 * Strings other than enums are `text` with a `keyword` sub-field whatever
 * their declared length, as OpenSearch maps strings itself: a VARCHAR(200)
 * title must answer a full-text `match`, and `<col>.keyword` answers terms.
 * Dates and timestamps get `ignore_malformed`: a `date_nanos` field holds
 * only 1970-2262 and a `date` field no `infinity`, yet the source has such
 * values; the document keeps them in `_source` with the field unindexed
 * (as a decimal beyond a double's range), rather than the row being refused.
 * Only the field `type` is compared with a live index, so indices made
 * without the flag stay as they are.
 */
export function sinkFieldMapping(type: LogicalType): SinkFieldMapping {
  switch (type.kind) {
    case "decimal":
      return { type: "double", ignore_malformed: true, fields: { exact: { type: "keyword", ignore_above: 256 } } };
    case "string":
      if (type.enumValues !== undefined) return { type: "keyword" };
      return { type: "text", fields: { keyword: { type: "keyword", ignore_above: 256 } } };
    case "list":
      return sinkFieldMapping(type.element);
    case "date":
    case "timestamp":
      return { ...toOpenSearchType(type).type, ignore_malformed: true };
    case "struct": {
      const properties: Record<string, SinkFieldMapping> = {};
      for (const field of type.fields) properties[field.name] = sinkFieldMapping(field.type);
      return { type: "object", properties };
    }
    default:
      return toOpenSearchType(type).type;
  }
}

/** The index properties of a table schema. */
export function mappingOf(schema: TableSchema): Record<string, SinkFieldMapping> {
  const properties: Record<string, SinkFieldMapping> = {};
  for (const column of schema.columns) properties[column.name] = sinkFieldMapping(column.type);
  return properties;
}
