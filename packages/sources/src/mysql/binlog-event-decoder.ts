import * as zlib from "node:zlib";
import type { Row, Value } from "@zero-etl/core";
import { ZeroEtlError } from "@zero-etl/core";
import { MysqlType, charsetKind, encodingOf, isCharacterType, isNumericType, type ColumnDescriptor, type MysqlCharset } from "./mysql-column-type.js";
import { applyJsonDiffs, parseBinaryJson, readJsonDiffs, renderJson } from "./mysql-json-decoder.js";
import { MysqlValueDecoder } from "./mysql-value-decoder.js";

/** Binlog event type codes (MySQL `Log_event_type` and MariaDB extensions). */
export const BinlogEventType = {
  QUERY: 2,
  STOP: 3,
  ROTATE: 4,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  TABLE_MAP: 19,
  WRITE_ROWS_V1: 23,
  UPDATE_ROWS_V1: 24,
  DELETE_ROWS_V1: 25,
  HEARTBEAT: 27,
  ROWS_QUERY: 29,
  WRITE_ROWS_V2: 30,
  UPDATE_ROWS_V2: 31,
  DELETE_ROWS_V2: 32,
  GTID: 33,
  ANONYMOUS_GTID: 34,
  PREVIOUS_GTIDS: 35,
  PARTIAL_UPDATE_ROWS: 39,
  HEARTBEAT_V2: 41,
  MARIADB_ANNOTATE_ROWS: 160,
  MARIADB_BINLOG_CHECKPOINT: 161,
  MARIADB_GTID: 162,
  MARIADB_GTID_LIST: 163,
} as const;

/** The common v4 event header (19 bytes). */
export interface BinlogEventHeader {
  /** Seconds since the epoch when the statement started (commit time for GTID/XID events). */
  readonly timestamp: number;
  readonly type: number;
  readonly serverId: number;
  readonly eventSize: number;
  /** Offset of the next event in the binlog file (0 for artificial events). */
  readonly nextPosition: number;
}

/** A decoded TABLE_MAP: the table's columns as the binlog describes them at this point of the log. */
export interface TableMap {
  readonly tableId: number;
  readonly database: string;
  readonly table: string;
  readonly columns: readonly ColumnDescriptor[];
  /** Primary-key column names from the optional metadata, in key order (empty when absent). */
  readonly primaryKey: readonly string[];
  /** Whether the table is selected; rows of unselected tables are skipped undecoded. */
  readonly selected: boolean;
  /** The raw body after the table id; equal bytes mean an unchanged table definition. */
  readonly signature: Buffer;
  /**
   * MariaDB LONGTEXT columns the table, as last introspected, does not have
   * (dropped or renamed since these rows were written): the binlog cannot say
   * whether one was MariaDB's JSON alias, so its type is unknown. Absent when none.
   */
  readonly untyped?: readonly string[];
}

/** A decoded binlog event, discriminated on `kind`. */
export type BinlogEvent =
  | { readonly kind: "rotate"; readonly header: BinlogEventHeader; readonly file: string; readonly position: number }
  | { readonly kind: "format"; readonly header: BinlogEventHeader; readonly serverVersion: string; readonly checksum: boolean }
  | { readonly kind: "table-map"; readonly header: BinlogEventHeader; readonly map: TableMap }
  | {
      readonly kind: "rows";
      readonly header: BinlogEventHeader;
      readonly op: "insert" | "update" | "delete";
      readonly map: TableMap;
      /** Row images; for updates alternately before and after. Empty when the table is not selected. */
      readonly rows: readonly Row[];
      /** The STMT_END flag: the last rows event of a statement. */
      readonly statementEnd: boolean;
    }
  | { readonly kind: "query"; readonly header: BinlogEventHeader; readonly database: string; readonly query: string }
  | { readonly kind: "xid"; readonly header: BinlogEventHeader; readonly xid: bigint }
  | { readonly kind: "gtid"; readonly header: BinlogEventHeader; readonly gtid: string; readonly flavor: "mariadb" | "mysql"; readonly standalone: boolean }
  | { readonly kind: "gtid-list"; readonly header: BinlogEventHeader; readonly gtids: string; readonly flavor: "mariadb" | "mysql" }
  | { readonly kind: "heartbeat"; readonly header: BinlogEventHeader; readonly file: string }
  | { readonly kind: "annotate"; readonly header: BinlogEventHeader; readonly query: string }
  | { readonly kind: "other"; readonly header: BinlogEventHeader };

/** A collation's charset, as `information_schema.COLLATIONS` and `CHARACTER_SETS` say. */
export interface CollationInfo {
  readonly charset: MysqlCharset;
  readonly maxBytesPerChar: number;
  /** TextDecoder label for charsets of kind `other`. */
  readonly encoding?: string;
}

/** Options of {@link BinlogEventDecoder}. */
export interface BinlogEventDecoderOptions {
  /** Whether events carry a trailing CRC32 until a FORMAT_DESCRIPTION says otherwise (the server's `binlog_checksum`). */
  readonly checksum: boolean;
  /** Verify CRC32 checksums (default true); a mismatch throws. */
  readonly verifyChecksum?: boolean;
  /** Server flavour: decides the SIGNEDNESS/charset column rules that differ. */
  readonly flavor: "mariadb" | "mysql";
  /** Collation id to charset; unknown ids decode as utf8mb4. */
  readonly collations?: ReadonlyMap<number, CollationInfo>;
  /** Which tables to decode rows for; all when absent. */
  readonly isSelected?: (database: string, table: string) => boolean;
  /**
   * Column facts the binlog cannot carry: names when `binlog_row_metadata`
   * is not FULL, and which columns are MariaDB JSON aliases (LONGTEXT).
   */
  readonly columnHints?: (database: string, table: string) => { readonly names?: readonly string[]; readonly json?: ReadonlySet<string> } | undefined;
}

const UTF8MB4: CollationInfo = { charset: "utf8", maxBytesPerChar: 4 };
const crc32: ((data: Uint8Array) => number) | undefined = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
let crcTable: Uint32Array | undefined;

/** CRC32 (ISO-HDLC, as the binlog uses), from zlib when Node has it. */
export function binlogCrc32(data: Uint8Array): number {
  if (crc32 !== undefined) return crc32(data) >>> 0;
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = (crcTable[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Pure binlog event decoder: bytes in, events out. Keeps the state the
 * format needs between events (the FORMAT_DESCRIPTION's checksum and
 * post-header lengths, the table maps by id) and nothing else; no I/O.
 */
export class BinlogEventDecoder {
  private checksum: boolean;
  private readonly verify: boolean;
  private readonly options: BinlogEventDecoderOptions;
  private readonly tableMaps = new Map<number, TableMap>();
  private readonly values = new MysqlValueDecoder();
  private tableIdSize = 6;

  constructor(options: BinlogEventDecoderOptions) {
    this.options = options;
    this.checksum = options.checksum;
    this.verify = options.verifyChecksum ?? true;
  }

  /** The table map last announced for `tableId`. */
  tableMap(tableId: number): TableMap | undefined {
    return this.tableMaps.get(tableId);
  }

  /** Decodes one event occupying `buf[start, end)` (header included, checksum included when on). */
  decode(buf: Buffer, start: number, end: number): BinlogEvent {
    if (end - start < 19) throw new ZeroEtlError(`binlog event too short (${end - start} bytes)`, { code: "source-failed" });
    const header: BinlogEventHeader = {
      timestamp: buf.readUInt32LE(start),
      type: buf.readUInt8(start + 4),
      serverId: buf.readUInt32LE(start + 5),
      eventSize: buf.readUInt32LE(start + 9),
      nextPosition: buf.readUInt32LE(start + 13),
    };
    if (header.type === BinlogEventType.FORMAT_DESCRIPTION) return this.decodeFormat(buf, start, end, header);
    let bodyEnd = end;
    if (this.checksum) {
      bodyEnd = end - 4;
      if (this.verify) {
        const expected = buf.readUInt32LE(bodyEnd);
        if (binlogCrc32(buf.subarray(start, bodyEnd)) !== expected) {
          throw new ZeroEtlError(`binlog event checksum mismatch (type ${header.type}, next position ${header.nextPosition})`, { code: "source-failed", retryable: true });
        }
      }
    }
    const body = start + 19;
    switch (header.type) {
      case BinlogEventType.ROTATE:
        return { kind: "rotate", header, position: Number(buf.readBigUInt64LE(body)), file: buf.toString("latin1", body + 8, bodyEnd) };
      case BinlogEventType.TABLE_MAP:
        return { kind: "table-map", header, map: this.decodeTableMap(buf, body, bodyEnd) };
      case BinlogEventType.WRITE_ROWS_V1:
      case BinlogEventType.WRITE_ROWS_V2:
        return this.decodeRows(buf, { header, body, end: bodyEnd, op: "insert" });
      case BinlogEventType.UPDATE_ROWS_V1:
      case BinlogEventType.UPDATE_ROWS_V2:
      case BinlogEventType.PARTIAL_UPDATE_ROWS:
        return this.decodeRows(buf, { header, body, end: bodyEnd, op: "update" });
      case BinlogEventType.DELETE_ROWS_V1:
      case BinlogEventType.DELETE_ROWS_V2:
        return this.decodeRows(buf, { header, body, end: bodyEnd, op: "delete" });
      case BinlogEventType.QUERY: {
        const dbLength = buf.readUInt8(body + 8);
        const statusLength = buf.readUInt16LE(body + 11);
        const dbStart = body + 13 + statusLength;
        const database = buf.toString("utf8", dbStart, dbStart + dbLength);
        return { kind: "query", header, database, query: buf.toString("utf8", dbStart + dbLength + 1, bodyEnd) };
      }
      case BinlogEventType.XID:
        return { kind: "xid", header, xid: buf.readBigUInt64LE(body) };
      case BinlogEventType.MARIADB_GTID: {
        const seq = buf.readBigUInt64LE(body);
        const domain = buf.readUInt32LE(body + 8);
        const flags = buf.readUInt8(body + 12);
        return { kind: "gtid", header, flavor: "mariadb", gtid: `${domain}-${header.serverId}-${seq}`, standalone: (flags & 1) !== 0 };
      }
      case BinlogEventType.MARIADB_GTID_LIST: {
        const count = buf.readUInt32LE(body) & 0x0fffffff;
        const parts: string[] = [];
        for (let i = 0; i < count; i++) {
          const p = body + 4 + i * 16;
          parts.push(`${buf.readUInt32LE(p)}-${buf.readUInt32LE(p + 4)}-${buf.readBigUInt64LE(p + 8)}`);
        }
        return { kind: "gtid-list", header, flavor: "mariadb", gtids: parts.join(",") };
      }
      case BinlogEventType.GTID: {
        return { kind: "gtid", header, flavor: "mysql", gtid: `${formatUuid(buf, body + 1)}:${buf.readBigInt64LE(body + 17)}`, standalone: false };
      }
      case BinlogEventType.PREVIOUS_GTIDS:
        return { kind: "gtid-list", header, flavor: "mysql", gtids: decodeMysqlGtidSet(buf, body) };
      case BinlogEventType.HEARTBEAT:
      case BinlogEventType.HEARTBEAT_V2:
        return { kind: "heartbeat", header, file: buf.toString("latin1", body, bodyEnd) };
      case BinlogEventType.MARIADB_ANNOTATE_ROWS:
        return { kind: "annotate", header, query: buf.toString("utf8", body, bodyEnd) };
      case BinlogEventType.ROWS_QUERY:
        return { kind: "annotate", header, query: buf.toString("utf8", body + 1, bodyEnd) };
      default:
        return { kind: "other", header };
    }
  }

  private decodeFormat(buf: Buffer, start: number, end: number, header: BinlogEventHeader): BinlogEvent {
    const body = start + 19;
    const serverVersion = buf.toString("latin1", body + 2, body + 52).replace(/\0.*$/s, "");
    // Servers that know checksums (MySQL >= 5.6.1, MariaDB >= 5.3) append the algorithm byte and a CRC to the FDE itself.
    const checksumCapable = versionAtLeast(serverVersion, /mariadb/i.test(serverVersion) ? [5, 3, 0] : [5, 6, 1]);
    let checksum = false;
    if (checksumCapable) {
      const alg = buf.readUInt8(end - 5);
      checksum = alg === 1;
      if (checksum && this.verify && binlogCrc32(buf.subarray(start, end - 4)) !== buf.readUInt32LE(end - 4)) {
        throw new ZeroEtlError("binlog format description checksum mismatch", { code: "source-failed", retryable: true });
      }
    }
    const postHeaders = body + 57;
    const tableMapPostHeader = buf.readUInt8(postHeaders + BinlogEventType.TABLE_MAP - 1);
    this.tableIdSize = tableMapPostHeader === 6 ? 4 : 6;
    this.checksum = checksum;
    return { kind: "format", header, serverVersion, checksum };
  }

  private readTableId(buf: Buffer, pos: number): number {
    return this.tableIdSize === 6 ? buf.readUIntLE(pos, 6) : buf.readUInt32LE(pos);
  }

  private decodeTableMap(buf: Buffer, body: number, end: number): TableMap {
    const tableId = this.readTableId(buf, body);
    let pos = body + this.tableIdSize + 2;
    const signature = Buffer.from(buf.subarray(pos, end));
    const dbLength = buf.readUInt8(pos);
    const database = buf.toString("utf8", pos + 1, pos + 1 + dbLength);
    pos += 2 + dbLength;
    const tableLength = buf.readUInt8(pos);
    const table = buf.toString("utf8", pos + 1, pos + 1 + tableLength);
    pos += 2 + tableLength;
    const selected = this.options.isSelected?.(database, table) ?? true;
    const previous = this.tableMaps.get(tableId);
    if (previous !== undefined && previous.signature.equals(signature)) return previous;
    if (!selected) {
      const skipped: TableMap = { tableId, database, table, columns: [], primaryKey: [], selected, signature };
      this.tableMaps.set(tableId, skipped);
      return skipped;
    }
    const [count, afterCount] = readPacked(buf, pos);
    pos = afterCount;
    const types = buf.subarray(pos, pos + count);
    pos += count;
    const [metaLength, afterMetaLength] = readPacked(buf, pos);
    pos = afterMetaLength;
    const metaEnd = pos + metaLength;
    const metas: [number, number, number][] = [];
    for (let i = 0; i < count; i++) {
      const type = types[i] ?? 0;
      const [real, meta, meta2, size] = readColumnMeta(buf, pos, type);
      metas.push([real, meta, meta2]);
      pos += size;
    }
    pos = metaEnd;
    const nullBitmap = buf.subarray(pos, pos + ((count + 7) >>> 3));
    pos += (count + 7) >>> 3;
    const optional = readOptionalMetadata(buf, pos, end);
    const hints = this.options.columnHints?.(database, table);
    const names = optional.names ?? hints?.names;
    if (names === undefined || names.length !== count) {
      throw new ZeroEtlError(`table map of ${database}.${table} has no column names; set binlog_row_metadata=FULL`, { code: "schema-unsupported", table: `${database}.${table}` });
    }
    const columns: ColumnDescriptor[] = [];
    let untyped: string[] | undefined;
    let numericIndex = 0;
    let characterIndex = 0;
    let enumSetIndex = 0;
    let enumIndex = 0;
    let setIndex = 0;
    const mariadb = this.options.flavor === "mariadb";
    for (let i = 0; i < count; i++) {
      const type = types[i] ?? 0;
      const [realType, meta, meta2] = metas[i] ?? [type, 0, 0];
      let unsigned = false;
      if (isNumericType(type) && (mariadb || (type !== MysqlType.YEAR && type !== MysqlType.DECIMAL))) {
        unsigned = optional.signedness !== undefined && (((optional.signedness[numericIndex >>> 3] ?? 0) >> (7 - (numericIndex & 7))) & 1) === 1;
        numericIndex++;
      }
      let collation = 0;
      const isEnumOrSet = realType === MysqlType.ENUM || realType === MysqlType.SET;
      if (isCharacterType(type, realType, mariadb)) {
        collation = optional.columnCharsets?.[characterIndex] ?? optional.charsetOverrides?.get(characterIndex) ?? optional.defaultCharset ?? 0;
        characterIndex++;
      } else if (isEnumOrSet) {
        collation = optional.enumSetColumnCharsets?.[enumSetIndex] ?? optional.enumSetOverrides?.get(enumSetIndex) ?? optional.enumSetDefaultCharset ?? 0;
        enumSetIndex++;
      }
      let members: readonly string[] | undefined;
      if (realType === MysqlType.ENUM) members = optional.enumValues?.[enumIndex++];
      else if (realType === MysqlType.SET) members = optional.setValues?.[setIndex++];
      const info = collation === 0 ? UTF8MB4 : (this.options.collations?.get(collation) ?? (collation === 63 ? { charset: "binary" as const, maxBytesPerChar: 1 } : UTF8MB4));
      const name = names[i] ?? `col_${i}`;
      const column: ColumnDescriptor = {
        name,
        type: type === MysqlType.STRING && isEnumOrSet ? realType : type,
        realType,
        meta,
        meta2,
        unsigned,
        nullable: (((nullBitmap[i >>> 3] ?? 0) >> (i & 7)) & 1) === 1,
        collation,
        charset: info.charset,
        maxBytesPerChar: info.maxBytesPerChar,
        ...(info.encoding === undefined ? {} : { encoding: info.encoding }),
        json: type === MysqlType.JSON || (hints?.json?.has(name) ?? false),
        ...(members === undefined ? {} : { members }),
      };
      columns.push(column);
      // MariaDB writes its JSON as LONGTEXT (a BLOB of pack length 4); only introspection of the column tells them apart
      if (mariadb && type === MysqlType.BLOB && meta === 4 && info.charset !== "binary" && !column.json && hints?.names !== undefined && !hints.names.includes(name)) {
        (untyped ??= []).push(name);
      }
    }
    const primaryKey = (optional.primaryKey ?? []).map((index) => columns[index]?.name ?? `col_${index}`);
    const map: TableMap = { tableId, database, table, columns, primaryKey, selected, signature, ...(untyped === undefined ? {} : { untyped }) };
    this.tableMaps.set(tableId, map);
    return map;
  }

  private decodeRows(buf: Buffer, args: { header: BinlogEventHeader; body: number; end: number; op: "insert" | "update" | "delete" }): BinlogEvent {
    const { header, body, end, op } = args;
    const tableId = this.readTableId(buf, body);
    let pos = body + this.tableIdSize;
    const flags = buf.readUInt16LE(pos);
    pos += 2;
    const v2 = header.type >= BinlogEventType.WRITE_ROWS_V2 && header.type <= BinlogEventType.PARTIAL_UPDATE_ROWS;
    if (v2) pos += buf.readUInt16LE(pos);
    const map = this.tableMaps.get(tableId);
    if (map === undefined) throw new ZeroEtlError(`rows event for unknown table id ${tableId}`, { code: "source-failed" });
    const statementEnd = (flags & 1) !== 0;
    if (!map.selected) return { kind: "rows", header, op, map, rows: [], statementEnd };
    const [count, afterCount] = readPacked(buf, pos);
    pos = afterCount;
    const bitmapBytes = (count + 7) >>> 3;
    const present = buf.subarray(pos, pos + bitmapBytes);
    const presentCount = popcount(present);
    pos += bitmapBytes;
    let presentAfter = present;
    let presentAfterCount = presentCount;
    if (op === "update") {
      presentAfter = buf.subarray(pos, pos + bitmapBytes);
      presentAfterCount = popcount(presentAfter);
      pos += bitmapBytes;
    }
    const columns = map.columns;
    const rows: Row[] = [];
    const values = this.values;
    if (header.type === BinlogEventType.PARTIAL_UPDATE_ROWS) {
      while (pos < end) {
        const before: Record<string, Value> = {};
        const jsonBefore = new Map<string, JsonSpan>();
        pos = decodeImageWithJson(buf, { pos, columns, present, presentCount, row: before, values, jsonBefore });
        const [options, afterOptions] = readPacked(buf, pos);
        pos = afterOptions;
        let partial: Buffer | undefined;
        if ((options & 1) !== 0) {
          let jsonCount = 0;
          for (let i = 0; i < columns.length; i++) if ((columns[i] as ColumnDescriptor).type === MysqlType.JSON && isSet(presentAfter, i)) jsonCount++;
          partial = buf.subarray(pos, pos + ((jsonCount + 7) >>> 3));
          pos += (jsonCount + 7) >>> 3;
        }
        const after: Record<string, Value> = {};
        pos = decodeImageWithJson(buf, { pos, columns, present: presentAfter, presentCount: presentAfterCount, row: after, values, partial, jsonBefore });
        rows.push(before, after);
      }
    } else {
      const decodeOptions = { columns, present, presentCount, row: {} as Record<string, Value> };
      const afterOptions = { columns, present: presentAfter, presentCount: presentAfterCount, row: {} as Record<string, Value> };
      while (pos < end) {
        decodeOptions.row = {};
        pos = values.decodeRow(buf, pos, decodeOptions);
        rows.push(decodeOptions.row);
        if (op === "update") {
          afterOptions.row = {};
          pos = values.decodeRow(buf, pos, afterOptions);
          rows.push(afterOptions.row);
        }
      }
    }
    return { kind: "rows", header, op, map, rows, statementEnd };
  }
}

interface JsonSpan {
  readonly start: number;
  readonly end: number;
}

/** Row image decoding for PARTIAL_UPDATE_ROWS: remembers where before-image JSON values lie and applies diffs to them in the after image. */
function decodeImageWithJson(
  buf: Buffer,
  o: {
    pos: number;
    columns: readonly ColumnDescriptor[];
    present: Buffer;
    presentCount: number;
    row: Record<string, Value>;
    values: MysqlValueDecoder;
    jsonBefore: Map<string, JsonSpan>;
    partial?: Buffer | undefined;
  },
): number {
  const nullStart = o.pos;
  let pos = o.pos + ((o.presentCount + 7) >>> 3);
  let nullIndex = 0;
  let jsonIndex = 0;
  for (let i = 0; i < o.columns.length; i++) {
    if (!isSet(o.present, i)) continue;
    const column = o.columns[i] as ColumnDescriptor;
    const isNull = (((buf[nullStart + (nullIndex >>> 3)] ?? 0) >> (nullIndex & 7)) & 1) === 1;
    nullIndex++;
    const isJson = column.type === MysqlType.JSON;
    const partial = isJson && o.partial !== undefined && isSet(o.partial, jsonIndex);
    if (isJson) jsonIndex++;
    if (isNull) {
      o.row[column.name] = null;
      continue;
    }
    if (partial) {
      const length = buf.readUIntLE(pos, column.meta);
      const start = pos + column.meta;
      pos = start + length;
      const base = o.jsonBefore.get(column.name);
      if (base === undefined) {
        throw new ZeroEtlError(`partial json update of column ${column.name} without its before image; set binlog_row_image=FULL`, { code: "source-failed" });
      }
      const doc = applyJsonDiffs(parseBinaryJson(buf, base.start, base.end), readJsonDiffs(buf, start, pos));
      o.row[column.name] = renderJson(doc);
      continue;
    }
    if (isJson && o.partial === undefined) {
      const length = buf.readUIntLE(pos, column.meta);
      o.jsonBefore.set(column.name, { start: pos + column.meta, end: pos + column.meta + length });
    }
    o.row[column.name] = o.values.decodeValue(buf, pos, column);
    pos = o.values.offset;
  }
  return pos;
}

function isSet(bitmap: Uint8Array, index: number): boolean {
  return (((bitmap[index >>> 3] ?? 0) >> (index & 7)) & 1) === 1;
}

function popcount(bitmap: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bitmap.length; i++) {
    let b = bitmap[i] ?? 0;
    while (b) {
      n += b & 1;
      b >>>= 1;
    }
  }
  return n;
}

/** Reads a length-encoded (packed) integer: returns [value, next offset]. */
export function readPacked(buf: Buffer, pos: number): [number, number] {
  const first = buf.readUInt8(pos);
  if (first < 251) return [first, pos + 1];
  if (first === 0xfc) return [buf.readUInt16LE(pos + 1), pos + 3];
  if (first === 0xfd) return [buf.readUIntLE(pos + 1, 3), pos + 4];
  return [Number(buf.readBigUInt64LE(pos + 1)), pos + 9];
}

/** Per-type TABLE_MAP metadata: [realType, meta, meta2, bytes consumed]. */
function readColumnMeta(buf: Buffer, pos: number, type: number): [number, number, number, number] {
  switch (type) {
    case MysqlType.FLOAT:
    case MysqlType.DOUBLE:
    case MysqlType.BLOB:
    case MysqlType.TINY_BLOB:
    case MysqlType.MEDIUM_BLOB:
    case MysqlType.LONG_BLOB:
    case MysqlType.GEOMETRY:
    case MysqlType.JSON:
    case MysqlType.TIMESTAMP2:
    case MysqlType.DATETIME2:
    case MysqlType.TIME2:
      return [type, buf.readUInt8(pos), 0, 1];
    case MysqlType.VARCHAR:
    case MysqlType.VAR_STRING:
      return [type, buf.readUInt16LE(pos), 0, 2];
    case MysqlType.NEWDECIMAL:
    case MysqlType.DECIMAL:
      return [type, buf.readUInt8(pos), buf.readUInt8(pos + 1), 2];
    case MysqlType.BIT: {
      const bits = buf.readUInt8(pos);
      const bytes = buf.readUInt8(pos + 1);
      return [type, bytes * 8 + bits, bytes + (bits > 0 ? 1 : 0), 2];
    }
    case MysqlType.STRING:
    case MysqlType.ENUM:
    case MysqlType.SET: {
      const b0 = buf.readUInt8(pos);
      const b1 = buf.readUInt8(pos + 1);
      if ((b0 & 0x30) !== 0x30) {
        // Long CHAR columns fold the high bits of the length into the type byte.
        return [b0 | 0x30, b1 | (((b0 & 0x30) ^ 0x30) << 4), 0, 2];
      }
      if (b0 === MysqlType.ENUM || b0 === MysqlType.SET) return [b0, b1, b1, 2];
      return [b0, b1, 0, 2];
    }
    default:
      return [type, 0, 0, 0];
  }
}

interface OptionalMetadata {
  signedness?: Buffer;
  defaultCharset?: number;
  charsetOverrides?: Map<number, number>;
  columnCharsets?: number[];
  names?: string[];
  setValues?: string[][];
  enumValues?: string[][];
  primaryKey?: number[];
  enumSetDefaultCharset?: number;
  enumSetOverrides?: Map<number, number>;
  enumSetColumnCharsets?: number[];
}

function readOptionalMetadata(buf: Buffer, pos: number, end: number): OptionalMetadata {
  const out: OptionalMetadata = {};
  while (pos < end) {
    const type = buf.readUInt8(pos);
    const [length, start] = readPacked(buf, pos + 1);
    const fieldEnd = start + length;
    switch (type) {
      case 1:
        out.signedness = buf.subarray(start, fieldEnd);
        break;
      case 2:
      case 10: {
        const [def, next] = readPacked(buf, start);
        const overrides = new Map<number, number>();
        let p = next;
        while (p < fieldEnd) {
          const [index, a] = readPacked(buf, p);
          const [collation, b] = readPacked(buf, a);
          overrides.set(index, collation);
          p = b;
        }
        if (type === 2) {
          out.defaultCharset = def;
          out.charsetOverrides = overrides;
        } else {
          out.enumSetDefaultCharset = def;
          out.enumSetOverrides = overrides;
        }
        break;
      }
      case 3:
      case 11: {
        const list: number[] = [];
        let p = start;
        while (p < fieldEnd) {
          const [collation, next] = readPacked(buf, p);
          list.push(collation);
          p = next;
        }
        if (type === 3) out.columnCharsets = list;
        else out.enumSetColumnCharsets = list;
        break;
      }
      case 4: {
        const names: string[] = [];
        let p = start;
        while (p < fieldEnd) {
          const [len, next] = readPacked(buf, p);
          names.push(buf.toString("utf8", next, next + len));
          p = next + len;
        }
        out.names = names;
        break;
      }
      case 5:
      case 6: {
        const lists: string[][] = [];
        let p = start;
        while (p < fieldEnd) {
          const [n, next] = readPacked(buf, p);
          p = next;
          const members: string[] = [];
          for (let i = 0; i < n; i++) {
            const [len, s] = readPacked(buf, p);
            members.push(buf.toString("utf8", s, s + len));
            p = s + len;
          }
          lists.push(members);
        }
        if (type === 5) out.setValues = lists;
        else out.enumValues = lists;
        break;
      }
      case 8:
      case 9: {
        const keys: number[] = [];
        let p = start;
        while (p < fieldEnd) {
          const [index, next] = readPacked(buf, p);
          keys.push(index);
          p = next;
          if (type === 9) p = readPacked(buf, p)[1];
        }
        out.primaryKey = keys;
        break;
      }
      default:
        break;
    }
    pos = fieldEnd;
  }
  return out;
}

function formatUuid(buf: Buffer, pos: number): string {
  const hex = buf.toString("hex", pos, pos + 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Decodes a PREVIOUS_GTIDS body to `uuid:1-5:7,uuid2:1-3` (intervals are stored end-exclusive). */
function decodeMysqlGtidSet(buf: Buffer, pos: number): string {
  const sids = Number(buf.readBigUInt64LE(pos));
  let p = pos + 8;
  const parts: string[] = [];
  for (let i = 0; i < sids; i++) {
    const uuid = formatUuid(buf, p);
    const intervals = Number(buf.readBigUInt64LE(p + 16));
    p += 24;
    let text = uuid;
    for (let j = 0; j < intervals; j++) {
      const start = buf.readBigInt64LE(p);
      const endExclusive = buf.readBigInt64LE(p + 8);
      p += 16;
      text += endExclusive - 1n === start ? `:${start}` : `:${start}-${endExclusive - 1n}`;
    }
    parts.push(text);
  }
  return parts.join(",");
}

function versionAtLeast(version: string, wanted: readonly [number, number, number]): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (m === null) return true;
  const got = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) {
    const have = got[i] ?? 0;
    const want = wanted[i] ?? 0;
    if (have !== want) return have > want;
  }
  return true;
}

/** Charset of a collation name's charset, for building {@link BinlogEventDecoderOptions.collations}. */
export function collationInfo(charsetName: string, maxLength: number): CollationInfo {
  const charset = charsetKind(charsetName);
  const encoding = charset === "other" ? encodingOf(charsetName) : undefined;
  return encoding === undefined ? { charset, maxBytesPerChar: Math.max(1, maxLength) } : { charset, maxBytesPerChar: Math.max(1, maxLength), encoding };
}
