import { TextDecoder } from "node:util";
import type { Value } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import { MysqlType, type ColumnDescriptor } from "./mysql-column-type.js";
import { formatMysqlDuration } from "./mysql-duration.js";
import { decodeBinaryJson } from "./mysql-json-decoder.js";

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4] as const;
const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));
// MySQL's latin1 is Windows-1252; bytes 0x80-0x9F differ from ISO-8859-1 (undefined ones map to C1 controls).
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
] as const;
const utf16be = new TextDecoder("utf-16be");
const utf16le = new TextDecoder("utf-16le");

/**
 * Decodes binlog row images and single values into zero-etl values.
 *
 * Pure: reads from a Buffer, writes into the row object the caller hands in,
 * keeps no state between calls except `offset`, the position after the last
 * value read (a field rather than a returned tuple so the hot path allocates
 * nothing but the values themselves).
 */
export class MysqlValueDecoder {
  /** The offset after the last decoded value or row image. */
  offset = 0;

  /**
   * Decodes one row image (null bitmap + values of the present columns)
   * starting at `offset` into `row`; returns the offset after it.
   * `present` is the columns-present bitmap of the rows event (bit i =
   * column i), `presentCount` the number of set bits.
   */
  decodeRow(buf: Buffer, offset: number, options: { columns: readonly ColumnDescriptor[]; present: Buffer; presentCount: number; row: Record<string, Value> }): number {
    const { columns, present, row } = options;
    const nullStart = offset;
    let pos = offset + ((options.presentCount + 7) >>> 3);
    let nullIndex = 0;
    for (let i = 0; i < columns.length; i++) {
      if ((present[i >>> 3] ?? 0) & (1 << (i & 7))) {
        const column = columns[i] as ColumnDescriptor;
        const isNull = ((buf[nullStart + (nullIndex >>> 3)] ?? 0) & (1 << (nullIndex & 7))) !== 0;
        nullIndex++;
        if (isNull) {
          row[column.name] = null;
          continue;
        }
        row[column.name] = this.decodeValue(buf, pos, column);
        pos = this.offset;
      }
    }
    this.offset = pos;
    return pos;
  }

  /** Decodes one non-null value of `column` at `pos`; sets `offset` past it. */
  decodeValue(buf: Buffer, pos: number, column: ColumnDescriptor): Value {
    switch (column.type) {
      case MysqlType.TINY:
        this.offset = pos + 1;
        return column.unsigned ? buf.readUInt8(pos) : buf.readInt8(pos);
      case MysqlType.SHORT:
        this.offset = pos + 2;
        return column.unsigned ? buf.readUInt16LE(pos) : buf.readInt16LE(pos);
      case MysqlType.INT24: {
        this.offset = pos + 3;
        const v = (buf[pos] ?? 0) | ((buf[pos + 1] ?? 0) << 8) | ((buf[pos + 2] ?? 0) << 16);
        return column.unsigned || v < 0x800000 ? v : v - 0x1000000;
      }
      case MysqlType.LONG:
        this.offset = pos + 4;
        return column.unsigned ? buf.readUInt32LE(pos) : buf.readInt32LE(pos);
      case MysqlType.LONGLONG:
        this.offset = pos + 8;
        return column.unsigned ? buf.readBigUInt64LE(pos) : buf.readBigInt64LE(pos);
      case MysqlType.FLOAT:
        this.offset = pos + 4;
        return buf.readFloatLE(pos);
      case MysqlType.DOUBLE:
        this.offset = pos + 8;
        return buf.readDoubleLE(pos);
      case MysqlType.YEAR: {
        this.offset = pos + 1;
        const y = buf.readUInt8(pos);
        return y === 0 ? 0 : 1900 + y;
      }
      case MysqlType.NEWDECIMAL: {
        this.offset = pos + decimalBinarySize(column.meta, column.meta2);
        return decodeDecimal(buf, pos, column.meta, column.meta2);
      }
      case MysqlType.DATE:
      case MysqlType.NEWDATE: {
        this.offset = pos + 3;
        const v = buf.readUIntLE(pos, 3);
        return formatDate(v >>> 9, (v >>> 5) & 15, v & 31);
      }
      case MysqlType.DATETIME2:
        this.offset = pos + 5 + ((column.meta + 1) >>> 1);
        return decodeDatetime2(buf, pos, column.meta);
      case MysqlType.TIMESTAMP2:
        this.offset = pos + 4 + ((column.meta + 1) >>> 1);
        return decodeTimestamp2(buf, pos, column.meta);
      case MysqlType.TIME2:
        this.offset = pos + 3 + ((column.meta + 1) >>> 1);
        return decodeTime2(buf, pos, column.meta);
      case MysqlType.DATETIME: {
        this.offset = pos + 8;
        const v = Number(buf.readBigUInt64LE(pos));
        const date = Math.floor(v / 1_000_000);
        const time = v % 1_000_000;
        const d = formatDate(Math.floor(date / 10_000), Math.floor(date / 100) % 100, date % 100);
        if (d === null) return null;
        return `${d}T${PAD2[Math.floor(time / 10_000)]}:${PAD2[Math.floor(time / 100) % 100]}:${PAD2[time % 100]}`;
      }
      case MysqlType.TIMESTAMP: {
        this.offset = pos + 4;
        const seconds = buf.readUInt32LE(pos);
        return seconds === 0 ? null : formatEpoch(seconds, 0, 0);
      }
      case MysqlType.TIME: {
        this.offset = pos + 3;
        const v = buf.readIntLE(pos, 3);
        const a = Math.abs(v);
        return formatMysqlDuration(v < 0, Math.floor(a / 10_000), Math.floor(a / 100) % 100, a % 100, 0);
      }
      case MysqlType.BIT: {
        const len = column.meta2;
        this.offset = pos + len;
        return Uint8Array.prototype.slice.call(buf, pos, pos + len);
      }
      case MysqlType.VARCHAR:
      case MysqlType.VAR_STRING: {
        const lenBytes = column.meta < 256 ? 1 : 2;
        const len = lenBytes === 1 ? buf.readUInt8(pos) : buf.readUInt16LE(pos);
        const start = pos + lenBytes;
        this.offset = start + len;
        return decodeText(buf, start, start + len, column);
      }
      case MysqlType.STRING:
      case MysqlType.ENUM:
      case MysqlType.SET:
        return this.decodeStringLike(buf, pos, column);
      case MysqlType.BLOB:
      case MysqlType.TINY_BLOB:
      case MysqlType.MEDIUM_BLOB:
      case MysqlType.LONG_BLOB:
      case MysqlType.GEOMETRY:
      case MysqlType.JSON: {
        const lenBytes = column.meta;
        const len = lenBytes === 2 ? buf.readUInt16LE(pos) : lenBytes === 4 ? buf.readUInt32LE(pos) : buf.readUIntLE(pos, lenBytes);
        const start = pos + lenBytes;
        this.offset = start + len;
        if (column.type === MysqlType.GEOMETRY) return Uint8Array.prototype.slice.call(buf, start + 4, start + len);
        if (column.type === MysqlType.JSON) return decodeBinaryJson(buf, start, start + len);
        return decodeText(buf, start, start + len, column);
      }
      default:
        throw new ZeroEtlError(`mysql column ${column.name} has unsupported binlog type ${column.type}`, { code: "schema-unsupported" });
    }
  }

  private decodeStringLike(buf: Buffer, pos: number, column: ColumnDescriptor): Value {
    if (column.realType === MysqlType.ENUM) {
      const len = column.meta2;
      const index = buf.readUIntLE(pos, len);
      this.offset = pos + len;
      if (index === 0) return "";
      return column.members?.[index - 1] ?? String(index);
    }
    if (column.realType === MysqlType.SET) {
      const len = column.meta2;
      this.offset = pos + len;
      const members = column.members ?? [];
      let out = "";
      for (let byte = 0; byte < len; byte++) {
        const bits = buf[pos + byte] ?? 0;
        if (bits === 0) continue;
        for (let bit = 0; bit < 8; bit++) {
          if (bits & (1 << bit)) {
            const name = members[byte * 8 + bit] ?? String(byte * 8 + bit + 1);
            out = out === "" ? name : `${out},${name}`;
          }
        }
      }
      return out;
    }
    const lenBytes = column.meta < 256 ? 1 : 2;
    const len = lenBytes === 1 ? buf.readUInt8(pos) : buf.readUInt16LE(pos);
    const start = pos + lenBytes;
    this.offset = start + len;
    if (column.charset === "binary" && len < column.meta) {
      // BINARY(n) is stored without its trailing zero padding; SELECT returns it padded.
      const out = new Uint8Array(column.meta);
      out.set(buf.subarray(start, start + len));
      return out;
    }
    return decodeText(buf, start, start + len, column);
  }
}

/** Node's Buffer slice primitives (behind `toString`), called directly to skip its argument normalisation per value. */
interface FastSlices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

/** Decodes character data in the column's charset; binary columns give a copy of the bytes. */
export function decodeText(buf: Buffer, start: number, end: number, column: ColumnDescriptor): string | Uint8Array {
  switch (column.charset) {
    case "utf8":
      return (buf as unknown as FastSlices).utf8Slice(start, end);
    case "ascii":
      return (buf as unknown as FastSlices).latin1Slice(start, end);
    case "latin1":
      return decodeCp1252(buf, start, end);
    case "utf16":
      return utf16be.decode(buf.subarray(start, end));
    case "utf16le":
      return utf16le.decode(buf.subarray(start, end));
    case "utf32": {
      let out = "";
      for (let p = start; p + 4 <= end; p += 4) out += String.fromCodePoint(buf.readUInt32BE(p));
      return out;
    }
    case "binary":
      return Uint8Array.prototype.slice.call(buf, start, end);
    default:
      if (column.json) return buf.toString("utf8", start, end);
      if (column.encoding !== undefined) return decoderFor(column.encoding).decode(buf.subarray(start, end));
      return Uint8Array.prototype.slice.call(buf, start, end);
  }
}

const textDecoders = new Map<string, TextDecoder>();

function decoderFor(encoding: string): TextDecoder {
  let decoder = textDecoders.get(encoding);
  if (decoder === undefined) {
    decoder = new TextDecoder(encoding);
    textDecoders.set(encoding, decoder);
  }
  return decoder;
}

/** Decodes Windows-1252 (MySQL `latin1`); plain ISO-8859-1 slicing when no byte falls in 0x80-0x9F. */
export function decodeCp1252(buf: Buffer, start: number, end: number): string {
  let special = false;
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0;
    if (b >= 0x80 && b < 0xa0) {
      special = true;
      break;
    }
  }
  if (!special) return (buf as unknown as FastSlices).latin1Slice(start, end);
  let out = "";
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0;
    out += String.fromCharCode(b >= 0x80 && b < 0xa0 ? (CP1252_HIGH[b - 0x80] ?? b) : b);
  }
  return out;
}

/** Bytes of a packed binary DECIMAL(precision, scale). */
export function decimalBinarySize(precision: number, scale: number): number {
  const intg = precision - scale;
  return Math.floor(intg / 9) * 4 + (DIG2BYTES[intg % 9] ?? 0) + Math.floor(scale / 9) * 4 + (DIG2BYTES[scale % 9] ?? 0);
}

/**
 * Decodes MySQL's packed binary DECIMAL into a decimal string with exactly
 * `scale` fraction digits (as MySQL prints it), e.g. `-12.500`.
 */
export function decodeDecimal(buf: Uint8Array, offset: number, precision: number, scale: number): string {
  const intg = precision - scale;
  const intg0 = (intg / 9) | 0;
  const intg0x = intg % 9;
  const frac0 = (scale / 9) | 0;
  const frac0x = scale % 9;
  const mask = ((buf[offset] ?? 0) & 0x80) === 0 ? 0xff : 0;
  // The sign bit is flipped in the first byte; negative values have every byte inverted.
  let pos = offset;
  let first = 0x80;
  let integer = "";
  let v = 0;
  for (let n = DIG2BYTES[intg0x] ?? 0; n > 0; n--) {
    v = v * 256 + (((buf[pos++] ?? 0) ^ mask) ^ first);
    first = 0;
  }
  if (v !== 0) integer = String(v);
  for (let g = 0; g < intg0; g++) {
    v = 0;
    for (let n = 0; n < 4; n++) {
      v = v * 256 + (((buf[pos++] ?? 0) ^ mask) ^ first);
      first = 0;
    }
    if (integer !== "") integer += pad9(v);
    else if (v !== 0) integer = String(v);
  }
  if (integer === "") integer = "0";
  if (scale === 0) return mask === 0 ? integer : `-${integer}`;
  let fraction = "";
  for (let g = 0; g < frac0; g++) {
    v = 0;
    for (let n = 0; n < 4; n++) {
      v = v * 256 + (((buf[pos++] ?? 0) ^ mask) ^ first);
      first = 0;
    }
    fraction += pad9(v);
  }
  if (frac0x > 0) {
    v = 0;
    for (let n = DIG2BYTES[frac0x] ?? 0; n > 0; n--) {
      v = v * 256 + (((buf[pos++] ?? 0) ^ mask) ^ first);
      first = 0;
    }
    const digits = String(v);
    fraction += digits.length < frac0x ? "000000000".slice(0, frac0x - digits.length) + digits : digits;
  }
  return mask === 0 ? `${integer}.${fraction}` : `-${integer}.${fraction}`;
}

function pad9(v: number): string {
  const digits = String(v);
  return digits.length < 9 ? "000000000".slice(digits.length) + digits : digits;
}

/** Reads the fractional-seconds part of a temporal2 value as microseconds (signedness handled by the caller). */
function readFraction(buf: Buffer, pos: number, fsp: number): number {
  switch (fsp) {
    case 0:
      return 0;
    case 1:
    case 2:
      return buf.readUInt8(pos) * 10_000;
    case 3:
    case 4:
      return buf.readUInt16BE(pos) * 100;
    default:
      return buf.readUIntBE(pos, 3);
  }
}

function fractionText(micros: number, fsp: number): string {
  if (fsp === 0) return "";
  return `.${String(micros).padStart(6, "0").slice(0, fsp)}`;
}

/** DATETIME2: 5 bytes big-endian (offset 2^39) + fraction; zero dates give null. */
export function decodeDatetime2(buf: Buffer, pos: number, fsp: number): string | null {
  const intpart = buf.readUIntBE(pos, 5) - 0x8000000000;
  const frac = readFraction(buf, pos + 5, fsp);
  const ymd = Math.floor(intpart / 0x20000);
  const hms = intpart % 0x20000;
  const ym = ymd >>> 5;
  const date = formatDate(Math.floor(ym / 13), ym % 13, ymd & 31);
  if (date === null) return null;
  return `${date}T${PAD2[hms >>> 12]}:${PAD2[(hms >>> 6) & 63]}:${PAD2[hms & 63]}${fractionText(frac, fsp)}`;
}

/** TIMESTAMP2: 4 bytes big-endian seconds since the epoch + fraction, rendered in UTC with `Z`; zero gives null. */
export function decodeTimestamp2(buf: Buffer, pos: number, fsp: number): string | null {
  const seconds = buf.readUInt32BE(pos);
  const frac = readFraction(buf, pos + 4, fsp);
  if (seconds === 0 && frac === 0) return null;
  return formatEpoch(seconds, frac, fsp);
}

/** TIME2: 3 bytes big-endian (offset 2^23) + fraction; may be negative and beyond 24 hours, so it is a duration (see {@link formatMysqlDuration}). */
export function decodeTime2(buf: Buffer, pos: number, fsp: number): string {
  let packed: number;
  if (fsp >= 5) {
    packed = buf.readUIntBE(pos, 6) - 0x800000000000;
  } else {
    let intpart = buf.readUIntBE(pos, 3) - 0x800000;
    let frac = 0;
    if (fsp === 1 || fsp === 2) {
      frac = buf.readUInt8(pos + 3);
      if (intpart < 0 && frac !== 0) {
        intpart++;
        frac -= 0x100;
      }
      frac *= 10_000;
    } else if (fsp === 3 || fsp === 4) {
      frac = buf.readUInt16BE(pos + 3);
      if (intpart < 0 && frac !== 0) {
        intpart++;
        frac -= 0x10000;
      }
      frac *= 100;
    }
    packed = intpart * 0x1000000 + frac;
  }
  const negative = packed < 0;
  const abs = Math.abs(packed);
  const hms = Math.floor(abs / 0x1000000);
  const micros = abs % 0x1000000;
  const hour = (hms >>> 12) & 0x3ff;
  return formatMysqlDuration(negative, hour, (hms >>> 6) & 63, hms & 63, micros);
}

/** `YYYY-MM-DD`, or null for zero dates and dates with a zero month or day (MySQL's "zero date" policy, see the connector doc). */
export function formatDate(year: number, month: number, day: number): string | null {
  if (month === 0 || day === 0) return null;
  return `${String(year).padStart(4, "0")}-${PAD2[month]}-${PAD2[day]}`;
}

/** Seconds since the epoch (UTC) plus microseconds as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. */
export function formatEpoch(seconds: number, micros: number, fsp: number): string {
  const days = Math.floor(seconds / 86_400);
  const sod = seconds - days * 86_400;
  // Civil-from-days (proleptic Gregorian), avoiding a Date allocation per value.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(sod / 3600);
  const minute = Math.floor(sod / 60) % 60;
  return `${String(year).padStart(4, "0")}-${PAD2[month]}-${PAD2[day]}T${PAD2[hour]}:${PAD2[minute]}:${PAD2[sod % 60]}${fractionText(micros, fsp)}Z`;
}
