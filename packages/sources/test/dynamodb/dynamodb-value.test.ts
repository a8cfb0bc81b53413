import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attributeLogicalType,
  compareDecimalStrings,
  itemToJsonText,
  normalizeDynamoNumber,
  unmarshalItem,
  unmarshalValue,
} from "@zero-etl/sources/dynamodb";

describe("dynamodb value mapping", () => {
  it("keeps all 38 digits of numbers, in values and in JSON text", () => {
    const big = "12345678901234567890123456789012345678";
    const frac = "-0.12345678901234567890123456789012345678";
    expect(unmarshalValue({ N: big })).toBe(big);
    const json = itemToJsonText({ a: { N: big }, b: { N: frac }, c: { L: [{ N: "9.000000000000000000000000000000000001" }] } });
    expect(json).toBe(`{"a":${big},"b":${frac},"c":[9.000000000000000000000000000000000001]}`);
    // the text is valid JSON, and a float parse would have lost digits
    expect(() => JSON.parse(json)).not.toThrow();
    expect(String(JSON.parse(json).a)).not.toBe(big);
  });

  it("normalises number spellings to plain decimals", () => {
    expect(normalizeDynamoNumber("1E+2")).toBe("100");
    expect(normalizeDynamoNumber("1.50")).toBe("1.5");
    expect(normalizeDynamoNumber("-0.0")).toBe("0");
    expect(normalizeDynamoNumber("0012.3400")).toBe("12.34");
    expect(normalizeDynamoNumber(".5")).toBe("0.5");
    expect(normalizeDynamoNumber("1.5e-3")).toBe("0.0015");
    expect(normalizeDynamoNumber("+7")).toBe("7");
    expect(() => normalizeDynamoNumber("abc")).toThrow(/not a decimal/);
  });

  it("normalisation preserves the numeric value exactly (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.integer({ min: 0, max: 45 }), (digits, scale) => {
        const abs = (digits < 0n ? -digits : digits).toString().padStart(scale + 1, "0");
        const text = `${digits < 0n ? "-" : ""}${abs.slice(0, abs.length - scale)}${scale > 0 ? `.${abs.slice(abs.length - scale)}` : ""}`;
        const normal = normalizeDynamoNumber(text);
        expect(normal).toMatch(/^-?(0|[1-9]\d*)(\.\d*[1-9])?$/);
        expect(compareDecimalStrings(normal, normalizeDynamoNumber(`${text}0`.includes(".") ? `${text}0` : text))).toBe(0);
        // the same value written with an exponent normalises to the same text
        expect(normalizeDynamoNumber(`${digits}e-${scale}`)).toBe(normal);
      }),
      { numRuns: 300 },
    );
  });

  it("orders decimals exactly", () => {
    const sorted = ["-100", "-2.5", "-2.25", "0", "0.001", "1", "1.1", "10", "99999999999999999999999999999999999999"];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareDecimalStrings)).toEqual(sorted);
  });

  it("keeps sets as sorted lists with list logical types", () => {
    expect(unmarshalValue({ SS: ["b", "a", "c"] })).toEqual(["a", "b", "c"]);
    expect(unmarshalValue({ NS: ["10", "9", "-1.5"] })).toEqual(["-1.5", "9", "10"]);
    const bs = unmarshalValue({ BS: [Uint8Array.of(2), Uint8Array.of(1, 5)] }) as Uint8Array[];
    expect(bs.map((b) => [...b])).toEqual([[1, 5], [2]]);
    expect(attributeLogicalType({ SS: ["a"] })).toEqual({ kind: "list", element: { kind: "string" } });
    expect(attributeLogicalType({ NS: ["1"] })).toEqual({ kind: "list", element: { kind: "decimal" } });
    expect(attributeLogicalType({ BS: [Uint8Array.of(1)] })).toEqual({ kind: "list", element: { kind: "bytes" } });
    expect(itemToJsonText({ s: { SS: ["z", "a"] }, n: { NS: ["3", "1.0"] }, b: { BS: [Uint8Array.of(255), Uint8Array.of(0)] } })).toBe(
      '{"b":["AA==","/w=="],"n":[1,3],"s":["a","z"]}',
    );
  });

  it("maps binary, bool, null, nested maps and lists", () => {
    const item = {
      id: { S: "x\"y" },
      bin: { B: Uint8Array.of(0, 1, 2, 250) },
      ok: { BOOL: false },
      none: { NULL: true },
      nested: { M: { list: { L: [{ S: "a" }, { M: { deep: { N: "1.10" } } }, { NULL: true }] }, z: { BOOL: true } } },
    };
    expect(itemToJsonText(item)).toBe('{"bin":"AAEC+g==","id":"x\\"y","nested":{"list":["a",{"deep":1.1},null],"z":true},"none":null,"ok":false}');
    const value = unmarshalItem(item);
    expect(value.bin).toEqual(Uint8Array.of(0, 1, 2, 250));
    expect(value.nested).toEqual({ list: ["a", { deep: "1.1" }, null], z: true });
    expect(value.none).toBeNull();
    expect(attributeLogicalType(item.bin)).toEqual({ kind: "bytes" });
    expect(attributeLogicalType(item.nested)).toEqual({ kind: "json" });
  });

  it("writes the same text whatever the attribute order", () => {
    expect(itemToJsonText({ b: { N: "1" }, a: { S: "x" } })).toBe(itemToJsonText({ a: { S: "x" }, b: { N: "1" } }));
  });
});
