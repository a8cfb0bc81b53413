import type { LogicalType } from "@zero-etl/core";

/**
 * A Kafka Connect schema as Connect's JsonConverter writes it in a
 * `schema`+`payload` message (`schemas.enable=true`), which is how Debezium's
 * JSON change events describe their fields.
 */
export interface ConnectSchema {
  readonly type: "boolean" | "int16" | "int32" | "int64" | "float" | "double" | "string" | "bytes" | "array" | "struct" | "map";
  readonly optional: boolean;
  readonly name?: string;
  readonly field?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly items?: ConnectSchema;
  readonly fields?: readonly ConnectSchema[];
  /** Of a `map`: its keys' and values' schemas (Kafka Connect's JSON schema form). */
  readonly keys?: ConnectSchema;
  readonly values?: ConnectSchema;
}

/** Parameter carrying the column's zero-etl logical type (JSON), so a zero-etl Kafka source restores it exactly. */
export const ZEROETL_TYPE_PARAMETER = "__zeroetl.type";
/** Debezium's own parameter for the source column type (`column.propagate.source.type`). */
export const SOURCE_TYPE_PARAMETER = "__debezium.source.column.type";

/**
 * The Connect schema of a value of `type`, as Debezium names its semantic
 * types: `io.debezium.time.Date` (days since the epoch), `MicroTime`,
 * `MicroTimestamp` (microseconds), `ZonedTimestamp`/`ZonedTime` (ISO-8601
 * strings), `io.debezium.data.Json`, `Uuid`, `Enum`, `io.debezium.time.Interval`
 * (ISO-8601 string, Debezium's `interval.handling.mode=string`). Decimals
 * are strings (Debezium's `decimal.handling.mode=string`), the one exact form
 * a JSON reader needs no schema arithmetic for; unsigned 64-bit integers too.
 */
export function connectSchemaOf(type: LogicalType, optional: boolean, field?: string): ConnectSchema {
  const base = field === undefined ? { optional } : { optional, field };
  switch (type.kind) {
    case "bool":
      return { type: "boolean", ...base };
    case "int":
      if (type.bits === 64) return type.signed ? { type: "int64", ...base } : { type: "string", ...base };
      if (type.bits === 32) return type.signed ? { type: "int32", ...base } : { type: "int64", ...base };
      return type.bits === 16 && !type.signed ? { type: "int32", ...base } : { type: "int16", ...base };
    case "decimal":
      return { type: "string", ...base };
    case "float":
      return { type: type.bits === 32 ? "float" : "double", ...base };
    case "string":
      return type.enumValues === undefined
        ? { type: "string", ...base }
        : { type: "string", name: "io.debezium.data.Enum", parameters: { allowed: type.enumValues.join(",") }, ...base };
    case "bytes":
    case "geometry":
      return { type: "bytes", ...base };
    case "date":
      return { type: "int32", name: "io.debezium.time.Date", ...base };
    case "time":
      return type.withZone ? { type: "string", name: "io.debezium.time.ZonedTime", ...base } : { type: "int64", name: "io.debezium.time.MicroTime", ...base };
    case "timestamp":
      return type.withZone
        ? { type: "string", name: "io.debezium.time.ZonedTimestamp", ...base }
        : { type: "int64", name: "io.debezium.time.MicroTimestamp", ...base };
    case "interval":
      return { type: "string", name: "io.debezium.time.Interval", ...base };
    case "uuid":
      return { type: "string", name: "io.debezium.data.Uuid", ...base };
    case "json":
      return { type: "string", name: "io.debezium.data.Json", ...base };
    case "list":
      return { type: "array", items: connectSchemaOf(type.element, true), ...base };
    case "struct":
      return { type: "struct", fields: type.fields.map((f) => connectSchemaOf(f.type, f.nullable, f.name)), ...base };
    case "map":
      // Debezium's `hstore.handling.mode=map`: a Connect map, its payload a JSON object
      return { type: "map", keys: connectSchemaOf(type.key, false), values: connectSchemaOf(type.value, true), ...base };
  }
}
