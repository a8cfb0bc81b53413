import type { LogicalType } from "@zero-etl/core";

/** MySQL/MariaDB column type codes as they appear in binlog TABLE_MAP events (`enum_field_types`). */
export const MysqlType = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

/** How a character column's bytes become a string; `binary` means the value stays bytes. */
export type MysqlCharset = "utf8" | "latin1" | "binary" | "utf16" | "utf16le" | "utf32" | "ascii" | "other";

/**
 * Everything the row decoder needs about one column, resolved once per
 * TABLE_MAP (never per row): the wire type, its metadata, signedness,
 * charset and ENUM/SET names.
 */
export interface ColumnDescriptor {
  readonly name: string;
  /** The TABLE_MAP type code. */
  readonly type: number;
  /** For STRING columns the real type from the metadata (ENUM, SET or STRING); otherwise `type`. */
  readonly realType: number;
  /** Type metadata: pack length, max length, (precision, scale), fsp or bit length, as the type defines. */
  readonly meta: number;
  /** Second metadata number: scale for NEWDECIMAL, byte count for BIT; 0 otherwise. */
  readonly meta2: number;
  readonly unsigned: boolean;
  readonly nullable: boolean;
  /** Collation id of a character column, 0 when unknown or not a character column. */
  readonly collation: number;
  readonly charset: MysqlCharset;
  /** Bytes per character of the charset (for maxLength), 1 when unknown. */
  readonly maxBytesPerChar: number;
  /** WHATWG encoding label for charsets of kind `other` (e.g. `gbk`, `windows-1251`); absent when none fits. */
  readonly encoding?: string;
  /** ENUM or SET member names in declaration order. */
  readonly members?: readonly string[];
  /** True when the column is known to hold JSON (MySQL JSON type, or a MariaDB JSON alias seen by introspection). */
  readonly json: boolean;
}

/** Whether the type is numeric for the TABLE_MAP SIGNEDNESS bitmap. */
export function isNumericType(type: number): boolean {
  return (
    type === MysqlType.TINY ||
    type === MysqlType.SHORT ||
    type === MysqlType.INT24 ||
    type === MysqlType.LONG ||
    type === MysqlType.LONGLONG ||
    type === MysqlType.NEWDECIMAL ||
    type === MysqlType.FLOAT ||
    type === MysqlType.DOUBLE ||
    type === MysqlType.DECIMAL ||
    type === MysqlType.YEAR
  );
}

/**
 * Whether the column counts as a character column for the TABLE_MAP charset
 * metadata: ENUM/SET never (they have their own list); GEOMETRY only on
 * MariaDB, whose geometry field is a BLOB with the binary charset.
 */
export function isCharacterType(type: number, realType: number, mariadb: boolean): boolean {
  if (realType === MysqlType.ENUM || realType === MysqlType.SET) return false;
  if (type === MysqlType.GEOMETRY) return mariadb;
  return (
    type === MysqlType.STRING ||
    type === MysqlType.VAR_STRING ||
    type === MysqlType.VARCHAR ||
    type === MysqlType.BLOB ||
    type === MysqlType.TINY_BLOB ||
    type === MysqlType.MEDIUM_BLOB ||
    type === MysqlType.LONG_BLOB
  );
}

/** Maps a charset name (`information_schema.COLLATIONS.CHARACTER_SET_NAME`) to how its bytes are decoded. */
export function charsetKind(name: string): MysqlCharset {
  switch (name) {
    case "utf8mb4":
    case "utf8mb3":
    case "utf8":
      return "utf8";
    case "latin1":
      return "latin1";
    case "ascii":
      return "ascii";
    case "binary":
      return "binary";
    case "utf16":
    case "ucs2":
      return "utf16";
    case "utf16le":
      return "utf16le";
    case "utf32":
      return "utf32";
    default:
      return "other";
  }
}

const ENCODINGS: Readonly<Record<string, string>> = {
  gbk: "gbk",
  gb2312: "gbk",
  gb18030: "gb18030",
  big5: "big5",
  ujis: "euc-jp",
  eucjpms: "euc-jp",
  sjis: "shift_jis",
  cp932: "shift_jis",
  euckr: "euc-kr",
  koi8r: "koi8-r",
  koi8u: "koi8-u",
  cp1250: "windows-1250",
  cp1251: "windows-1251",
  cp1256: "windows-1256",
  cp1257: "windows-1257",
  cp866: "ibm866",
  latin2: "iso-8859-2",
  latin5: "windows-1254",
  latin7: "iso-8859-13",
  greek: "iso-8859-7",
  hebrew: "iso-8859-8",
  macroman: "macintosh",
  tis620: "windows-874",
};

/** The WHATWG encoding label Node's TextDecoder knows for a MySQL charset of kind `other`, if any. */
export function encodingOf(charsetName: string): string | undefined {
  return ENCODINGS[charsetName];
}

/**
 * The logical type of a column, as documented in `docs/connectors/mysql.md`:
 * integers by width and signedness (MEDIUMINT is int32, YEAR uint16),
 * DECIMAL exact, BIT as bytes, ENUM/SET as strings, GEOMETRY as WKB,
 * binary strings as bytes, JSON as json.
 */
export function toLogicalType(column: ColumnDescriptor): LogicalType {
  const signed = !column.unsigned;
  switch (column.type) {
    case MysqlType.TINY:
      return { kind: "int", bits: 8, signed };
    case MysqlType.SHORT:
      return { kind: "int", bits: 16, signed };
    case MysqlType.INT24:
    case MysqlType.LONG:
      return { kind: "int", bits: 32, signed };
    case MysqlType.LONGLONG:
      return { kind: "int", bits: 64, signed };
    case MysqlType.YEAR:
      return { kind: "int", bits: 16, signed: false };
    case MysqlType.FLOAT:
      return { kind: "float", bits: 32 };
    case MysqlType.DOUBLE:
      return { kind: "float", bits: 64 };
    case MysqlType.NEWDECIMAL:
    case MysqlType.DECIMAL:
      return { kind: "decimal", precision: column.meta, scale: column.meta2 };
    case MysqlType.DATE:
    case MysqlType.NEWDATE:
      return { kind: "date" };
    case MysqlType.TIME:
    case MysqlType.TIME2:
      // a signed duration up to ±838:59:59, not a time of day
      return { kind: "interval" };
    case MysqlType.DATETIME:
    case MysqlType.DATETIME2:
      return { kind: "timestamp", precision: column.type === MysqlType.DATETIME2 ? column.meta : 0, withZone: false };
    case MysqlType.TIMESTAMP:
    case MysqlType.TIMESTAMP2:
      return { kind: "timestamp", precision: column.type === MysqlType.TIMESTAMP2 ? column.meta : 0, withZone: true };
    case MysqlType.BIT:
      return { kind: "bytes", maxLength: column.meta2 };
    case MysqlType.JSON:
      return { kind: "json" };
    case MysqlType.GEOMETRY:
      return { kind: "geometry" };
    case MysqlType.ENUM:
    case MysqlType.SET:
      return stringOrEnum(column);
    case MysqlType.STRING:
    case MysqlType.VAR_STRING:
    case MysqlType.VARCHAR: {
      if (column.realType === MysqlType.ENUM || column.realType === MysqlType.SET) return stringOrEnum(column);
      if (column.json) return { kind: "json" };
      if (column.charset === "binary") return { kind: "bytes", maxLength: column.meta };
      return { kind: "string", maxLength: Math.floor(column.meta / column.maxBytesPerChar) };
    }
    case MysqlType.BLOB:
    case MysqlType.TINY_BLOB:
    case MysqlType.MEDIUM_BLOB:
    case MysqlType.LONG_BLOB:
      if (column.json) return { kind: "json" };
      return column.charset === "binary" ? { kind: "bytes" } : { kind: "string" };
    default:
      return { kind: "bytes" };
  }
}

function stringOrEnum(column: ColumnDescriptor): LogicalType {
  if (column.realType === MysqlType.ENUM && column.members !== undefined) return { kind: "string", enumValues: column.members };
  return { kind: "string" };
}
