import type { LogicalType } from "@zero-etl/core";

const INT_BITS: Readonly<Record<string, 8 | 16 | 32 | 64>> = { tinyint: 8, smallint: 16, mediumint: 32, int: 32, integer: 32, bigint: 64 };

/**
 * Maps a MySQL/MariaDB column type, as `information_schema.COLUMNS.COLUMN_TYPE`
 * writes it (`int(11) unsigned`, `decimal(10,2)`, `varchar(255)`,
 * `datetime(6)`, `enum('a','b')`), to a logical type. `mediumint` maps to
 * int32; `tinyint(1)` stays an integer (MySQL stores 0..255/-128..127 in
 * it); `datetime` is a timestamp without zone, `timestamp` one with zone
 * (MySQL stores it in UTC); `time` is an interval (a signed duration up to
 * ±838:59:59, not a time of day); `year` is int16; `bit(n)` is bytes.
 */
export function fromMysqlType(columnType: string): LogicalType {
  const text = columnType.trim().toLowerCase();
  const unsigned = /\bunsigned\b/.test(text);
  const match = /^([a-z]+)\s*(?:\((.*)\))?/.exec(text);
  const base = match?.[1] ?? text;
  const rawArgs = match?.[2];
  const args = rawArgs === undefined ? [] : rawArgs.split(",").map((s) => Number(s.trim()));
  const bits = INT_BITS[base];
  if (bits !== undefined) return { kind: "int", bits, signed: !unsigned };
  switch (base) {
    case "bool":
    case "boolean":
      return { kind: "bool" };
    case "decimal":
    case "numeric":
    case "dec":
    case "fixed":
      return { kind: "decimal", precision: args[0] ?? 10, scale: args[1] ?? 0 };
    case "float":
      return { kind: "float", bits: args[0] !== undefined && args[0] > 24 ? 64 : 32 };
    case "double":
    case "real":
      return { kind: "float", bits: 64 };
    case "char":
    case "varchar":
      return { kind: "string", maxLength: args[0] ?? 1 };
    case "tinytext":
      return { kind: "string", maxLength: 255 };
    case "text":
    case "mediumtext":
    case "longtext":
      return { kind: "string" };
    case "enum":
    case "set": {
      const values = [...(rawArgs ?? "").matchAll(/'((?:[^']|'')*)'/g)].map((m) => (m[1] ?? "").replace(/''/g, "'"));
      return base === "enum" ? { kind: "string", enumValues: values } : { kind: "string" };
    }
    case "binary":
    case "varbinary":
      return { kind: "bytes", maxLength: args[0] ?? 1 };
    case "bit":
      return { kind: "bytes", maxLength: Math.ceil((args[0] ?? 1) / 8) };
    case "tinyblob":
    case "blob":
    case "mediumblob":
    case "longblob":
      return { kind: "bytes" };
    case "date":
      return { kind: "date" };
    case "datetime":
      return { kind: "timestamp", precision: args[0] ?? 0, withZone: false };
    case "timestamp":
      return { kind: "timestamp", precision: args[0] ?? 0, withZone: true };
    case "time":
      return { kind: "interval" };
    case "year":
      return { kind: "int", bits: 16, signed: true };
    case "json":
      return { kind: "json" };
    case "geometry":
    case "point":
    case "linestring":
    case "polygon":
    case "multipoint":
    case "multilinestring":
    case "multipolygon":
    case "geometrycollection":
      return { kind: "geometry" };
    default:
      return { kind: "string" };
  }
}
