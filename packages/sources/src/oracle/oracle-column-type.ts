import type { LogicalType } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";

/**
 * A column's type as `ALL_TAB_COLUMNS` describes it: `DATA_TYPE` (e.g.
 * `NUMBER`, `VARCHAR2`, `TIMESTAMP(6) WITH TIME ZONE`, `INTERVAL DAY(2) TO
 * SECOND(6)`), `DATA_PRECISION`, `DATA_SCALE`, `DATA_LENGTH` (bytes) and
 * `CHAR_LENGTH` (characters). Absent and `null` both mean the view's NULL.
 */
export interface OracleColumnType {
  readonly dataType: string;
  readonly precision?: number | null;
  readonly scale?: number | null;
  readonly length?: number | null;
  readonly charLength?: number | null;
}

/** Fractional-second digits the neutral timestamp keeps (microseconds); Oracle allows up to 9. */
export const MAX_FRACTION_DIGITS = 6;

/** The largest NUMBER(p,0) precision whose every value fits a signed 64-bit integer. */
const MAX_INT64_DIGITS = 18;

/**
 * The logical type of an Oracle column, as `docs/connectors/oracle.md`
 * ("SQL_REDO parser") tabulates it:
 *
 * - `NUMBER(p,0)` with p ≤ 18 (and `NUMBER(p,-s)` with p+s ≤ 18) is an
 *   integer of the smallest width that holds every value; any other NUMBER
 *   is an exact decimal, unconstrained when Oracle declares no precision
 *   (`NUMBER`, `FLOAT(b)`), `decimal(38,s)` for `NUMBER(*,s)`;
 * - `BINARY_FLOAT`/`BINARY_DOUBLE` are float32/float64;
 * - `DATE` is a timestamp of precision 0 (Oracle's DATE has a time of day);
 *   `TIMESTAMP(n)` a timestamp without zone, `… WITH [LOCAL] TIME ZONE` one
 *   with zone (normalised to UTC), precision capped at 6;
 * - `INTERVAL YEAR TO MONTH` / `DAY TO SECOND` are intervals;
 * - character types, `LONG`, `CLOB`, `NCLOB`, `XMLTYPE`, `ROWID`, `UROWID` are
 *   strings (`maxLength` = `CHAR_LENGTH` for CHAR/VARCHAR2/NCHAR/NVARCHAR2);
 * - `RAW`, `LONG RAW`, `BLOB` are bytes; `JSON` (21c) is json.
 *
 * @throws ZeroEtlError `schema-unsupported` for a type LogMiner cannot
 * deliver as a value (`BFILE`, object and collection types, …).
 */
export function fromOracleType(column: OracleColumnType): LogicalType {
  const dataType = column.dataType.trim().toUpperCase();
  const precision = column.precision ?? null;
  const scale = column.scale ?? null;
  switch (dataType) {
    case "NUMBER":
      return numberType(precision, scale);
    case "FLOAT":
      // FLOAT(b) is a NUMBER with binary precision b and no fixed scale: any exact decimal.
      return { kind: "decimal" };
    case "INTEGER":
    case "INT":
    case "SMALLINT":
      return numberType(null, 0);
    case "BINARY_FLOAT":
      return { kind: "float", bits: 32 };
    case "BINARY_DOUBLE":
      return { kind: "float", bits: 64 };
    case "CHAR":
    case "NCHAR":
    case "VARCHAR2":
    case "VARCHAR":
    case "NVARCHAR2": {
      const maxLength = column.charLength ?? null;
      return maxLength !== null && maxLength > 0 ? { kind: "string", maxLength } : { kind: "string" };
    }
    case "LONG":
    case "CLOB":
    case "NCLOB":
    case "XMLTYPE":
    case "ROWID":
    case "UROWID":
      return { kind: "string" };
    case "RAW": {
      const maxLength = column.length ?? null;
      return maxLength !== null && maxLength > 0 ? { kind: "bytes", maxLength } : { kind: "bytes" };
    }
    case "LONG RAW":
    case "BLOB":
      return { kind: "bytes" };
    case "JSON":
      return { kind: "json" };
    case "DATE":
      return { kind: "timestamp", precision: 0, withZone: false };
    default:
      break;
  }
  if (dataType.startsWith("TIMESTAMP")) {
    const digits = fractionDigits(dataType, "TIMESTAMP", scale);
    const withZone = dataType.endsWith("WITH TIME ZONE") || dataType.endsWith("WITH LOCAL TIME ZONE");
    if (withZone || /^TIMESTAMP(\(\d\))?$/.test(dataType)) {
      return { kind: "timestamp", precision: Math.min(digits, MAX_FRACTION_DIGITS), withZone };
    }
  }
  if (/^INTERVAL YEAR(\(\d\))? TO MONTH$/.test(dataType) || /^INTERVAL DAY(\(\d\))? TO SECOND(\(\d\))?$/.test(dataType)) {
    return { kind: "interval" };
  }
  throw new ZeroEtlError(`oracle column type ${column.dataType} is not supported (LogMiner delivers no value for it)`, {
    code: "schema-unsupported",
  });
}

function numberType(precision: number | null, scale: number | null): LogicalType {
  if (precision === null && scale === null) return { kind: "decimal" };
  // NUMBER(*,s) reports no precision: Oracle's maximum, 38.
  const p = precision ?? 38;
  const s = scale ?? 0;
  if (s <= 0) {
    // A negative scale rounds to 10^-s: the integers have p - s digits.
    const digits = p - s;
    if (digits <= MAX_INT64_DIGITS) {
      if (digits <= 2) return { kind: "int", bits: 8, signed: true };
      if (digits <= 4) return { kind: "int", bits: 16, signed: true };
      if (digits <= 9) return { kind: "int", bits: 32, signed: true };
      return { kind: "int", bits: 64, signed: true };
    }
    return { kind: "decimal", precision: digits, scale: 0 };
  }
  // NUMBER(p,s) with s > p holds only fractions below 10^(p-s): decimal(s,s) holds them all.
  return { kind: "decimal", precision: Math.max(p, s), scale: s };
}

/** The `(n)` of `TIMESTAMP(n)` …, else DATA_SCALE, else Oracle's default 6. */
function fractionDigits(dataType: string, prefix: string, scale: number | null): number {
  if (dataType.charCodeAt(prefix.length) === 0x28) {
    const close = dataType.indexOf(")", prefix.length);
    const n = Number(dataType.slice(prefix.length + 1, close));
    if (Number.isInteger(n)) return n;
  }
  return scale ?? 6;
}
