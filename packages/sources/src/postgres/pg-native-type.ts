import type { NativeType } from "@zero-etl/core";
import type { PgTypeDescriptor } from "./pg-value-decoder.js";

/** `format_type` spellings of the built-in scalars the decoder knows by OID. */
const FORMAT_NAMES: Readonly<Record<string, string>> = {
  bool: "boolean",
  char: '"char"',
  int8: "bigint",
  int2: "smallint",
  int4: "integer",
  float4: "real",
  float8: "double precision",
};

/**
 * Built-in scalars that the neutral kinds cannot tell apart from text or
 * jsonb, kept as themselves in a PostgreSQL target (`character(n)` pads and
 * compares without trailing blanks, which `varchar` does not).
 */
const NATIVE_SCALARS = new Set(["json", "xml", "cidr", "inet", "macaddr", "bit", "varbit", "bpchar"]);

/**
 * Catalog types (not known to the decoder by OID) that a PostgreSQL target
 * has too: network, geometric, text search, ranges and multiranges, LSNs.
 * Only the built-in ones (OID below 16384): a user type of the same name in
 * another schema is not it. `reg*` types are left out on purpose: their
 * values are object names that need not exist in the target.
 */
const NATIVE_CATALOG_TYPES = new Set([
  "macaddr8",
  "tsvector",
  "tsquery",
  "point",
  "line",
  "lseg",
  "box",
  "path",
  "polygon",
  "circle",
  "int4range",
  "int8range",
  "numrange",
  "tsrange",
  "tstzrange",
  "daterange",
  "int4multirange",
  "int8multirange",
  "nummultirange",
  "tsmultirange",
  "tstzmultirange",
  "datemultirange",
  "pg_lsn",
]);
const FIRST_NORMAL_OBJECT_ID = 16384;

/** True for the `hstore` extension's type (its OID differs per database). */
export function isHstore(type: PgTypeDescriptor): boolean {
  return type.kind === "other" && type.name === "hstore";
}

/**
 * The PostgreSQL-native type a PostgreSQL target can recreate for a column
 * of `type` with modifier `typeMod`, when the neutral logical kind would
 * lose it: `json` (jsonb would reorder keys and drop duplicates), network,
 * bit-string, geometric, text-search, range and multirange types, `hstore`,
 * and arrays of built-in (or those) element types. Undefined for the rest.
 * The name is spelled as `format_type` prints it, so the target's catalog
 * reads back the same text.
 */
export function pgNativeType(type: PgTypeDescriptor, typeMod: number): NativeType | undefined {
  const name = nativeName(type, typeMod);
  return name === undefined ? undefined : { dialect: "postgres", name };
}

function nativeName(type: PgTypeDescriptor, typeMod: number): string | undefined {
  switch (type.kind) {
    case "builtin":
      return NATIVE_SCALARS.has(type.name) ? formatPgType(type, typeMod) : undefined;
    case "other":
      if (isHstore(type)) return "hstore";
      return type.oid < FIRST_NORMAL_OBJECT_ID && NATIVE_CATALOG_TYPES.has(type.name) ? type.name : undefined;
    case "array": {
      const element = type.element;
      if (element.kind === "builtin") return `${formatPgType(element, typeMod)}[]`;
      const inner = nativeName(element, typeMod);
      return inner === undefined ? undefined : `${inner}[]`;
    }
    default:
      return undefined;
  }
}

/** `format_type(oid, typmod)` of a built-in scalar. */
export function formatPgType(type: PgTypeDescriptor & { kind: "builtin" }, typeMod: number): string {
  switch (type.name) {
    case "numeric": {
      if (typeMod < 4) return "numeric";
      const mod = typeMod - 4;
      return `numeric(${(mod >> 16) & 0xffff},${((mod & 0x7ff) ^ 1024) - 1024})`;
    }
    case "varchar":
      return typeMod >= 4 ? `character varying(${typeMod - 4})` : "character varying";
    case "bpchar":
      return typeMod >= 4 ? `character(${typeMod - 4})` : "bpchar";
    case "bit":
      return typeMod >= 0 ? `bit(${typeMod})` : "bit";
    case "varbit":
      return typeMod >= 0 ? `bit varying(${typeMod})` : "bit varying";
    case "time":
    case "timetz":
    case "timestamp":
    case "timestamptz": {
      const base = type.name.startsWith("timestamp") ? "timestamp" : "time";
      const zone = type.name.endsWith("tz") ? "with time zone" : "without time zone";
      return typeMod >= 0 ? `${base}(${typeMod}) ${zone}` : `${base} ${zone}`;
    }
    default:
      return FORMAT_NAMES[type.name] ?? type.name;
  }
}
