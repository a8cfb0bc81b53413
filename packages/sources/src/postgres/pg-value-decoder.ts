import type { LogicalType, Value } from "@zero-etl/core";
import { parseArrayLiteral } from "./pg-array-literal.js";
import { hstoreToJson } from "./pg-hstore-literal.js";
import { isHstore, pgNativeType } from "./pg-native-type.js";
import { parseRecordLiteral } from "./pg-record-literal.js";

/**
 * What the decoder needs to know about a PostgreSQL type: a built-in scalar
 * by OID, an enum with its labels, a domain over a base type, an array of an
 * element type, a composite type with its fields, or anything else (kept as
 * text).
 */
export type PgTypeDescriptor =
  | { readonly kind: "builtin"; readonly oid: number; readonly name: string }
  | { readonly kind: "enum"; readonly oid: number; readonly name: string; readonly labels: readonly string[] }
  | { readonly kind: "domain"; readonly oid: number; readonly name: string; readonly base: PgTypeDescriptor; readonly baseTypeMod: number }
  | { readonly kind: "array"; readonly oid: number; readonly name: string; readonly element: PgTypeDescriptor; readonly delimiter: string }
  | { readonly kind: "composite"; readonly oid: number; readonly name: string; readonly fields: readonly PgCompositeField[] }
  | { readonly kind: "other"; readonly oid: number; readonly name: string };

/** One field of a composite type, in attribute order. */
export interface PgCompositeField {
  readonly name: string;
  readonly type: PgTypeDescriptor;
  readonly typeMod: number;
}

/** Decodes the text output of one PostgreSQL value (never called for NULL). */
export type PgValueDecoder = (text: string) => Value;

/**
 * Session settings under which the text forms are canonical and this
 * module's decoders are exact. Every connection that reads values (snapshot
 * and replication alike) must run with them.
 */
export const CANONICAL_SESSION_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  DateStyle: "ISO",
  TimeZone: "UTC",
  IntervalStyle: "iso_8601",
  extra_float_digits: "3",
  bytea_output: "hex",
});

const SCALARS: Readonly<Record<number, string>> = {
  16: "bool",
  17: "bytea",
  18: "char",
  19: "name",
  20: "int8",
  21: "int2",
  23: "int4",
  25: "text",
  26: "oid",
  28: "xid",
  114: "json",
  142: "xml",
  650: "cidr",
  700: "float4",
  701: "float8",
  790: "money",
  829: "macaddr",
  869: "inet",
  1042: "bpchar",
  1043: "varchar",
  1082: "date",
  1083: "time",
  1114: "timestamp",
  1184: "timestamptz",
  1186: "interval",
  1266: "timetz",
  1560: "bit",
  1562: "varbit",
  1700: "numeric",
  2950: "uuid",
  3802: "jsonb",
};

const ARRAYS: Readonly<Record<number, number>> = {
  1000: 16,
  1001: 17,
  1002: 18,
  1003: 19,
  1016: 20,
  1005: 21,
  1007: 23,
  1009: 25,
  1028: 26,
  1011: 28,
  199: 114,
  143: 142,
  651: 650,
  1021: 700,
  1022: 701,
  791: 790,
  1040: 829,
  1041: 869,
  1014: 1042,
  1015: 1043,
  1182: 1082,
  1183: 1083,
  1115: 1114,
  1185: 1184,
  1187: 1186,
  1270: 1266,
  1561: 1560,
  1563: 1562,
  1231: 1700,
  2951: 2950,
  3807: 3802,
};

/** The descriptor of a built-in type (scalar or one-dimensional array of a built-in scalar), or undefined. */
export function builtinTypeDescriptor(oid: number): PgTypeDescriptor | undefined {
  const name = SCALARS[oid];
  if (name !== undefined) return { kind: "builtin", oid, name };
  const elementOid = ARRAYS[oid];
  if (elementOid === undefined) return undefined;
  const elementName = SCALARS[elementOid] ?? "unknown";
  return { kind: "array", oid, name: `_${elementName}`, element: { kind: "builtin", oid: elementOid, name: elementName }, delimiter: "," };
}

/**
 * The logical type of a column of type `type` with type modifier `typeMod`
 * (`-1` when none): precision/scale of numeric, length of varchar/bpchar,
 * fractional digits of time/timestamp; `native` names the PostgreSQL type
 * where the kind alone would lose it (see `pgNativeType`). Composite types
 * are structs; `hstore` is `map<string, string>` (values: the JSON text of
 * an object of strings and nulls, which a PostgreSQL target turns back into
 * hstore).
 */
export function pgLogicalType(type: PgTypeDescriptor, typeMod: number): LogicalType {
  const logical = neutralLogicalType(type, typeMod);
  const native = pgNativeType(type, typeMod);
  return native === undefined ? logical : { ...logical, native };
}

const HSTORE_TYPE: LogicalType = Object.freeze({ kind: "map", key: Object.freeze({ kind: "string" }), value: Object.freeze({ kind: "string" }) });

function neutralLogicalType(type: PgTypeDescriptor, typeMod: number): LogicalType {
  switch (type.kind) {
    case "enum":
      return { kind: "string", enumValues: type.labels };
    case "domain":
      return pgLogicalType(type.base, typeMod >= 0 ? typeMod : type.baseTypeMod);
    case "array":
      return { kind: "list", element: pgLogicalType(type.element, typeMod) };
    case "composite":
      return { kind: "struct", fields: type.fields.map((f) => ({ name: f.name, type: pgLogicalType(f.type, f.typeMod), nullable: true })) };
    case "other":
      return isHstore(type) ? HSTORE_TYPE : { kind: "string" };
    case "builtin":
      return builtinLogicalType(type.oid, typeMod);
  }
}

function builtinLogicalType(oid: number, typeMod: number): LogicalType {
  switch (oid) {
    case 16:
      return { kind: "bool" };
    case 21:
      return { kind: "int", bits: 16, signed: true };
    case 23:
      return { kind: "int", bits: 32, signed: true };
    case 20:
      return { kind: "int", bits: 64, signed: true };
    case 26:
    case 28:
      return { kind: "int", bits: 32, signed: false };
    case 1700: {
      if (typeMod < 4) return { kind: "decimal" };
      const mod = typeMod - 4;
      return { kind: "decimal", precision: (mod >> 16) & 0xffff, scale: ((mod & 0x7ff) ^ 1024) - 1024 };
    }
    case 790:
      return { kind: "decimal", precision: 19, scale: 2 };
    case 700:
      return { kind: "float", bits: 32 };
    case 701:
      return { kind: "float", bits: 64 };
    case 1042:
    case 1043:
      return typeMod >= 4 ? { kind: "string", maxLength: typeMod - 4 } : { kind: "string" };
    case 18:
      return { kind: "string", maxLength: 1 };
    case 19:
      return { kind: "string", maxLength: 63 };
    case 17:
      return { kind: "bytes" };
    case 1082:
      return { kind: "date" };
    case 1083:
      return { kind: "time", precision: typeMod >= 0 ? typeMod : 6, withZone: false };
    case 1266:
      return { kind: "time", precision: typeMod >= 0 ? typeMod : 6, withZone: true };
    case 1114:
      return { kind: "timestamp", precision: typeMod >= 0 ? typeMod : 6, withZone: false };
    case 1184:
      return { kind: "timestamp", precision: typeMod >= 0 ? typeMod : 6, withZone: true };
    case 1186:
      return { kind: "interval" };
    case 2950:
      return { kind: "uuid" };
    case 114:
    case 3802:
      return { kind: "json" };
    default:
      return { kind: "string" };
  }
}

const identity: PgValueDecoder = (text) => text;
const decodeBool: PgValueDecoder = (text) => text === "t";
const decodeNumber: PgValueDecoder = (text) => Number(text);
const decodeBigint: PgValueDecoder = (text) => BigInt(text);
const decodeMoney: PgValueDecoder = (text) => text.replace(/[^0-9.-]/g, "");
const decodeLower: PgValueDecoder = (text) => text.toLowerCase();

/**
 * The decoder of `type`'s text output into the value representation of its
 * logical type (see `@zero-etl/core` `LogicalType`). Pure; assumes
 * {@link CANONICAL_SESSION_SETTINGS} but normalises time zones itself.
 */
export function createPgValueDecoder(type: PgTypeDescriptor): PgValueDecoder {
  switch (type.kind) {
    case "enum":
      return identity;
    case "other":
      return isHstore(type) ? hstoreToJson : identity;
    case "composite": {
      const names = type.fields.map((f) => f.name);
      const decoders = type.fields.map((f) => createPgValueDecoder(f.type));
      return (text) => {
        const texts = parseRecordLiteral(text);
        const out: Record<string, Value> = {};
        for (let i = 0; i < names.length; i++) {
          const field = texts[i];
          out[names[i] as string] = field === null || field === undefined ? null : (decoders[i] as PgValueDecoder)(field);
        }
        return out;
      };
    }
    case "domain":
      return createPgValueDecoder(type.base);
    case "array": {
      const element = createPgValueDecoder(type.element);
      const delimiter = type.delimiter;
      return (text) => parseArrayLiteral(text, element, delimiter);
    }
    case "builtin":
      switch (type.oid) {
        case 16:
          return decodeBool;
        case 21:
        case 23:
        case 26:
        case 28:
        case 700:
        case 701:
          return decodeNumber;
        case 20:
          return decodeBigint;
        case 790:
          return decodeMoney;
        case 17:
          return decodeBytea;
        case 1082:
          return decodeDate;
        case 1266:
          return decodeTimetz;
        case 1114:
          return decodeTimestamp;
        case 1184:
          return decodeTimestamptz;
        case 1186:
          return decodeInterval;
        case 2950:
          return decodeLower;
        default:
          return identity;
      }
  }
}

/** `\x0a0b` (hex) or the legacy escape format into bytes. */
export function decodeBytea(text: string): Uint8Array {
  if (text.startsWith("\\x")) {
    const n = (text.length - 2) >> 1;
    const out = new Uint8Array(n);
    for (let i = 0, j = 2; i < n; i++, j += 2) out[i] = (hexDigit(text.charCodeAt(j)) << 4) | hexDigit(text.charCodeAt(j + 1));
    return out;
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      bytes.push(c);
    } else if (text.charCodeAt(i + 1) === 0x5c) {
      bytes.push(0x5c);
      i++;
    } else {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    }
  }
  return Uint8Array.from(bytes);
}

function hexDigit(c: number): number {
  if (c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x57;
}

/** Moves a trailing ` BC` into an astronomical (ISO 8601) signed year: 44 BC is `-0043`. */
function fromBc(text: string): string {
  if (!text.endsWith(" BC")) return text;
  const body = text.slice(0, -3);
  const dash = body.indexOf("-");
  const year = 1 - Number(body.slice(0, dash));
  const sign = year < 0 ? "-" : "";
  return `${sign}${String(Math.abs(year)).padStart(4, "0")}${body.slice(dash)}`;
}

/** `YYYY-MM-DD`; BC dates as signed astronomical years; `infinity` as is. */
export function decodeDate(text: string): string {
  return fromBc(text);
}

/** `HH:MM:SS[.ffffff]+HH:MM` (PostgreSQL prints `+05` for whole hours). */
export function decodeTimetz(text: string): string {
  const sign = Math.max(text.lastIndexOf("+"), text.lastIndexOf("-"));
  if (sign < 0) return text;
  const zone = text.slice(sign + 1);
  return zone.length === 2 ? `${text}:00` : text;
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]` for a timestamp without time zone. */
export function decodeTimestamp(text: string): string {
  const c = text.charCodeAt(0);
  if (c === 0x69 /* i */ || c === 0x2d /* - */) return text;
  return fromBc(text).replace(" ", "T");
}

/** A timestamptz normalised to UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. */
export function decodeTimestamptz(text: string): string {
  const c = text.charCodeAt(0);
  if (c === 0x69 /* infinity */ || (c === 0x2d && text === "-infinity")) return text;
  const bc = text.endsWith(" BC");
  const body = bc ? text.slice(0, -3) : text;
  const space = body.indexOf(" ");
  let zoneAt = body.length;
  for (let i = body.length - 1; i > space; i--) {
    const ch = body.charCodeAt(i);
    if (ch === 0x2b || ch === 0x2d) {
      zoneAt = i;
      break;
    }
  }
  const zone = body.slice(zoneAt);
  const local = body.slice(0, zoneAt);
  if (zone === "+00" || zone === "") {
    return `${bc ? fromBc(`${local} BC`) : local}Z`.replace(" ", "T");
  }
  return shiftToUtc(bc ? fromBc(`${local} BC`) : local, zone);
}

/** Converts `YYYY-MM-DD HH:MM:SS[.f]` at offset `±HH[:MM[:SS]]` to UTC, keeping the fraction digits. */
function shiftToUtc(local: string, zone: string): string {
  const m = /^(-?\d+)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?$/.exec(local);
  if (m === null) return local;
  const parts = zone.slice(1).split(":");
  const offsetSeconds = (Number(parts[0]) * 3600 + Number(parts[1] ?? 0) * 60 + Number(parts[2] ?? 0)) * (zone.startsWith("-") ? -1 : 1);
  const date = new Date(0);
  date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]) - offsetSeconds, 0);
  const year = date.getUTCFullYear();
  const y = year < 0 ? `-${String(-year).padStart(4, "0")}` : String(year).padStart(4, "0");
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${y}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}T${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}${m[7] ?? ""}Z`;
}

const POSTGRES_INTERVAL = /^(?:([+-]?\d+) years? ?)?(?:([+-]?\d+) mons? ?)?(?:([+-]?\d+) days? ?)?(?:([+-])?(\d+):(\d\d):(\d\d(?:\.\d+)?))?$/;

/**
 * An ISO-8601 duration. The server sends one under `IntervalStyle=iso_8601`
 * (passed through); the default `postgres` style is converted.
 */
export function decodeInterval(text: string): string {
  if (text.charCodeAt(0) === 0x50 /* P */) return text;
  const m = POSTGRES_INTERVAL.exec(text);
  if (m === null) return text;
  let out = "P";
  if (m[1] !== undefined) out += `${Number(m[1])}Y`;
  if (m[2] !== undefined) out += `${Number(m[2])}M`;
  if (m[3] !== undefined) out += `${Number(m[3])}D`;
  if (m[5] !== undefined) {
    const neg = m[4] === "-" ? "-" : "";
    const h = Number(m[5]);
    const mi = Number(m[6]);
    const s = m[7] ?? "00";
    let time = "";
    if (h !== 0) time += `${neg}${h}H`;
    if (mi !== 0) time += `${neg}${mi}M`;
    if (Number(s) !== 0) time += `${neg}${s.replace(/^0(\d)/, "$1")}S`;
    if (time !== "") out += `T${time}`;
  }
  return out === "P" ? "PT0S" : out;
}
