import type { LogicalType } from "@zero-etl/core";
import type { TargetTypeMapping } from "./type-mapping-result.js";
import { typeMapping } from "./type-mapping-result.js";

/** Redshift's longest VARCHAR, in bytes. */
export const REDSHIFT_MAX_VARCHAR_BYTES = 65535;
/** Redshift's largest NUMERIC precision. */
export const REDSHIFT_MAX_NUMERIC_PRECISION = 38;
/** Redshift's longest VARBYTE, in bytes. */
export const REDSHIFT_MAX_VARBYTE_BYTES = 1024000;

/**
 * The Redshift column type for a logical type, within Redshift's limits:
 * VARCHAR counts bytes (4 per character is reserved for UTF-8 text, so
 * `string(n)` needs `4n` bytes, at most 65535), NUMERIC holds at most 38
 * digits, timestamps keep microseconds, nested values go to SUPER (at most
 * 16 MB each, larger ones are dead-lettered).
 */
export function toRedshiftType(type: LogicalType): TargetTypeMapping {
  switch (type.kind) {
    case "bool":
      return typeMapping("BOOLEAN", "exact");
    case "int":
      if (type.signed) {
        if (type.bits === 8) return typeMapping("SMALLINT", "widened", "Redshift has no 1-byte integer");
        return typeMapping(type.bits === 16 ? "SMALLINT" : type.bits === 32 ? "INTEGER" : "BIGINT", "exact");
      }
      if (type.bits === 64) return typeMapping("DECIMAL(20,0)", "widened", "Redshift has no unsigned 64-bit integer");
      return typeMapping(type.bits === 32 ? "BIGINT" : type.bits === 16 ? "INTEGER" : "SMALLINT", "widened", "unsigned integer in the next signed size");
    case "decimal": {
      if (type.precision === undefined) {
        return typeMapping("DECIMAL(38,10)", "truncated", "unconstrained numeric: more than 10 decimals are rounded, more than 28 integer digits are dead-lettered");
      }
      const scale = type.scale ?? 0;
      if (type.precision <= REDSHIFT_MAX_NUMERIC_PRECISION) return typeMapping(`DECIMAL(${type.precision},${scale})`, "exact");
      const integerDigits = type.precision - scale;
      if (integerDigits >= REDSHIFT_MAX_NUMERIC_PRECISION) {
        return typeMapping("DECIMAL(38,0)", "dead-letter", `${integerDigits} integer digits exceed Redshift's 38; fractions rounded, larger values dead-lettered`);
      }
      return typeMapping(`DECIMAL(38,${REDSHIFT_MAX_NUMERIC_PRECISION - integerDigits})`, "truncated", `scale reduced from ${scale} to ${REDSHIFT_MAX_NUMERIC_PRECISION - integerDigits} to fit 38 digits`);
    }
    case "float":
      return typeMapping(type.bits === 32 ? "REAL" : "DOUBLE PRECISION", "exact");
    case "string": {
      if (type.enumValues !== undefined && type.enumValues.length > 0) {
        const bytes = Math.max(1, ...type.enumValues.map((v) => Buffer.byteLength(v, "utf8")));
        if (bytes <= REDSHIFT_MAX_VARCHAR_BYTES) return typeMapping(`VARCHAR(${bytes})`, "exact");
      }
      if (type.maxLength !== undefined && type.maxLength * 4 <= REDSHIFT_MAX_VARCHAR_BYTES) return typeMapping(`VARCHAR(${Math.max(1, type.maxLength * 4)})`, "exact");
      return typeMapping(`VARCHAR(${REDSHIFT_MAX_VARCHAR_BYTES})`, "truncated", "text longer than 65535 bytes is truncated");
    }
    case "bytes":
      if (type.maxLength !== undefined && type.maxLength <= REDSHIFT_MAX_VARBYTE_BYTES) return typeMapping(`VARBYTE(${Math.max(1, type.maxLength)})`, "exact");
      return typeMapping(`VARBYTE(${REDSHIFT_MAX_VARBYTE_BYTES})`, "dead-letter", "binary values over 1,024,000 bytes are dead-lettered");
    case "date":
      return typeMapping("DATE", "exact");
    case "time": {
      const name = type.withZone ? "TIMETZ" : "TIME";
      if (type.precision > 6) return typeMapping(name, "truncated", `fractional seconds truncated from ${type.precision} to 6 digits`);
      return typeMapping(name, "exact");
    }
    case "timestamp": {
      const name = type.withZone ? "TIMESTAMPTZ" : "TIMESTAMP";
      if (type.precision > 6) return typeMapping(name, "truncated", `fractional seconds truncated from ${type.precision} to 6 digits`);
      return typeMapping(name, "exact");
    }
    case "interval":
      return typeMapping("VARCHAR(64)", "widened", "ISO-8601 duration text");
    case "uuid":
      return typeMapping("CHAR(36)", "exact");
    case "json":
    case "list":
    case "struct":
    case "map":
      return typeMapping("SUPER", "dead-letter", "SUPER values over 16 MB are dead-lettered");
    case "geometry":
      return typeMapping("GEOMETRY", "exact");
  }
}
