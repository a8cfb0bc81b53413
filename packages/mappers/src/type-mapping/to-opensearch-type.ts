import type { LogicalType } from "@zero-etl/core";
import type { TargetTypeMapping, TypeMappingDecision } from "./type-mapping-result.js";
import { typeMapping, worseDecision } from "./type-mapping-result.js";

/** One field of an OpenSearch mapping (`properties.<field>`). */
export interface OpenSearchFieldMapping {
  readonly type: string;
  readonly scaling_factor?: number;
  readonly format?: string;
  readonly ignore_above?: number;
  readonly fields?: Readonly<Record<string, OpenSearchFieldMapping>>;
  readonly properties?: Readonly<Record<string, OpenSearchFieldMapping>>;
}

/** Most significant digits a `scaled_float` (a double on the way in) keeps exactly. */
export const OPENSEARCH_EXACT_DIGITS = 15;

/**
 * The OpenSearch field mapping for a logical type. Decimals that a double
 * cannot carry exactly are indexed as `keyword` (exact text, not numeric);
 * timestamps finer than milliseconds use `date_nanos`; lists map to their
 * element type (OpenSearch fields are multi-valued); JSON becomes
 * `flat_object`.
 */
export function toOpenSearchType(type: LogicalType): TargetTypeMapping<OpenSearchFieldMapping> {
  switch (type.kind) {
    case "bool":
      return typeMapping({ type: "boolean" }, "exact");
    case "int":
      if (type.signed) return typeMapping({ type: type.bits === 8 ? "byte" : type.bits === 16 ? "short" : type.bits === 32 ? "integer" : "long" }, "exact");
      if (type.bits === 64) return typeMapping({ type: "unsigned_long" }, "exact");
      return typeMapping({ type: type.bits === 8 ? "short" : type.bits === 16 ? "integer" : "long" }, "widened", "unsigned integer in a larger signed type");
    case "decimal":
      if (type.precision !== undefined && type.precision <= OPENSEARCH_EXACT_DIGITS) {
        return typeMapping({ type: "scaled_float", scaling_factor: 10 ** (type.scale ?? 0) }, "exact");
      }
      return typeMapping({ type: "keyword" }, "widened", "decimal kept as exact text; a double would round it");
    case "float":
      return typeMapping({ type: type.bits === 32 ? "float" : "double" }, "exact");
    case "string":
      if (type.enumValues !== undefined || (type.maxLength !== undefined && type.maxLength <= 256)) return typeMapping({ type: "keyword" }, "exact");
      return typeMapping({ type: "text", fields: { keyword: { type: "keyword", ignore_above: 256 } } }, "exact");
    case "bytes":
      return typeMapping({ type: "binary" }, "exact");
    case "date":
      return typeMapping({ type: "date", format: "strict_date" }, "exact");
    case "time":
      return typeMapping({ type: "keyword" }, "widened", "time of day kept as text");
    case "timestamp":
      if (type.precision <= 3) return typeMapping({ type: "date", format: "strict_date_optional_time" }, "exact");
      return typeMapping({ type: "date_nanos", format: "strict_date_optional_time_nanos" }, "exact");
    case "interval":
      return typeMapping({ type: "keyword" }, "widened", "ISO-8601 duration text");
    case "uuid":
      return typeMapping({ type: "keyword" }, "exact");
    case "json":
      return typeMapping({ type: "flat_object" }, "widened", "flat_object indexes leaf values as text");
    case "geometry":
      return typeMapping({ type: "binary" }, "exact", "well-known binary, not indexed as a shape");
    case "list":
      return toOpenSearchType(type.element);
    case "map":
      // keys are data (hstore keys are whatever the rows hold): an `object` would add a mapped field per distinct key
      return typeMapping({ type: "flat_object" }, "widened", "flat_object: one field for every key, values indexed as text");
    case "struct": {
      let decision: TypeMappingDecision = "exact";
      const properties: Record<string, OpenSearchFieldMapping> = {};
      for (const field of type.fields) {
        const inner = toOpenSearchType(field.type);
        decision = worseDecision(decision, inner.decision);
        properties[field.name] = inner.type;
      }
      return typeMapping({ type: "object", properties }, decision);
    }
  }
}
