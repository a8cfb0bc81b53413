import type { LogicalType } from "@zero-etl/core";
import type { TargetTypeMapping } from "./type-mapping-result.js";
import { typeMapping } from "./type-mapping-result.js";

/** PostgreSQL's largest declared numeric precision. */
export const POSTGRES_MAX_NUMERIC_PRECISION = 1000;
/** PostgreSQL's largest varchar length, in characters. */
export const POSTGRES_MAX_VARCHAR = 10485760;

/**
 * The PostgreSQL column type (unquoted SQL spelling) for a logical type. A
 * type from a PostgreSQL source that names its native type (`type.native`:
 * `json`, `inet`, `int4range`, `hstore`, `numeric(10,2)[]`) maps back to it
 * exactly. Otherwise fractional seconds beyond 6 digits are truncated
 * (PostgreSQL keeps microseconds); lists of scalars become arrays, nested
 * structures `jsonb`.
 */
export function toPostgresType(type: LogicalType): TargetTypeMapping {
  if (type.native?.dialect === "postgres") return typeMapping(type.native.name, "exact", "the source's own PostgreSQL type");
  switch (type.kind) {
    case "bool":
      return typeMapping("boolean", "exact");
    case "int":
      if (type.signed) {
        if (type.bits === 8) return typeMapping("smallint", "widened", "PostgreSQL has no 1-byte integer");
        return typeMapping(type.bits === 16 ? "smallint" : type.bits === 32 ? "integer" : "bigint", "exact");
      }
      if (type.bits === 64) return typeMapping("numeric(20,0)", "widened", "PostgreSQL has no unsigned 64-bit integer");
      return typeMapping(type.bits === 32 ? "bigint" : type.bits === 16 ? "integer" : "smallint", "widened", "unsigned integer in the next signed size");
    case "decimal":
      if (type.precision === undefined) return typeMapping("numeric", "exact");
      if (type.precision > POSTGRES_MAX_NUMERIC_PRECISION) return typeMapping("numeric", "widened", "precision above 1000 kept as unconstrained numeric");
      return typeMapping(`numeric(${type.precision},${type.scale ?? 0})`, "exact");
    case "float":
      return typeMapping(type.bits === 32 ? "real" : "double precision", "exact");
    case "string":
      if (type.maxLength === undefined || type.maxLength > POSTGRES_MAX_VARCHAR) return typeMapping("text", "exact");
      return typeMapping(`varchar(${type.maxLength})`, "exact");
    case "bytes":
      return typeMapping("bytea", "exact");
    case "date":
      return typeMapping("date", "exact");
    case "time": {
      const name = type.withZone ? "timetz" : "time";
      if (type.precision > 6) return typeMapping(`${name}(6)`, "truncated", `fractional seconds truncated from ${type.precision} to 6 digits`);
      return typeMapping(`${name}(${type.precision})`, "exact");
    }
    case "timestamp": {
      const name = type.withZone ? "timestamptz" : "timestamp";
      if (type.precision > 6) return typeMapping(`${name}(6)`, "truncated", `fractional seconds truncated from ${type.precision} to 6 digits`);
      return typeMapping(`${name}(${type.precision})`, "exact");
    }
    case "interval":
      return typeMapping("interval", "exact");
    case "uuid":
      return typeMapping("uuid", "exact");
    case "json":
      return typeMapping("jsonb", "exact", "jsonb keeps every value and number digit but not whitespace, key order or duplicate keys");
    case "list": {
      if (type.element.kind === "list" || type.element.kind === "struct" || type.element.kind === "json") {
        return typeMapping("jsonb", "widened", "nested list stored as JSON");
      }
      const element = toPostgresType(type.element);
      return { ...element, type: `${element.type}[]` };
    }
    case "struct":
      return typeMapping("jsonb", "widened", "struct stored as a JSON object");
    case "map":
      return typeMapping("jsonb", "widened", "map stored as a JSON object (an hstore source column keeps its native type)");
    case "geometry":
      return typeMapping("bytea", "exact", "well-known binary");
  }
}
