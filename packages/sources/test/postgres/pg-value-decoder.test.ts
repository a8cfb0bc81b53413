import { describe, expect, it } from "vitest";
import { createPgValueDecoder, formatLsn, lsnCodec, parseLsn, pgLogicalType, type PgTypeDescriptor } from "@zero-etl/sources/postgres";

const builtin = (oid: number): PgTypeDescriptor => ({ kind: "builtin", oid, name: String(oid) });
const decode = (oid: number, text: string) => createPgValueDecoder(builtin(oid))(text);

describe("pg value decoders (pure)", () => {
  it("keeps exact numbers exact", () => {
    expect(decode(20, "-9223372036854775808")).toBe(-9223372036854775808n);
    expect(decode(1700, "12345678901234567890123456789.0123456789")).toBe("12345678901234567890123456789.0123456789");
    expect(decode(790, "-$92,233,720,368,547,758.08")).toBe("-92233720368547758.08");
    expect(decode(701, "NaN")).toBeNaN();
    expect(decode(700, "-Infinity")).toBe(Number.NEGATIVE_INFINITY);
    expect(decode(21, "-7")).toBe(-7);
  });

  it("normalises dates and times", () => {
    expect(decode(1082, "0001-01-01 BC")).toBe("0000-01-01");
    expect(decode(1082, "4713-11-24 BC")).toBe("-4712-11-24");
    expect(decode(1114, "2020-05-06 07:08:09.000001")).toBe("2020-05-06T07:08:09.000001");
    expect(decode(1114, "0002-01-01 00:00:00 BC")).toBe("-0001-01-01T00:00:00");
    expect(decode(1184, "2020-05-06 07:08:09.5+00")).toBe("2020-05-06T07:08:09.5Z");
    expect(decode(1184, "2020-01-01 00:30:00.25+05:30")).toBe("2019-12-31T19:00:00.25Z");
    expect(decode(1184, "2020-12-31 23:00:00-01")).toBe("2021-01-01T00:00:00Z");
    expect(decode(1184, "0044-03-15 12:00:00+00 BC")).toBe("-0043-03-15T12:00:00Z");
    expect(decode(1184, "infinity")).toBe("infinity");
    expect(decode(1266, "10:00:00+02")).toBe("10:00:00+02:00");
    expect(decode(1266, "10:00:00.1-03:30")).toBe("10:00:00.1-03:30");
  });

  it("converts postgres-style intervals to ISO 8601 and passes ISO through", () => {
    expect(decode(1186, "P1Y2M")).toBe("P1Y2M");
    expect(decode(1186, "1 year 2 mons 3 days 04:05:06.789")).toBe("P1Y2M3DT4H5M6.789S");
    expect(decode(1186, "-1 days -00:00:01")).toBe("P-1DT-1S");
    expect(decode(1186, "00:00:00")).toBe("PT0S");
  });

  it("decodes bytea in hex and escape form", () => {
    expect(decode(17, "\\xDEADbeef")).toEqual(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(decode(17, "a\\\\b\\001")).toEqual(new Uint8Array([0x61, 0x5c, 0x62, 1]));
  });

  it("parses array literals with quoting, NULLs, nesting and bounds", () => {
    const textArray = createPgValueDecoder({ kind: "array", oid: 1009, name: "_text", element: builtin(25), delimiter: "," });
    expect(textArray('{"a,b","q\\"x",NULL,null,"NULL",plain,"  sp  "}')).toEqual(["a,b", 'q"x', null, null, "NULL", "plain", "  sp  "]);
    expect(textArray("{{a,b},{c,NULL}}")).toEqual([
      ["a", "b"],
      ["c", null],
    ]);
    expect(textArray("[0:1]={x,y}")).toEqual(["x", "y"]);
    const boolArray = createPgValueDecoder({ kind: "array", oid: 1000, name: "_bool", element: builtin(16), delimiter: "," });
    expect(boolArray("{t,f,NULL}")).toEqual([true, false, null]);
    expect(() => textArray("{a,b")).toThrow(/malformed array literal/);
  });

  it("maps typmods to precision, scale and length", () => {
    expect(pgLogicalType(builtin(1700), ((38 << 16) | 10) + 4)).toEqual({ kind: "decimal", precision: 38, scale: 10 });
    expect(pgLogicalType(builtin(1700), -1)).toEqual({ kind: "decimal" });
    expect(pgLogicalType(builtin(1043), 14)).toEqual({ kind: "string", maxLength: 10 });
    expect(pgLogicalType(builtin(1114), 3)).toEqual({ kind: "timestamp", precision: 3, withZone: false });
    expect(pgLogicalType({ kind: "other", oid: 99999, name: "geometry" }, -1)).toEqual({ kind: "string" });
    const domain: PgTypeDescriptor = { kind: "domain", oid: 5, name: "price", base: builtin(1700), baseTypeMod: ((10 << 16) | 2) + 4 };
    expect(pgLogicalType(domain, -1)).toEqual({ kind: "decimal", precision: 10, scale: 2 });
  });

  it("parses, formats and compares LSNs", () => {
    expect(parseLsn("16/B374D848")).toBe(0x16_b374_d848n);
    expect(formatLsn(0x16_b374_d848n)).toBe("16/B374D848");
    expect(formatLsn(parseLsn("0/0"))).toBe("0/0");
    expect(lsnCodec.compare(parseLsn("1/0"), parseLsn("0/FFFFFFFF"))).toBeGreaterThan(0);
    expect(() => parseLsn("16-B3")).toThrow(/not a postgres lsn/);
  });
});
