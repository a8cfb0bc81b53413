import type { InsertEvent, UpdateEvent } from "@zero-etl/core";
import { createMysqlSource } from "@zero-etl/sources/mysql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../../test-support/mysql.js";
import { collectBatches, eventsOf, normalize } from "./collect-changes.js";

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe("mysql source: every type round-trips exactly through snapshot and binlog", () => {
  let db: TestMysqlDatabase;
  beforeAll(async () => {
    db = await createTestMysqlDatabase("mytypes");
  });
  afterAll(async () => {
    await db.drop();
  });

  it("decodes the same values from the snapshot and the binlog", async () => {
    await db.query(`CREATE TABLE all_types (
      id INT PRIMARY KEY,
      ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
      bi BIGINT, bu BIGINT UNSIGNED,
      d DECIMAL(65,30), d2 DECIMAL(10,2), d0 DECIMAL(5,0),
      f FLOAT, dbl DOUBLE,
      dt DATETIME(6), dt0 DATETIME, ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), tm0 TIME, tm3 TIME(3), da DATE, y YEAR,
      b64 BIT(64), b3 BIT(3),
      e ENUM('small','medium','large'), s SET('a','b','c','d'),
      vc VARCHAR(50), ch CHAR(5), l1 VARCHAR(20) CHARACTER SET latin1, tx TEXT, ltx LONGTEXT CHARACTER SET latin1,
      bl BLOB, vb VARBINARY(10), bn BINARY(4),
      j JSON, g GEOMETRY, cy VARCHAR(10) CHARACTER SET cp1251, gb VARCHAR(10) CHARACTER SET gbk
    ) ENGINE=InnoDB`);
    const source = createMysqlSource({ url: db.url, pipeline: `types-${db.name}`, serverId: 2_000_001 + Math.floor(Math.random() * 10_000) });
    try {
      const before = await source.currentPosition();
      await db.query(`SET SESSION sql_mode = ''`);
      await db.query(`INSERT INTO all_types VALUES
        (1, -128, 255, -32768, -8388608, 16777215, -2147483648, 4294967295,
         -9223372036854775808, 18446744073709551615,
         '-12345678901234567890123456789012345.123456789012345678901234567891', '-0.05', 99999,
         1.1, 2.718281828459045,
         '2024-02-29 23:59:59.999999', '1000-01-01 00:00:00', '2038-01-19 03:14:07.123456', '-838:59:59.000000', '12:34:56', '-00:00:01.500', '9999-12-31', 2155,
         b'1111111111111111111111111111111111111111111111111111111111111111', b'101',
         'large', 'a,d',
         'plain', 'ab', 'café naïve', 'emoji 😀 and 中文', 'Ökonomie €',
         x'00FF10', x'0102', x'AB',
         '{"k": [1, 2.5, "x"], "n": null}', ST_GeomFromText('POINT(1 2)'), 'Привет', '中文字符'),
        (2, 0, 0, 0, 0, 0, 0, 0,
         0, 0,
         '0', '123.40', -5,
         -0.5, -1e300,
         '0000-00-00 00:00:00', '1970-01-01 00:00:01', '1970-01-01 00:00:01.000001', '838:59:59.999999', '-12:00:00', '100:00:00.5', '0000-00-00', 1901,
         b'0', b'0',
         'small', '',
         '', '', '', '', '',
         x'', x'', x'00000000',
         '[]', ST_GeomFromText('LINESTRING(0 0, 1 1)'), 'ё', '汉'),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
      await db.query(`UPDATE all_types SET vc = 'changed', d2 = '1.00' WHERE id = 1`);

      const session = await source.snapshot({});
      const snapshotRows = [];
      for await (const chunk of session.chunks) snapshotRows.push(...chunk.rows);
      expect(snapshotRows).toHaveLength(3);

      const batches = await collectBatches(source, before, (events) => events.some((e) => e.op === "update"));
      const events = eventsOf(batches).filter((e) => e.op === "insert" || e.op === "update");
      const inserts = events.filter((e): e is InsertEvent => e.op === "insert");
      const update = events.find((e): e is UpdateEvent => e.op === "update");
      expect(inserts).toHaveLength(3);
      const afterUpdate = inserts.map((e) => (e.after.id === 1 ? update?.after : e.after));
      expect(normalize(afterUpdate)).toEqual(normalize(snapshotRows));

      const row1 = normalize(inserts[0]?.after);
      expect(row1).toEqual(
        normalize({
          id: 1, ti: -128, tu: 255, si: -32768, mi: -8388608, mu: 16777215, i: -2147483648, iu: 4294967295,
          bi: -9223372036854775808n, bu: 18446744073709551615n,
          d: "-12345678901234567890123456789012345.123456789012345678901234567891", d2: "-0.05", d0: "99999",
          f: Math.fround(1.1), dbl: 2.718281828459045,
          dt: "2024-02-29T23:59:59.999999", dt0: "1000-01-01T00:00:00", ts: "2038-01-19T03:14:07.123456Z", tm: "PT-838H-59M-59S", tm0: "PT12H34M56S", tm3: "PT-1.5S", da: "9999-12-31", y: 2155,
          b64: bytes(255, 255, 255, 255, 255, 255, 255, 255), b3: bytes(5),
          e: "large", s: "a,d",
          vc: "plain", ch: "ab", l1: "café naïve", tx: "emoji 😀 and 中文", ltx: "Ökonomie €",
          bl: bytes(0, 255, 16), vb: bytes(1, 2), bn: bytes(0xab, 0, 0, 0),
          j: '{"k": [1, 2.5, "x"], "n": null}',
          g: bytes(1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40),
          cy: "Привет",
          gb: "中文字符",
        }),
      );
      const row2 = inserts[1]?.after;
      expect(row2?.dt).toBeNull();
      expect(row2?.da).toBeNull();
      expect(row2?.tm).toBe("PT838H59M59.999999S");
      expect(row2?.tm3).toBe("PT100H0.5S");
      expect(row2?.dbl).toBe(-1e300);
      expect(row2?.d0).toBe("-5");
      expect(row2?.d2).toBe("123.40");
      expect(row2?.s).toBe("");
      expect(normalize(row2?.bn)).toEqual(bytes(0, 0, 0, 0));
      expect(Object.values(inserts[2]?.after ?? {}).filter((v) => v !== null)).toEqual([3]);
      expect(normalize(update?.before)).toEqual(row1);
      expect(update?.key).toEqual({ id: 1 });

      const schema = session.schemas.find((s) => s.table.name === "all_types");
      const typeOf = (name: string) => schema?.columns.find((c) => c.name === name)?.type;
      expect(typeOf("bu")).toEqual({ kind: "int", bits: 64, signed: false });
      expect(typeOf("d")).toEqual({ kind: "decimal", precision: 65, scale: 30 });
      expect(typeOf("ts")).toEqual({ kind: "timestamp", precision: 6, withZone: true });
      expect(typeOf("dt")).toEqual({ kind: "timestamp", precision: 6, withZone: false });
      expect(typeOf("tm")).toEqual({ kind: "interval" });
      expect(typeOf("j")).toEqual({ kind: "json" });
      expect(typeOf("vc")).toEqual({ kind: "string", maxLength: 50 });
      expect(typeOf("e")).toEqual({ kind: "string", enumValues: ["small", "medium", "large"] });
      expect(typeOf("g")).toEqual({ kind: "geometry" });
      expect(schema?.primaryKey).toEqual(["id"]);
      // The binlog path reports no schema change for a table whose definition matches introspection.
      expect(eventsOf(batches).filter((e) => e.op === "schema")).toHaveLength(0);
    } finally {
      await source.close();
    }
  });
});
