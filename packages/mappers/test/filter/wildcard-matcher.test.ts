import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createWildcardMatcher } from "@zero-etl/mappers";

function oracle(pattern: string, text: string): boolean {
  let source = "^";
  for (const ch of pattern) source += ch === "%" ? "[\\s\\S]*" : ch === "_" ? "[\\s\\S]" : ch.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
  return new RegExp(`${source}$`, "u").test(text);
}

describe("createWildcardMatcher", () => {
  it("property: agrees with an anchored regular expression", () => {
    const alphabet = fc.constantFrom("a", "b", "%", "_", ".", "é");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 8 }).map((c) => c.join("")), fc.array(fc.constantFrom("a", "b", ".", "é", "%"), { maxLength: 12 }).map((c) => c.join("")), (pattern, text) => {
        expect(createWildcardMatcher(pattern, "%", "_")(text)).toBe(oracle(pattern, text));
      }),
      { numRuns: 2000 },
    );
  });

  it("treats the character after the escape as literal", () => {
    const like = (pattern: string) => createWildcardMatcher(pattern, "%", "_", "\\");
    expect(like("a\\_b")("a_b")).toBe(true);
    expect(like("a\\_b")("axb")).toBe(false);
    expect(like("100\\%")("100%")).toBe(true);
    expect(like("100\\%")("1000")).toBe(false);
    expect(like("%\\%%")("50% off")).toBe(true);
    expect(like("%\\%%")("50 off")).toBe(false);
    expect(like("a\\\\b")("a\\b")).toBe(true);
    expect(like("a\\")("a\\")).toBe(true);
    // without an escape character the backslash is an ordinary character
    expect(createWildcardMatcher("a\\_b", "%", "_")("a\\xb")).toBe(true);
  });

  it("answers a backtracking-heavy pattern on a long value", () => {
    const match = createWildcardMatcher("%a%a%a%a%a%a%a%b", "%", "_");
    expect(match("a".repeat(20000))).toBe(false);
    expect(match(`${"a".repeat(20000)}b`)).toBe(true);
  });
});
