import { describe, expect, it } from "vitest";
import { deserializeIcebergValue, hashValue, serializeIcebergValue, toIcebergValue } from "@zero-etl/sinks/iceberg";

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
    expect(() => toIcebergValue("timestamptz", "infinity")).toThrow(RangeError);
  });
});
