import { ZeroEtlError } from "@zero-etl/core";
import { BinlogEventDecoder, GtidState, decodeBinaryJson, decodeDecimal, mysqlPositionCodec, type BinlogEvent } from "@zero-etl/sources/mysql";
import { describe, expect, it } from "vitest";
import { binlogEvent, formatDescription, jsonDiffField, jsonDocument, jsonField, rowsEventV2, tableMap, type J } from "./binlog-bytes.js";

const json = (value: J, large = false): string => {
  const doc = jsonDocument(value, large);
  return decodeBinaryJson(doc, 0, doc.length);
};

const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
};

describe("packed DECIMAL", () => {
  it("decodes the reference vectors of MySQL's decimal.c", () => {
    expect(decodeDecimal(Buffer.from("810DFB38D204D2", "hex"), 0, 14, 4)).toBe("1234567890.1234");
    expect(decodeDecimal(Buffer.from("7EF204C72DFB2D", "hex"), 0, 14, 4)).toBe("-1234567890.1234");
    expect(decodeDecimal(Buffer.from("807B2D", "hex"), 0, 5, 2)).toBe("123.45");
    expect(decodeDecimal(Buffer.from("8000", "hex"), 0, 4, 0)).toBe("0");
  });
});

describe("MySQL binary JSON", () => {
  it("decodes a hand-assembled document", () => {
    // {"a": 1}: small object, count 1, size 12, key entry (offset 11, length 1), value entry (int16 inline 1), key "a".
    const doc = Buffer.from("00" + "0100" + "0c00" + "0b000100" + "050100" + "61", "hex");
    expect(decodeBinaryJson(doc, 0, doc.length)).toBe('{"a": 1}');
    // ["x", 2.5]: small array, count 2; "x" and the double stored after the entries at offsets 10 and 12.
    const arr = Buffer.concat([Buffer.from("02" + "0200" + "1400" + "0c0a00" + "0b0c00" + "0178", "hex"), Buffer.from("0000000000000440", "hex")]);
    expect(decodeBinaryJson(arr, 0, arr.length)).toBe('["x", 2.5]');
  });

  it("renders scalars as MySQL prints them", () => {
    expect(json(null)).toBe("null");
    expect(json(true)).toBe("true");
    expect(json(-5)).toBe("-5");
    expect(json(100_000)).toBe("100000");
    expect(json(3_000_000_000)).toBe("3000000000");
    expect(json(-9223372036854775808n)).toBe("-9223372036854775808");
    expect(json(18446744073709551615n)).toBe("18446744073709551615");
    expect(json(2.5)).toBe("2.5");
    expect(json({ double: 3 })).toBe("3.0");
    expect(json({ double: 1e300 })).toBe("1e300");
    expect(json('quote" back\\ nl\n é 😀')).toBe('"quote\\" back\\\\ nl\\n é 😀"');
  });

  it("renders opaque DECIMAL, temporal and other values", () => {
    expect(json({ opaque: 246, data: Buffer.from([5, 2, 0x80, 0x7b, 0x2d]) })).toBe("123.45");
    const ymd = ((2024n * 13n + 2n) << 5n) | 29n;
    const hms = (12n << 12n) | (34n << 6n) | 56n;
    const datetime = (((ymd << 17n) | hms) << 24n) | 789_000n;
    const date = (ymd << 17n) << 24n;
    const time = (hms << 24n) | 500_000n;
    const packedLE = (v: bigint): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(v);
      return b;
    };
    expect(json({ opaque: 12, data: packedLE(datetime) })).toBe('"2024-02-29 12:34:56.789000"');
    expect(json({ opaque: 7, data: packedLE(datetime) })).toBe('"2024-02-29 12:34:56.789000"');
    expect(json({ opaque: 10, data: packedLE(date) })).toBe('"2024-02-29"');
    expect(json({ opaque: 11, data: packedLE(time) })).toBe('"12:34:56.500000"');
    expect(json({ opaque: 11, data: packedLE(-time) })).toBe('"-12:34:56.500000"');
    expect(json({ opaque: 252, data: Buffer.from([1, 2, 3]) })).toBe('"base64:type252:AQID"');
  });

  it("renders nested objects and arrays in stored (length, then byte) key order, small and large alike", () => {
    const value: J = { bb: [true, false, null, 1, "two", { deep: [[], {}] }], a: 1, c: "x", "": 0 };
    const expected = '{"": 0, "a": 1, "c": "x", "bb": [true, false, null, 1, "two", {"deep": [[], {}]}]}';
    expect(json(value)).toBe(expected);
    expect(json(value, true)).toBe(expected);
    expect(json([])).toBe("[]");
    expect(json({})).toBe("{}");
    expect(json([100_000, -100_000, 70_000], true)).toBe("[100000, -100000, 70000]");
  });

  it("decodes documents larger than 64 KiB (large containers)", () => {
    const big = "x".repeat(70_000);
    const text = json({ big, n: [1, 2, 3] }, true);
    expect(text).toBe(`{"n": [1, 2, 3], "big": "${big}"}`);
  });
});

describe("MySQL 8 binlog events", () => {
  const columns = [
    { name: "id", type: 8, meta: Buffer.alloc(0), unsigned: true, nullable: false },
    { name: "name", type: 15, meta: Buffer.from([0x90, 0x01]), charset: 255 },
    { name: "doc", type: 245, meta: Buffer.from([4]) },
    { name: "g", type: 255, meta: Buffer.from([4]) },
    { name: "price", type: 246, meta: Buffer.from([10, 2]) },
  ];
  const varchar = (s: string): Buffer => {
    const bytes = Buffer.from(s, "utf8");
    const len = Buffer.alloc(2);
    len.writeUInt16LE(bytes.length);
    return Buffer.concat([len, bytes]);
  };
  const point = Buffer.concat([Buffer.from([0xe6, 0x10, 0, 0]), Buffer.from("0101000000000000000000F03F0000000000000040", "hex")]);
  const geometry = Buffer.concat([Buffer.from([point.length, 0, 0, 0]), point]);
  const row = (id: bigint, name: string, doc: J): Buffer => Buffer.concat([Buffer.from([0]), u64(id), varchar(name), jsonField(doc), geometry, Buffer.from("8000001363", "hex")]);
  const decoder = (): BinlogEventDecoder =>
    new BinlogEventDecoder({ checksum: true, flavor: "mysql", collations: new Map([[255, { charset: "utf8", maxBytesPerChar: 4 }]]) });
  const decodeAll = (d: BinlogEventDecoder, events: Buffer[]): BinlogEvent[] => events.map((e) => d.decode(e, 0, e.length));

  it("decodes FORMAT_DESCRIPTION, TABLE_MAP metadata and v2 write/update rows with extra data", () => {
    const d = decoder();
    const [fde, map, write, update] = decodeAll(d, [
      formatDescription("8.0.36"),
      tableMap({ tableId: 42, database: "shop", table: "items", columns, primaryKey: [0] }),
      rowsEventV2(30, { tableId: 42, columnCount: 5, images: Buffer.concat([row(18446744073709551615n, "café 😀", { a: [1, 2] }), row(2n, "", null)]), extra: Buffer.from([1, 5, 0]) }),
      rowsEventV2(31, { tableId: 42, columnCount: 5, images: Buffer.concat([row(2n, "", null), row(3n, "z", "s")]), update: true }),
    ]);
    expect(fde).toMatchObject({ kind: "format", serverVersion: "8.0.36", checksum: true });
    if (map?.kind !== "table-map") throw new Error("expected a table map");
    expect(map.map.primaryKey).toEqual(["id"]);
    expect(map.map.columns.map((c) => [c.name, c.unsigned, c.charset, c.json])).toEqual([
      ["id", true, "utf8", false],
      ["name", false, "utf8", false],
      ["doc", false, "utf8", true],
      ["g", false, "utf8", false],
      ["price", false, "utf8", false],
    ]);
    if (write?.kind !== "rows" || update?.kind !== "rows") throw new Error("expected rows events");
    const wkb = new Uint8Array(point.subarray(4));
    expect(write.op).toBe("insert");
    expect(write.statementEnd).toBe(true);
    expect(write.rows.map((r) => ({ ...r, g: new Uint8Array(r.g as Uint8Array) }))).toEqual([
      { id: 18446744073709551615n, name: "café 😀", doc: '{"a": [1, 2]}', g: wkb, price: "19.99" },
      { id: 2n, name: "", doc: "null", g: wkb, price: "19.99" },
    ]);
    expect(update.op).toBe("update");
    expect(update.rows.map((r) => [r.id, r.doc])).toEqual([
      [2n, "null"],
      [3n, '"s"'],
    ]);
  });

  it("applies PARTIAL_UPDATE_ROWS JSON diffs (JSON_SET / JSON_REPLACE / JSON_REMOVE / JSON_ARRAY_INSERT) to the before image", () => {
    const d = decoder();
    const before = { a: 1, b: [1, 2], c: { d: "x", "key with space": true } };
    const afterImage = Buffer.concat([
      Buffer.from([0]),
      u64(7n),
      varchar("n"),
      jsonDiffField([
        { op: 0, path: "$.a", value: 2 },
        { op: 1, path: "$.e", value: "new" },
        { op: 2, path: "$.b[0]" },
        { op: 1, path: "$.b[1]", value: 3 },
        { op: 0, path: "$.c.d", value: null },
        { op: 2, path: '$.c."key with space"' },
      ]),
      geometry,
      Buffer.from("8000001363", "hex"),
    ]);
    const images = Buffer.concat([row(7n, "n", before), Buffer.from([1]), Buffer.from([1]), afterImage]);
    const [, , partial] = decodeAll(d, [
      formatDescription("8.0.36"),
      tableMap({ tableId: 42, database: "shop", table: "items", columns, primaryKey: [0] }),
      rowsEventV2(39, { tableId: 42, columnCount: 5, images, update: true }),
    ]);
    if (partial?.kind !== "rows") throw new Error("expected rows");
    expect(partial.op).toBe("update");
    expect(partial.rows[0]?.doc).toBe('{"a": 1, "b": [1, 2], "c": {"d": "x", "key with space": true}}');
    expect(partial.rows[1]?.doc).toBe('{"a": 2, "b": [2, 3], "c": {"d": null}, "e": "new"}');
    expect(partial.rows[1]?.name).toBe("n");
  });

  it("decodes uuid:N GTID and PREVIOUS_GTIDS events, and rejects a bad checksum", () => {
    const sid = Buffer.from("3E11FA4771CA11E19E33C80AA9429562", "hex");
    const gno = Buffer.alloc(8);
    gno.writeBigInt64LE(23n);
    const previous = Buffer.concat([u64(1n), sid, u64(2n), u64(1n), u64(6n), u64(7n), u64(8n)]);
    const d = decoder();
    const [, gtid, prev] = decodeAll(d, [formatDescription("8.0.36"), binlogEvent(33, Buffer.concat([Buffer.from([1]), sid, gno, Buffer.from([2]), u64(0n), u64(1n)])), binlogEvent(35, previous)]);
    expect(gtid).toMatchObject({ kind: "gtid", flavor: "mysql", gtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:23" });
    expect(prev).toMatchObject({ kind: "gtid-list", gtids: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7" });
    const corrupt = binlogEvent(16, u64(5n));
    corrupt[20] = (corrupt[20] ?? 0) ^ 1;
    expect(() => d.decode(corrupt, 0, corrupt.length)).toThrow(ZeroEtlError);
  });
});

describe("positions and GTID sets", () => {
  it("serializes, parses and orders binlog positions", () => {
    const p = { file: "binlog.000010", offset: 4, gtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7" };
    expect(mysqlPositionCodec.parse(mysqlPositionCodec.serialize(p))).toEqual(p);
    expect(mysqlPositionCodec.parse("mysql-bin.000002:1234")).toEqual({ file: "mysql-bin.000002", offset: 1234 });
    expect(mysqlPositionCodec.compare({ file: "binlog.000009", offset: 999_999 }, { file: "binlog.000010", offset: 4 })).toBeLessThan(0);
    expect(mysqlPositionCodec.compare({ file: "binlog.000010", offset: 200 }, { file: "binlog.000010", offset: 100 })).toBeGreaterThan(0);
    expect(() => mysqlPositionCodec.parse("nonsense")).toThrow(expect.objectContaining({ code: "position-invalid" }));
  });

  it("tracks MariaDB and MySQL GTID sets", () => {
    const maria = new GtidState("0-1-5,1-2-9");
    maria.add("0-1-6");
    expect(maria.toString()).toBe("0-1-6,1-2-9");
    const my = new GtidState("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7");
    my.add("3e11fa47-71ca-11e1-9e33-c80aa9429562:6");
    my.add("aaaaaaaa-71ca-11e1-9e33-c80aa9429562:1");
    expect(my.toString()).toBe("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-7,aaaaaaaa-71ca-11e1-9e33-c80aa9429562:1");
  });
});
