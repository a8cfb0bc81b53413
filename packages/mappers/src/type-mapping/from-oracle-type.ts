import type { LogicalType } from "@zero-etl/core";

/** Column facts from `ALL_TAB_COLUMNS`. */
export interface OracleColumnFacts {
  readonly precision?: number | null | undefined;
  readonly scale?: number | null | undefined;
  /** `CHAR_LENGTH` for character types, `DATA_LENGTH` for RAW. */
  readonly length?: number | null | undefined;
}

/**
 * Maps an Oracle type (`DATA_TYPE` of `ALL_TAB_COLUMNS`, e.g. `NUMBER`,
 * `VARCHAR2`, `TIMESTAMP(6) WITH TIME ZONE`) to a logical type. `NUMBER(p,0)`
 * becomes the smallest integer that holds p digits (up to 18), larger or
 * fractional `NUMBER`s exact decimals, a bare `NUMBER` an unconstrained
 * decimal. `DATE` carries a time of day in Oracle, so it is `timestamp(0)`.
 * `FLOAT(b)` is decimal-based in Oracle, so it is a decimal too.
 */
export function fromOracleType(dataType: string, facts: OracleColumnFacts = {}): LogicalType {
  const text = dataType.trim().toUpperCase();
  const argMatch = /\((\d+)(?:\s*,\s*(-?\d+))?\)/.exec(text);
  const base = text.replace(/\(.*?\)/g, "").replace(/\s+/g, " ").trim();
  const precision = facts.precision ?? (argMatch?.[1] === undefined ? undefined : Number(argMatch[1]));
  const scale = facts.scale ?? (argMatch?.[2] === undefined ? undefined : Number(argMatch[2]));
  const length = facts.length ?? precision;
  switch (base) {
    case "NUMBER":
    case "DECIMAL":
    case "NUMERIC": {
      if (precision === undefined) return scale === 0 ? { kind: "decimal", precision: 38, scale: 0 } : { kind: "decimal" };
      if ((scale ?? 0) === 0 && precision <= 18) {
        if (precision <= 4) return { kind: "int", bits: 16, signed: true };
        if (precision <= 9) return { kind: "int", bits: 32, signed: true };
        return { kind: "int", bits: 64, signed: true };
      }
      return { kind: "decimal", precision, scale: scale ?? 0 };
    }
    case "INTEGER":
    case "INT":
    case "SMALLINT":
      return { kind: "decimal", precision: 38, scale: 0 };
    case "FLOAT":
      return { kind: "decimal" };
    case "BINARY_FLOAT":
      return { kind: "float", bits: 32 };
    case "BINARY_DOUBLE":
      return { kind: "float", bits: 64 };
    case "VARCHAR2":
    case "NVARCHAR2":
    case "VARCHAR":
    case "CHAR":
    case "NCHAR":
      return length === undefined ? { kind: "string" } : { kind: "string", maxLength: length };
    case "CLOB":
    case "NCLOB":
    case "LONG":
    case "ROWID":
    case "UROWID":
    case "XMLTYPE":
      return { kind: "string" };
    case "RAW":
      return length === undefined ? { kind: "bytes" } : { kind: "bytes", maxLength: length };
    case "BLOB":
    case "LONG RAW":
    case "BFILE":
      return { kind: "bytes" };
    case "DATE":
      return { kind: "timestamp", precision: 0, withZone: false };
    case "TIMESTAMP":
      return { kind: "timestamp", precision: scale ?? precision ?? 6, withZone: false };
    case "TIMESTAMP WITH TIME ZONE":
    case "TIMESTAMP WITH LOCAL TIME ZONE":
      return { kind: "timestamp", precision: scale ?? precision ?? 6, withZone: true };
    case "INTERVAL YEAR TO MONTH":
    case "INTERVAL DAY TO SECOND":
      return { kind: "interval" };
    case "JSON":
      return { kind: "json" };
    case "BOOLEAN":
      return { kind: "bool" };
    case "SDO_GEOMETRY":
      return { kind: "geometry" };
    default:
      if (base.startsWith("INTERVAL")) return { kind: "interval" };
      if (base.startsWith("TIMESTAMP")) return { kind: "timestamp", precision: precision ?? 6, withZone: base.includes("ZONE") };
      return { kind: "string" };
  }
}
