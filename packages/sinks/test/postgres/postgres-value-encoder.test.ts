import { describe, expect, it } from "vitest";
import { LIST_LOWER_BOUNDS, type Value } from "@zero-etl/core";
import { createPgParameterEncoder, createTypedJsonEncoder, decimalAsJsonNumber, jsonToHstore, toPgEra } from "../../src/postgres/postgres-value-encoder.js";

describe("postgres parameter encoders (pure)", () => {
  it("turns astronomical negative years into PostgreSQL's BC form", () => {
    expect(toPgEra("-0043-03-15")).toBe("0044-03-15 BC");
    expect(toPgEra("-4713-12-31T23:59:59.999999Z")).toBe("4714-12-31T23:59:59.999999Z BC");
    expect(toPgEra("0000-01-01")).toBe("0000-01-01");
    expect(toPgEra("-infinity")).toBe("-infinity");
    expect(toPgEra("294247-01-01T23:59:59.999999")).toBe("294247-01-01T23:59:59.999999");
    const date = createPgParameterEncoder("date");
    expect(date("-0001-06-01")).toBe("0002-06-01 BC");
    // a text column's value is never touched
    expect(createPgParameterEncoder("text")("-0043-03-15")).toBe("-0043-03-15");
  });

  it("writes array literals with quoted elements, NULLs, nesting and lower bounds", () => {
    const text = createPgParameterEncoder("text[]");
    expect(text(["a,b", 'q"uote', "back\\slash", null, "NULL", ""])).toBe('{"a,b","q\\"uote","back\\\\slash",NULL,"NULL",""}');
    const ints = createPgParameterEncoder("integer[]");
    const bounded = Object.defineProperty([1, 2, 3], LIST_LOWER_BOUNDS, { value: [0] }) as Value;
    expect(ints(bounded)).toBe('[0:2]={"1","2","3"}');
    const nested = Object.defineProperty([[1, 2], [3, 4]], LIST_LOWER_BOUNDS, { value: [2, -1] }) as Value;
    expect(ints(nested)).toBe('[2:3][-1:0]={{"1","2"},{"3","4"}}');
    expect(createPgParameterEncoder("date[]")(["-0043-03-15", "infinity"])).toBe('{"0044-03-15 BC","infinity"}');
    expect(createPgParameterEncoder("bytea[]")([Uint8Array.of(0xde, 0xad)])).toBe('{"\\\\xdead"}');
    expect(createPgParameterEncoder("json[]")(['{"a": 1, "a": 2}'])).toBe('{"{\\"a\\": 1, \\"a\\": 2}"}');
  });

  it("writes hstore literals from JSON maps", () => {
    expect(jsonToHstore('{"a":"1","b":null,"c\\"q":"x\\\\y"}')).toBe('"a"=>"1", "b"=>NULL, "c\\"q"=>"x\\\\y"');
    expect(jsonToHstore("not json")).toBe("not json");
    expect(createPgParameterEncoder("hstore")('{"k":"v"}')).toBe('"k"=>"v"');
  });

  it("embeds json inside a list or struct as JSON in a jsonb column", () => {
    const encode = createTypedJsonEncoder({ kind: "list", element: { kind: "json" } });
    expect(encode(['{"a":1}', null, "[1]"])).toBe('[{"a":1},null,[1]]');
    const struct = createTypedJsonEncoder({ kind: "struct", fields: [{ name: "doc", type: { kind: "json" }, nullable: true }, { name: "s", type: { kind: "string" }, nullable: true }] });
    expect(struct({ doc: '{"x":true}', s: '{"x":true}' })).toBe('{"doc":{"x":true},"s":"{\\"x\\":true}"}');
  });

  it("writes decimals inside a list or struct as JSON numbers with the same digits, non-finite ones as strings", () => {
    const decimal = { kind: "decimal" } as const;
    const struct = createTypedJsonEncoder({ kind: "struct", fields: [{ name: "x", type: decimal, nullable: true }, { name: "ns", type: { kind: "list", element: decimal }, nullable: true }] });
    expect(struct({ x: "123456789012345678901234567890.000000000000000000000000000001", ns: ["1.20", null, "NaN", "-Infinity", "1E-130"] })).toBe(
      '{"x":123456789012345678901234567890.000000000000000000000000000001,"ns":[1.20,null,"NaN","-Infinity",1E-130]}',
    );
    expect(["+1", ".5", "-.5", "5.", "007.10", "-00", "0", "-0.0", "1e5"].map(decimalAsJsonNumber)).toEqual(["1", "0.5", "-0.5", "5", "7.10", "-0", "0", "-0.0", "1e5"]);
    expect(["NaN", "Infinity", "-Infinity", "", ".", "1.2.3"].map(decimalAsJsonNumber)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});
