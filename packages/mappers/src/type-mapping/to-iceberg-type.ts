import type { LogicalType } from "@zero-etl/core";
import type { TargetTypeMapping, TypeMappingDecision } from "./type-mapping-result.js";
import { typeMapping, worseDecision } from "./type-mapping-result.js";

/** An Iceberg struct field (table spec, schema JSON). */
export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergType;
  readonly doc?: string;
}

/** An Iceberg type as the table metadata JSON writes it: a primitive name or a nested object. */
export type IcebergType =
  | string
  | { readonly type: "struct"; readonly fields: readonly IcebergField[] }
  | { readonly type: "list"; readonly "element-id": number; readonly element: IcebergType; readonly "element-required": boolean }
  | { readonly type: "map"; readonly "key-id": number; readonly key: IcebergType; readonly "value-id": number; readonly value: IcebergType; readonly "value-required": boolean };

/** Options of {@link toIcebergType}. */
export interface ToIcebergTypeOptions {
  /** Allocates field ids for nested fields and list elements. Default: counts up from 1. */
  readonly nextId?: (() => number) | undefined;
}

/** Iceberg's largest decimal precision. */
export const ICEBERG_MAX_DECIMAL_PRECISION = 38;

/**
 * The Iceberg (format v2) type for a logical type: timestamps keep
 * microseconds (nanoseconds are truncated), decimals at most 38 digits,
 * JSON is a `string` holding the JSON text, unsigned integers go one size up.
 */
export function toIcebergType(type: LogicalType, options: ToIcebergTypeOptions = {}): TargetTypeMapping<IcebergType> {
  let counter = 0;
  const nextId = options.nextId ?? (() => ++counter);
  const map = (t: LogicalType): TargetTypeMapping<IcebergType> => {
    switch (t.kind) {
      case "bool":
        return typeMapping("boolean", "exact");
      case "int":
        if (t.signed) {
          if (t.bits === 64) return typeMapping("long", "exact");
          return typeMapping("int", t.bits === 32 ? "exact" : "widened", t.bits === 32 ? undefined : "Iceberg's smallest integer is 32-bit");
        }
        if (t.bits === 64) return typeMapping("decimal(20,0)", "widened", "Iceberg has no unsigned 64-bit integer");
        return typeMapping(t.bits === 32 ? "long" : "int", "widened", "unsigned integer in a larger signed type");
      case "decimal": {
        // the Iceberg sink's default (`unconstrainedDecimal: "string"`): no fixed decimal holds every value
        if (t.precision === undefined) return typeMapping("string", "widened", "unconstrained numeric kept as its exact decimal text (no Iceberg decimal holds every value)");
        const scale = t.scale ?? 0;
        if (t.precision <= ICEBERG_MAX_DECIMAL_PRECISION) return typeMapping(`decimal(${t.precision},${scale})`, "exact");
        const integerDigits = t.precision - scale;
        if (integerDigits >= ICEBERG_MAX_DECIMAL_PRECISION) return typeMapping("decimal(38,0)", "dead-letter", `${integerDigits} integer digits exceed Iceberg's 38`);
        return typeMapping(`decimal(38,${ICEBERG_MAX_DECIMAL_PRECISION - integerDigits})`, "truncated", `scale reduced from ${scale} to fit 38 digits`);
      }
      case "float":
        return typeMapping(t.bits === 32 ? "float" : "double", "exact");
      case "string":
        return typeMapping("string", "exact");
      case "bytes":
        return typeMapping("binary", "exact");
      case "date":
        return typeMapping("date", "exact");
      case "time":
        if (t.withZone) return typeMapping("string", "widened", "Iceberg has no time with zone; kept as text");
        if (t.precision > 6) return typeMapping("time", "truncated", `fractional seconds truncated from ${t.precision} to 6 digits`);
        return typeMapping("time", "exact");
      case "timestamp": {
        const name = t.withZone ? "timestamptz" : "timestamp";
        if (t.precision > 6) return typeMapping(name, "truncated", `nanoseconds truncated to microseconds (from ${t.precision} digits)`);
        return typeMapping(name, "exact");
      }
      case "interval":
        return typeMapping("string", "widened", "ISO-8601 duration text");
      case "uuid":
        return typeMapping("uuid", "exact");
      case "json":
        return typeMapping("string", "exact", "the JSON text");
      case "geometry":
        return typeMapping("binary", "exact", "well-known binary");
      case "list": {
        const id = nextId();
        const element = map(t.element);
        return typeMapping({ type: "list", "element-id": id, element: element.type, "element-required": false }, element.decision, element.note);
      }
      case "map": {
        const keyId = nextId();
        const valueId = nextId();
        const key = map(t.key);
        const value = map(t.value);
        const decision = worseDecision(key.decision, value.decision);
        const notes = [key.decision === "exact" ? undefined : key.note, value.decision === "exact" ? undefined : value.note].filter((n) => n !== undefined);
        return typeMapping({ type: "map", "key-id": keyId, key: key.type, "value-id": valueId, value: value.type, "value-required": false }, decision, notes.length === 0 ? undefined : notes.join("; "));
      }
      case "struct": {
        let decision: TypeMappingDecision = "exact";
        const notes: string[] = [];
        const fields = t.fields.map((field): IcebergField => {
          const id = nextId();
          const inner = map(field.type);
          decision = worseDecision(decision, inner.decision);
          if (inner.note !== undefined && inner.decision !== "exact") notes.push(`${field.name}: ${inner.note}`);
          return { id, name: field.name, required: !field.nullable, type: inner.type };
        });
        return typeMapping({ type: "struct", fields }, decision, notes.length === 0 ? undefined : notes.join("; "));
      }
    }
  };
  return map(type);
}

const DECIMAL_TYPE = /^decimal\((\d+),\s*(\d+)\)$/;

/**
 * The logical type of an Iceberg primitive type, the inverse of
 * {@link toIcebergType} where one exists: `long` is int64, `string` string
 * (Iceberg keeps JSON and long decimals as strings too), `decimal(P,S)`
 * decimal(P,S). Nested types read as `json`.
 */
export function fromIcebergType(type: IcebergType): LogicalType {
  if (typeof type !== "string") return { kind: "json" };
  switch (type) {
    case "boolean":
      return { kind: "bool" };
    case "int":
      return { kind: "int", bits: 32, signed: true };
    case "long":
      return { kind: "int", bits: 64, signed: true };
    case "float":
      return { kind: "float", bits: 32 };
    case "double":
      return { kind: "float", bits: 64 };
    case "binary":
      return { kind: "bytes" };
    case "date":
      return { kind: "date" };
    case "time":
      return { kind: "time", precision: 6, withZone: false };
    case "timestamp":
    case "timestamptz":
      return { kind: "timestamp", precision: 6, withZone: type === "timestamptz" };
    case "uuid":
      return { kind: "uuid" };
    default: {
      const decimal = DECIMAL_TYPE.exec(type);
      if (decimal !== null) return { kind: "decimal", precision: Number(decimal[1]), scale: Number(decimal[2]) };
      return { kind: "string" };
    }
  }
}
