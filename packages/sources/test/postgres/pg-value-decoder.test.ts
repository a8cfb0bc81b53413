import { describe, expect, it } from "vitest";
import { LIST_LOWER_BOUNDS } from "@zero-etl/core";
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
  it("decodes hstore into a JSON map, keys in server order", () => {
    const hstore: PgTypeDescriptor = { kind: "other", oid: 16500, name: "hstore" };
    expect(createPgValueDecoder(hstore)('"b"=>"1", "a"=>NULL, "c\\"q"=>"x\\\\y", "1"=>""')).toBe('{"b":"1","a":null,"c\\"q":"x\\\\y","1":""}');
    expect(createPgValueDecoder(hstore)("")).toBe("{}");
    expect(pgLogicalType(hstore, -1)).toEqual({ kind: "map", key: { kind: "string" }, value: { kind: "string" }, native: { dialect: "postgres", name: "hstore" } });
  });

  it("decodes composite values into objects of typed fields", () => {
    const inner: PgTypeDescriptor = { kind: "composite", oid: 16600, name: "inner_t", fields: [{ name: "n", type: builtin(20), typeMod: -1 }, { name: "s", type: builtin(25), typeMod: -1 }] };
    const address: PgTypeDescriptor = {
      kind: "composite",
      oid: 16601,
      name: "address",
      fields: [
        { name: "street", type: builtin(25), typeMod: -1 },
        { name: "tags", type: { kind: "array", oid: 1009, name: "_text", element: builtin(25), delimiter: "," }, typeMod: -1 },
        { name: "at", type: builtin(1184), typeMod: -1 },
        { name: "sub", type: inner, typeMod: -1 },
        { name: "empty", type: builtin(25), typeMod: -1 },
      ],
    };
    const decode = createPgValueDecoder(address);
    // exactly as the server prints ROW('main st', ARRAY['x', 'y"z'], ..., ROW(7, 'in"ner'), '')
    expect(decode('("main st","{x,""y\\\\""z""}","2020-01-02 01:04:05.123456+00","(7,""in""""ner"")","")')).toEqual({
      street: "main st",
      tags: ["x", 'y"z'],
      at: "2020-01-02T01:04:05.123456Z",
      sub: { n: 7n, s: 'in"ner' },
      empty: "",
    });
    expect(decode("(,,,,)")).toEqual({ street: null, tags: null, at: null, sub: null, empty: null });
    expect(pgLogicalType(inner, -1)).toEqual({
      kind: "struct",
      fields: [
        { name: "n", type: { kind: "int", bits: 64, signed: true }, nullable: true },
        { name: "s", type: { kind: "string" }, nullable: true },
      ],
    });
  });

  it("keeps array lower bounds other than 1 on the decoded list", () => {
    const ints = createPgValueDecoder({ kind: "array", oid: 1007, name: "_int4", element: builtin(23), delimiter: "," });
    const bounded = ints("[0:2]={1,2,3}") as unknown as { [LIST_LOWER_BOUNDS]?: number[] };
    expect(bounded).toEqual([1, 2, 3]);
    expect(bounded[LIST_LOWER_BOUNDS]).toEqual([0]);
    const nested = ints("[2:3][-1:0]={{1,2},{3,4}}") as unknown as { [LIST_LOWER_BOUNDS]?: number[] };
    expect(nested[LIST_LOWER_BOUNDS]).toEqual([2, -1]);
    expect((ints("{1,2}") as unknown as { [LIST_LOWER_BOUNDS]?: number[] })[LIST_LOWER_BOUNDS]).toBeUndefined();
    // JSON never sees the bounds
    expect(JSON.stringify(bounded)).toBe("[1,2,3]");
  });

  it("names the PostgreSQL-native type where the neutral kind would lose it", () => {
    const named = (oid: number, name: string): PgTypeDescriptor => ({ kind: "builtin", oid, name });
    expect(pgLogicalType(named(114, "json"), -1)).toEqual({ kind: "json", native: { dialect: "postgres", name: "json" } });
    expect(pgLogicalType(named(3802, "jsonb"), -1)).toEqual({ kind: "json" });
    expect(pgLogicalType(named(1562, "varbit"), 8)).toEqual({ kind: "string", native: { dialect: "postgres", name: "bit varying(8)" } });
    expect(pgLogicalType({ kind: "other", oid: 3904, name: "int4range" }, -1)).toEqual({ kind: "string", native: { dialect: "postgres", name: "int4range" } });
    // a user type that happens to share a built-in's name is not it
    expect(pgLogicalType({ kind: "other", oid: 17000, name: "point" }, -1)).toEqual({ kind: "string" });
    expect(pgLogicalType({ kind: "other", oid: 2205, name: "regclass" }, -1)).toEqual({ kind: "string" });
    const numericArray: PgTypeDescriptor = { kind: "array", oid: 1231, name: "_numeric", element: named(1700, "numeric"), delimiter: "," };
    expect(pgLogicalType(numericArray, ((10 << 16) | 2) + 4)).toEqual({
      kind: "list",
      element: { kind: "decimal", precision: 10, scale: 2 },
      native: { dialect: "postgres", name: "numeric(10,2)[]" },
    });
    const enumArray: PgTypeDescriptor = { kind: "array", oid: 17001, name: "_mood", element: { kind: "enum", oid: 17002, name: "mood", labels: ["a"] }, delimiter: "," };
    expect(pgLogicalType(enumArray, -1)).toEqual({ kind: "list", element: { kind: "string", enumValues: ["a"] } });
  });
});
