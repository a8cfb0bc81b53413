import type { LogicalType } from "@zero-etl/core";

const SIMPLE: Readonly<Record<string, LogicalType>> = {
  bool: { kind: "bool" },
  boolean: { kind: "bool" },
  int2: { kind: "int", bits: 16, signed: true },
  smallint: { kind: "int", bits: 16, signed: true },
  smallserial: { kind: "int", bits: 16, signed: true },
  int4: { kind: "int", bits: 32, signed: true },
  int: { kind: "int", bits: 32, signed: true },
  integer: { kind: "int", bits: 32, signed: true },
  serial: { kind: "int", bits: 32, signed: true },
  int8: { kind: "int", bits: 64, signed: true },
  bigint: { kind: "int", bits: 64, signed: true },
  bigserial: { kind: "int", bits: 64, signed: true },
  oid: { kind: "int", bits: 32, signed: false },
  xid: { kind: "int", bits: 32, signed: false },
  float4: { kind: "float", bits: 32 },
  real: { kind: "float", bits: 32 },
  float8: { kind: "float", bits: 64 },
  "double precision": { kind: "float", bits: 64 },
  money: { kind: "decimal", precision: 19, scale: 2 },
  text: { kind: "string" },
  name: { kind: "string", maxLength: 63 },
  citext: { kind: "string" },
  xml: { kind: "string" },
  inet: { kind: "string" },
  cidr: { kind: "string" },
  macaddr: { kind: "string" },
  macaddr8: { kind: "string" },
  tsvector: { kind: "string" },
  bytea: { kind: "bytes" },
  date: { kind: "date" },
  interval: { kind: "interval" },
  uuid: { kind: "uuid" },
  json: { kind: "json" },
  jsonb: { kind: "json" },
  geometry: { kind: "geometry" },
  geography: { kind: "geometry" },
};

function parseArgs(text: string | undefined): number[] {
  if (text === undefined) return [];
  return text.split(",").map((s) => Number(s.trim()));
}

/**
 * Maps a PostgreSQL type to a logical type. `name` is the catalog name
 * (`int4`, `numeric`, `_text` for arrays) or the SQL spelling
 * (`numeric(12,2)`, `character varying(20)`, `timestamp(3) with time zone`,
 * `text[]`); `typmod` is the catalog's `atttypmod` (-1 when none) and wins
 * over parenthesised arguments. Unknown types (enums, domains, ranges)
 * become `string`, which is how logical replication sends their values.
 */
export function fromPostgresType(name: string, typmod = -1): LogicalType {
  let text = name.trim().toLowerCase();
  if (text.startsWith("_")) return { kind: "list", element: fromPostgresType(text.slice(1), typmod) };
  if (text.endsWith("[]")) return { kind: "list", element: fromPostgresType(text.slice(0, -2), typmod) };
  const withZone = /\bwith time zone\b/.test(text) || text === "timestamptz" || text === "timetz";
  text = text.replace(/\s+with(out)? time zone\b/, "");
  const match = /^([a-z0-9_ ]+?)\s*(?:\(([^)]*)\))?$/.exec(text);
  const base = (match?.[1] ?? text).trim();
  const args = parseArgs(match?.[2]);
  const simple = SIMPLE[base];
  if (simple !== undefined) return simple;
  switch (base) {
    case "numeric":
    case "decimal": {
      if (typmod >= 4) {
        const packed = typmod - 4;
        return { kind: "decimal", precision: (packed >> 16) & 0xffff, scale: packed & 0xffff };
      }
      const [precision, scale] = args;
      return precision === undefined || Number.isNaN(precision) ? { kind: "decimal" } : { kind: "decimal", precision, scale: scale ?? 0 };
    }
    case "varchar":
    case "character varying":
    case "bpchar":
    case "char":
    case "character": {
      const length = typmod >= 4 ? typmod - 4 : args[0];
      if (length === undefined || Number.isNaN(length)) return base === "bpchar" || base.startsWith("char") ? { kind: "string", maxLength: 1 } : { kind: "string" };
      return { kind: "string", maxLength: length };
    }
    case "hstore":
      return { kind: "map", key: { kind: "string" }, value: { kind: "string" } };
    case "bit":
    case "varbit":
    case "bit varying":
      return { kind: "string" };
    case "timestamp":
    case "timestamptz":
    case "time":
    case "timetz": {
      const precision = typmod >= 0 ? typmod : (args[0] ?? 6);
      return { kind: base.startsWith("timestamp") ? "timestamp" : "time", precision, withZone };
    }
    default:
      return { kind: "string" };
  }
}
