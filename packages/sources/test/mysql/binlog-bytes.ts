import { binlogCrc32 } from "../../src/mysql/binlog-event-decoder.js";

/** Test-side writers for binlog bytes, built from the published MySQL format (libbinlogevents, json_binary.h), independent of the decoder. */

export function packed(n: number): Buffer {
  if (n < 251) return Buffer.from([n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = 0xfc;
    b.writeUInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(4);
  b[0] = 0xfd;
  b.writeUIntLE(n, 1, 3);
  return b;
}

export function lenString(s: string | Buffer): Buffer {
  const bytes = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  return Buffer.concat([packed(bytes.length), bytes]);
}

/** A v4 event: 19-byte header, body, CRC32 when `checksum`. */
export function binlogEvent(type: number, body: Buffer, options: { checksum?: boolean; timestamp?: number; serverId?: number; nextPosition?: number } = {}): Buffer {
  const checksum = options.checksum ?? true;
  const header = Buffer.alloc(19);
  header.writeUInt32LE(options.timestamp ?? 1_700_000_000, 0);
  header.writeUInt8(type, 4);
  header.writeUInt32LE(options.serverId ?? 1, 5);
  header.writeUInt32LE(19 + body.length + (checksum ? 4 : 0), 9);
  header.writeUInt32LE(options.nextPosition ?? 1000, 13);
  const event = Buffer.concat([header, body]);
  if (!checksum) return event;
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(binlogCrc32(event), 0);
  return Buffer.concat([event, crc]);
}

/** FORMAT_DESCRIPTION of a MySQL 8 server: post-header lengths 8 for TABLE_MAP, 10 for v2 rows events; checksum alg CRC32. */
export function formatDescription(serverVersion: string): Buffer {
  const version = Buffer.alloc(50);
  version.write(serverVersion, "latin1");
  const postHeaders = Buffer.alloc(41);
  postHeaders[19 - 1] = 8;
  for (const t of [30, 31, 32, 39]) postHeaders[t - 1] = 10;
  const head = Buffer.alloc(2);
  head.writeUInt16LE(4, 0);
  const created = Buffer.alloc(4);
  const body = Buffer.concat([head, version, created, Buffer.from([19]), postHeaders, Buffer.from([1])]);
  return binlogEvent(15, body);
}

export interface TestColumn {
  readonly name: string;
  readonly type: number;
  readonly meta: Buffer;
  readonly unsigned?: boolean;
  readonly charset?: number;
  readonly nullable?: boolean;
}

const NUMERIC = new Set([1, 2, 3, 4, 5, 8, 9, 246]);
const CHARACTER = new Set([15, 253, 254, 252]);

/** TABLE_MAP with MySQL 8 optional metadata: SIGNEDNESS, COLUMN_CHARSET, COLUMN_NAME, SIMPLE_PRIMARY_KEY. */
export function tableMap(o: { tableId: number; database: string; table: string; columns: readonly TestColumn[]; primaryKey: readonly number[] }): Buffer {
  const id = Buffer.alloc(8);
  id.writeUIntLE(o.tableId, 0, 6);
  const names = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s), Buffer.from([0])]);
  const types = Buffer.from(o.columns.map((c) => c.type));
  const meta = Buffer.concat(o.columns.map((c) => c.meta));
  const nulls = Buffer.alloc((o.columns.length + 7) >> 3);
  o.columns.forEach((c, i) => {
    if (c.nullable !== false) nulls[i >> 3] = (nulls[i >> 3] ?? 0) | (1 << (i & 7));
  });
  const numeric = o.columns.filter((c) => NUMERIC.has(c.type));
  const sign = Buffer.alloc((numeric.length + 7) >> 3);
  numeric.forEach((c, i) => {
    if (c.unsigned === true) sign[i >> 3] = (sign[i >> 3] ?? 0) | (0x80 >> (i & 7));
  });
  const charsets = Buffer.concat(o.columns.filter((c) => CHARACTER.has(c.type)).map((c) => packed(c.charset ?? 255)));
  const tlv = (t: number, v: Buffer): Buffer => Buffer.concat([Buffer.from([t]), packed(v.length), v]);
  const optional = Buffer.concat([
    tlv(1, sign),
    tlv(3, charsets),
    tlv(4, Buffer.concat(o.columns.map((c) => lenString(c.name)))),
    tlv(8, Buffer.concat(o.primaryKey.map((k) => packed(k)))),
  ]);
  return binlogEvent(19, Buffer.concat([id, names(o.database), names(o.table), packed(o.columns.length), types, packed(meta.length), meta, nulls, optional]));
}

/** A v2 rows event body around pre-encoded row images. */
export function rowsEventV2(type: number, o: { tableId: number; columnCount: number; images: Buffer; extra?: Buffer; update?: boolean }): Buffer {
  const head = Buffer.alloc(8);
  head.writeUIntLE(o.tableId, 0, 6);
  head.writeUInt16LE(1, 6); // STMT_END
  const extra = o.extra ?? Buffer.alloc(0);
  const extraLength = Buffer.alloc(2);
  extraLength.writeUInt16LE(2 + extra.length, 0);
  const all = Buffer.alloc((o.columnCount + 7) >> 3, 0xff);
  if (o.columnCount % 8 !== 0) all[all.length - 1] = (1 << o.columnCount % 8) - 1;
  return binlogEvent(type, Buffer.concat([head, extraLength, extra, packed(o.columnCount), all, ...(o.update === true ? [all] : []), o.images]));
}

// ---- MySQL binary JSON writer (json_binary.h) ----

export type J = null | boolean | number | bigint | string | J[] | { [k: string]: J } | { opaque: number; data: Buffer } | { double: number };

/** Encodes a value as a binary JSON document (type byte + value). `large` forces 32-bit containers. */
export function jsonDocument(value: J, large = false): Buffer {
  const [type, bytes] = encodeValue(value, large);
  return Buffer.concat([Buffer.from([type]), bytes]);
}

function varLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function encodeValue(value: J, large: boolean): [number, Buffer] {
  if (value === null) return [4, Buffer.from([0])];
  if (value === true) return [4, Buffer.from([1])];
  if (value === false) return [4, Buffer.from([2])];
  if (typeof value === "bigint") {
    const b = Buffer.alloc(8);
    if (value > 0x7fffffffffffffffn) {
      b.writeBigUInt64LE(value);
      return [0x0a, b];
    }
    b.writeBigInt64LE(value);
    return [0x09, b];
  }
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= -32768 && value <= 32767) {
      const b = Buffer.alloc(2);
      b.writeInt16LE(value);
      return [0x05, b];
    }
    if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(value);
      return [0x07, b];
    }
    if (Number.isInteger(value) && value >= 0 && value <= 4294967295) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(value);
      return [0x08, b];
    }
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    return [0x0b, b];
  }
  if (typeof value === "string") {
    const s = Buffer.from(value, "utf8");
    return [0x0c, Buffer.concat([varLength(s.length), s])];
  }
  if (Array.isArray(value)) return [large ? 3 : 2, container(value.map((v) => ["", v] as [string, J]), { large, object: false })];
  if ("opaque" in value && "data" in value) return [0x0f, Buffer.concat([Buffer.from([value.opaque as number]), varLength((value.data as Buffer).length), value.data as Buffer])];
  if ("double" in value && Object.keys(value).length === 1 && typeof value.double === "number") {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value.double);
    return [0x0b, b];
  }
  const entries = Object.entries(value as Record<string, J>).sort(([a], [b]) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return [large ? 1 : 0, container(entries, { large, object: true })];
}

function container(entries: [string, J][], o: { large: boolean; object: boolean }): Buffer {
  const w = o.large ? 4 : 2;
  const write = (b: Buffer, v: number, at: number): void => {
    if (o.large) b.writeUInt32LE(v, at);
    else b.writeUInt16LE(v, at);
  };
  const headerSize = 2 * w + (o.object ? entries.length * (w + 2) : 0) + entries.length * (1 + w);
  const keys = entries.map(([k]) => Buffer.from(k, "utf8"));
  const keyBytes = o.object ? Buffer.concat(keys) : Buffer.alloc(0);
  const valueParts: Buffer[] = [];
  const valueEntries = Buffer.alloc(entries.length * (1 + w));
  let offset = headerSize + keyBytes.length;
  entries.forEach(([, v], i) => {
    const [type, bytes] = encodeValue(v, o.large);
    valueEntries[i * (1 + w)] = type;
    const inline = type === 4 || type === 5 || type === 6 || (o.large && (type === 7 || type === 8));
    if (inline) {
      bytes.copy(valueEntries, i * (1 + w) + 1, 0, Math.min(bytes.length, w));
    } else {
      write(valueEntries, offset, i * (1 + w) + 1);
      valueParts.push(bytes);
      offset += bytes.length;
    }
  });
  const head = Buffer.alloc(2 * w + (o.object ? entries.length * (w + 2) : 0));
  write(head, entries.length, 0);
  write(head, offset, w);
  if (o.object) {
    let keyOffset = headerSize;
    keys.forEach((k, i) => {
      write(head, keyOffset, 2 * w + i * (w + 2));
      head.writeUInt16LE(k.length, 2 * w + i * (w + 2) + w);
      keyOffset += k.length;
    });
  }
  return Buffer.concat([head, valueEntries, keyBytes, ...valueParts]);
}

/** A partial-update diff vector: (op, path, value?) entries, 4-byte total length first. */
export function jsonDiffField(diffs: readonly { op: 0 | 1 | 2; path: string; value?: J }[]): Buffer {
  const body = Buffer.concat(
    diffs.map((d) => Buffer.concat([Buffer.from([d.op]), lenString(d.path), ...(d.op === 2 ? [] : [lenString(jsonDocument(d.value ?? null))])])),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return Buffer.concat([length, body]);
}

/** A JSON column value in a row image: 4-byte length + binary document. */
export function jsonField(value: J): Buffer {
  const doc = jsonDocument(value);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(doc.length, 0);
  return Buffer.concat([length, doc]);
}
