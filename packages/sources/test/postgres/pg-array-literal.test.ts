import { describe, expect, it } from "vitest";
import { parseArrayLiteral } from "../../src/postgres/pg-array-literal.js";

const text = (s: string) => s;

describe("parseArrayLiteral", () => {
  it("keeps non-ASCII white space at the edges of unquoted elements (PostgreSQL does not quote them)", () => {
    expect(parseArrayLiteral("{\u00a0a,b\u00a0,\u2003c\u3000}", text)).toEqual(["\u00a0a", "b\u00a0", "\u2003c\u3000"]);
  });

  it("reads quoted elements, NULL and nested levels", () => {
    expect(parseArrayLiteral('{"a b","c\\"d",NULL,"NULL"}', text)).toEqual(["a b", 'c"d', null, "NULL"]);
    expect(parseArrayLiteral("{{1,2},{3,4}}", text)).toEqual([["1", "2"], ["3", "4"]]);
  });
});
