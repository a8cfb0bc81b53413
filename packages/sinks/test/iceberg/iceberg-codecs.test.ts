import { describe, expect, it } from "vitest";
import { deserializeIcebergValue, hashValue, serializeIcebergValue, toIcebergValue as toValueOrNull } from "@zero-etl/sinks/iceberg";
import { formatDate, formatTimestamp, fromIcebergValue } from "../../src/iceberg/iceberg-value-codec.js";
import { applyPartitionTransform } from "../../src/iceberg/partition-transform.js";

/** The non-null form (every value these vectors use is finite). */
function toIcebergValue(type: string, value: string) {
  const out = toValueOrNull(type, value);
  if (out === null) throw new Error(`${type} ${value} became null`);
  return out;
}

describe("iceberg value codecs", () => {
  it("bucket hashes match the spec's Appendix B test vectors", () => {
    expect(hashValue("int", 34)).toBe(2017239379);
    expect(hashValue("long", 34n)).toBe(2017239379);
    expect(hashValue("decimal(4,2)", toIcebergValue("decimal(4,2)", "14.20"))).toBe(-500754589);
    expect(hashValue("date", toIcebergValue("date", "2017-11-16"))).toBe(-653330422);
    expect(hashValue("time", toIcebergValue("time", "22:31:08"))).toBe(-662762989);
    expect(hashValue("timestamp", toIcebergValue("timestamp", "2017-11-16T22:31:08"))).toBe(-2047944441);
    expect(hashValue("timestamptz", toIcebergValue("timestamptz", "2017-11-16T14:31:08.000001-08:00"))).toBe(-1207196810);
    expect(hashValue("string", "iceberg")).toBe(1210000089);
    expect(hashValue("uuid", toIcebergValue("uuid", "f79c3e09-677c-4bbd-a479-3f349cb785e7"))).toBe(1488055340);
    expect(hashValue("binary", Uint8Array.of(0, 1, 2, 3))).toBe(-188683207);
  });

  it("single-value serialization follows Appendix D and round-trips", () => {
    expect(Buffer.from(serializeIcebergValue("int", 1)).toString("hex")).toBe("01000000");
    expect(Buffer.from(serializeIcebergValue("long", -2n)).toString("hex")).toBe("feffffffffffffff");
    expect(Buffer.from(serializeIcebergValue("decimal(9,2)", toIcebergValue("decimal(9,2)", "-1.28"))).toString("hex")).toBe("80");
    expect(Buffer.from(serializeIcebergValue("decimal(9,2)", toIcebergValue("decimal(9,2)", "1.28"))).toString("hex")).toBe("0080");
    for (const [type, value] of [["timestamptz", "2024-01-02T03:04:05.678901Z"], ["date", "1969-12-31"], ["string", "héllo"], ["decimal(38,10)", "-12345678901234567890.0123456789"]] as const) {
      const v = toIcebergValue(type, value);
      expect(deserializeIcebergValue(type, serializeIcebergValue(type, v))).toEqual(v);
    }
    expect(() => toIcebergValue("decimal(38,10)", "1.00000000001")).toThrow(RangeError);
    // ±infinity: DuckDB's own sentinels, and back to the words through our reader
    expect(toIcebergValue("timestamptz", "infinity")).toBe(9_223_372_036_854_775_807n);
    expect(toIcebergValue("timestamp", "-infinity")).toBe(-9_223_372_036_854_775_807n);
    expect(toIcebergValue("date", "infinity")).toBe(2_147_483_647);
    expect(toIcebergValue("date", "-infinity")).toBe(-2_147_483_647);
    for (const type of ["date", "timestamp", "timestamptz"]) for (const word of ["infinity", "-infinity"]) expect(fromIcebergValue(type, toIcebergValue(type, word))).toBe(word);
  });

  it("dates and timestamps past JavaScript Date's range are exact, in and out", () => {
    for (const [date, days] of [["+5874897-12-31", 2_145_042_905], ["-004712-01-01", -2_440_550], ["-000043-03-15", -735_160], ["1970-01-01", 0]] as const) {
      expect(toIcebergValue("date", date.replace(/^\+/, ""))).toBe(days);
      expect(formatDate(days)).toBe(date);
    }
    expect(toIcebergValue("timestamp", "294246-12-31T23:59:59.999999")).toBe(9_223_371_244_799_999_999n);
    expect(formatTimestamp(9_223_371_244_799_999_999n, true)).toBe("+294246-12-31T23:59:59.999999Z");
    expect(() => toIcebergValue("timestamp", "294247-01-10T04:00:54.775808")).toThrow(/int64 microsecond range/);
    expect(toValueOrNull("decimal(10,2)", "NaN")).toBeNull();
    expect(toValueOrNull("decimal(10,2)", "-Infinity")).toBeNull();
    expect(() => toIcebergValue("time", "24:00:00")).toThrow(/24:00:00/);
  });
});

describe("partition transforms at the far ends of PostgreSQL's dates", () => {
  it("year and month are exact past JavaScript Date's range (and for the ±infinity sentinels)", () => {
    const date = (text: string) => toValueOrNull("date", text) as number;
    const at = (kind: "year" | "month", text: string) => applyPartitionTransform({ kind }, "date", date(text));
    expect([at("year", "1969-12-31"), at("month", "1969-12-31"), at("year", "2024-02-29"), at("month", "2024-02-29")]).toEqual([-1, -1, 54, 649]);
    expect(at("year", "5874897-12-31")).toBe(5874897 - 1970);
    expect(at("month", "5874897-12-31")).toBe((5874897 - 1970) * 12 + 11);
    expect(Number.isInteger(at("year", "infinity"))).toBe(true);
    expect(Number.isInteger(at("month", "-infinity"))).toBe(true);
  });
});
