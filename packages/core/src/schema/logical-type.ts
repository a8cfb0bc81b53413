/**
 * The neutral type system every source maps into and every sink maps out of.
 *
 * Exact values stay exact: decimals are carried as decimal strings, 64-bit
 * integers as `bigint`, so a `numeric(38,10)`, an `int8` or a DynamoDB number
 * never passes through a JavaScript float.
 */
export type LogicalType = (
  | { readonly kind: "bool" }
  /** Signed or unsigned integer of 8, 16, 32 or 64 bits. Values: `number` up to 32 bits, `bigint` for 64. */
  | { readonly kind: "int"; readonly bits: 8 | 16 | 32 | 64; readonly signed: boolean }
  /** Exact decimal. `precision`/`scale` absent means unconstrained (PostgreSQL `numeric`, DynamoDB `N`). Values: decimal strings. */
  | { readonly kind: "decimal"; readonly precision?: number; readonly scale?: number }
  /** IEEE float of 32 or 64 bits. Values: `number`. */
  | { readonly kind: "float"; readonly bits: 32 | 64 }
  /** Text. `maxLength` in characters when the source declares one. Values: `string`. */
  | { readonly kind: "string"; readonly maxLength?: number; readonly enumValues?: readonly string[] }
  /** Binary. Values: `Uint8Array`. */
  | { readonly kind: "bytes"; readonly maxLength?: number }
  /** Calendar date. Values: `YYYY-MM-DD` strings (years outside 0001–9999 keep their sign and digits). */
  | { readonly kind: "date" }
  /** Time of day. Values: `HH:MM:SS[.ffffff]` strings; `withZone` appends `+HH:MM`. MySQL TIME may be negative or exceed 24h. */
  | { readonly kind: "time"; readonly precision: number; readonly withZone: boolean }
  /**
   * Instant or wall-clock timestamp. Values: ISO-8601 strings with up to
   * microsecond digits: `YYYY-MM-DDTHH:MM:SS[.ffffff]`, with a trailing `Z`
   * (normalised to UTC) when `withZone`. `infinity`/`-infinity` pass through as those words.
   */
  | { readonly kind: "timestamp"; readonly precision: number; readonly withZone: boolean }
  /** Elapsed time. Values: ISO-8601 duration strings (`P1Y2M3DT4H5M6.789S`). */
  | { readonly kind: "interval" }
  /** Values: canonical lowercase UUID strings. */
  | { readonly kind: "uuid" }
  /** A JSON document. Values: the JSON text exactly as the source holds it (numbers keep every digit). */
  | { readonly kind: "json" }
  /** Homogeneous list. Values: arrays (elements may be null). */
  | { readonly kind: "list"; readonly element: LogicalType }
  /**
   * Key/value map (PostgreSQL `hstore` is `map<string, string>`). Values: the
   * JSON text of an object, one member per entry in the source's order, the
   * key as its JSON string and the value in the value type's JSON form (a
   * string for `string`, `null` for a null value): the same text a `json`
   * value would be, so JSON targets take it as it is. Keys are never null.
   */
  | { readonly kind: "map"; readonly key: LogicalType; readonly value: LogicalType }
  /** Record with named fields. Values: plain objects. */
  | { readonly kind: "struct"; readonly fields: readonly StructField[] }
  /** Geometry as well-known binary. Values: `Uint8Array`. */
  | { readonly kind: "geometry" }
) & {
  /**
   * The source database's own type, when a target of the same database can
   * recreate it exactly and the neutral kind alone would lose it (PostgreSQL
   * `json`, `inet`, `int4range`, `hstore`, arrays). Other targets ignore it
   * and use the kind; values are always those the kind documents.
   */
  readonly native?: NativeType;
};

/** A type as the source database spells it; see `LogicalType.native`. */
export interface NativeType {
  /** The database whose SQL spells `name`. */
  readonly dialect: "postgres";
  /** The type as that database's `format_type` prints it, usable in a column definition (`bit varying(8)`, `numeric(10,2)[]`). */
  readonly name: string;
  /** A stored generated column's expression as the source prints it (`pg_get_expr`): a target of the same database recreates the column as generated and never writes it. */
  readonly generatedAs?: string;
}

/**
 * Key of a list value's lower bounds (one per dimension) when the source's
 * array does not start at 1 (PostgreSQL `'[0:2]={1,2,3}'`). A symbol-keyed
 * property is invisible to JSON and to targets that cannot keep bounds; a
 * target that can (PostgreSQL) reads it.
 */
export const LIST_LOWER_BOUNDS: unique symbol = Symbol.for("zero-etl.list-lower-bounds");

/** One field of a struct type. */
export interface StructField {
  readonly name: string;
  readonly type: LogicalType;
  readonly nullable: boolean;
}

/** The discriminant of {@link LogicalType}. */
export type LogicalTypeKind = LogicalType["kind"];

/** Renders a type the way error messages and docs show it, e.g. `decimal(38,10)`, `int64`, `list<string>`. */
export function formatLogicalType(type: LogicalType): string {
  switch (type.kind) {
    case "int":
      return `${type.signed ? "int" : "uint"}${type.bits}`;
    case "float":
      return `float${type.bits}`;
    case "decimal":
      return type.precision === undefined ? "decimal" : `decimal(${type.precision},${type.scale ?? 0})`;
    case "string":
      return type.maxLength === undefined ? "string" : `string(${type.maxLength})`;
    case "bytes":
      return type.maxLength === undefined ? "bytes" : `bytes(${type.maxLength})`;
    case "time":
      return `time(${type.precision})${type.withZone ? " with zone" : ""}`;
    case "timestamp":
      return `timestamp(${type.precision})${type.withZone ? " with zone" : ""}`;
    case "list":
      return `list<${formatLogicalType(type.element)}>`;
    case "map":
      return `map<${formatLogicalType(type.key)}, ${formatLogicalType(type.value)}>`;
    case "struct":
      return `struct<${type.fields.map((f) => `${f.name}: ${formatLogicalType(f.type)}`).join(", ")}>`;
    default:
      return type.kind;
  }
}

/** Structural equality of two logical types. */
export function isSameLogicalType(a: LogicalType, b: LogicalType): boolean {
  return formatLogicalType(a) === formatLogicalType(b) && JSON.stringify(a) === JSON.stringify(b);
}
