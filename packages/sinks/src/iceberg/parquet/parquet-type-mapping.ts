import type { SchemaElement } from "hyparquet";
import { parseDecimalType } from "../iceberg-value-codec.js";

/** The Parquet physical and logical annotation of an Iceberg primitive (spec Appendix A, Parquet). */
export function primitiveElement(type: string): Omit<SchemaElement, "name"> {
  switch (type) {
    case "boolean":
      return { type: "BOOLEAN" };
    case "int":
      return { type: "INT32" };
    case "long":
      return { type: "INT64" };
    case "float":
      return { type: "FLOAT" };
    case "double":
      return { type: "DOUBLE" };
    case "date":
      return { type: "INT32", converted_type: "DATE", logical_type: { type: "DATE" } };
    case "time":
      return { type: "INT64", converted_type: "TIME_MICROS", logical_type: { type: "TIME", isAdjustedToUTC: false, unit: "MICROS" } };
    case "timestamp":
      return { type: "INT64", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: false, unit: "MICROS" } };
    case "timestamptz":
      return { type: "INT64", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" } };
    case "string":
      return { type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
    case "uuid":
      return { type: "FIXED_LEN_BYTE_ARRAY", type_length: 16, logical_type: { type: "UUID" } };
    case "binary":
      return { type: "BYTE_ARRAY" };
    default: {
      const decimal = parseDecimalType(type);
      if (decimal === undefined) throw new Error(`no parquet mapping for iceberg type ${type}`);
      const { precision, scale } = decimal;
      const physical =
        precision <= 9
          ? { type: "INT32" as const }
          : precision <= 18
            ? { type: "INT64" as const }
            : { type: "FIXED_LEN_BYTE_ARRAY" as const, type_length: decimalBytes(precision) };
      return { ...physical, converted_type: "DECIMAL", precision, scale, logical_type: { type: "DECIMAL", precision, scale } };
    }
  }
}

/** Minimum bytes of a two's-complement integer holding `precision` decimal digits. */
export function decimalBytes(precision: number): number {
  let bytes = 1;
  while (2n ** BigInt(8 * bytes - 1) <= 10n ** BigInt(precision)) bytes++;
  return bytes;
}
