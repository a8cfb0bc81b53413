import type { LogicalType } from "@zero-etl/core";
import { isSameLogicalType } from "@zero-etl/core";

const INT_DIGITS: Readonly<Record<number, number>> = { 8: 3, 16: 5, 32: 10, 64: 19 };
const UINT_DIGITS: Readonly<Record<number, number>> = { 8: 3, 16: 5, 32: 10, 64: 20 };

/**
 * True when every value of `from` is a value of `to`, so a column can change
 * type in place without losing anything:
 * int8 -> int16 -> int32 -> int64 -> decimal (with enough integer digits);
 * unsigned -> a wider unsigned or a wider signed integer; float32 -> float64;
 * decimal(p,s) -> decimal(p',s') when p'-s' >= p-s and s' >= s, and any
 * decimal -> unconstrained decimal; string(n) -> string(m > n) -> string
 * (an enum -> a superset enum or a plain string); bytes likewise; time and
 * timestamp precision up (same zone); date -> timestamp. Equal types are not
 * a widening.
 */
export function isWidening(from: LogicalType, to: LogicalType): boolean {
  if (isSameLogicalType(from, to)) return false;
  switch (from.kind) {
    case "int": {
      if (to.kind === "int") {
        if (from.signed) return to.signed && to.bits > from.bits;
        return to.bits > from.bits;
      }
      if (to.kind === "decimal") {
        if (to.precision === undefined) return true;
        const digits = (from.signed ? INT_DIGITS : UINT_DIGITS)[from.bits] ?? 20;
        return to.precision - (to.scale ?? 0) >= digits;
      }
      return false;
    }
    case "float":
      return to.kind === "float" && to.bits > from.bits;
    case "decimal":
      if (to.kind !== "decimal") return false;
      if (to.precision === undefined) return true;
      if (from.precision === undefined) return false;
      return to.precision - (to.scale ?? 0) >= from.precision - (from.scale ?? 0) && (to.scale ?? 0) >= (from.scale ?? 0);
    case "string": {
      if (to.kind !== "string") return false;
      if (from.enumValues !== undefined) {
        if (to.enumValues === undefined) return to.maxLength === undefined || from.enumValues.every((v) => [...v].length <= (to.maxLength ?? 0));
        const target = new Set(to.enumValues);
        return from.enumValues.every((v) => target.has(v));
      }
      if (to.enumValues !== undefined) return false;
      if (to.maxLength === undefined) return true;
      return from.maxLength !== undefined && to.maxLength > from.maxLength;
    }
    case "bytes":
      if (to.kind !== "bytes") return false;
      if (to.maxLength === undefined) return true;
      return from.maxLength !== undefined && to.maxLength > from.maxLength;
    case "time":
    case "timestamp":
      return to.kind === from.kind && to.withZone === from.withZone && to.precision > from.precision;
    case "date":
      return to.kind === "timestamp";
    default:
      return false;
  }
}
