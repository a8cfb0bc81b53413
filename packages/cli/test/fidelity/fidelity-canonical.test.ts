import { describe, expect, it } from "vitest";
import { canonicalDecimal, canonicalFloat, canonicalJson, canonicalTime, canonicalTimestamp, durationMicros } from "../../../../fidelity/src/canonical-value.js";
import { allGates, ciGates, FEATURE_GATES } from "../../../../fidelity/src/feature-gates.js";
import { createRng } from "../../../../fidelity/src/prng.js";
import { generatePgWorkload } from "../../../../fidelity/src/pg-workload-generator.js";
import { compareTableRows } from "../../../../fidelity/src/table-comparator.js";

// The fuzzer's pure parts: if these were wrong, the live seeds could pass
// while source and target differ.
describe("fidelity comparator normalisation", () => {
  it("compares decimals exactly, never through a float", () => {
    expect(canonicalDecimal("1.20")).toBe("1.2");
    expect(canonicalDecimal("-0.000")).toBe("0");
    expect(canonicalDecimal("1E-130")).toBe(`0.${"0".repeat(129)}1`);
    expect(canonicalDecimal("9.99E+2")).toBe("999");
    expect(canonicalDecimal("12345678901234567890123456789012345678")).toBe("12345678901234567890123456789012345678");
    expect(canonicalDecimal("12345678901234567890123456789012345678")).not.toBe(canonicalDecimal("12345678901234567890123456789012345679"));
    expect(canonicalDecimal("NaN")).toBe("NaN");
    expect(canonicalDecimal("-Infinity")).toBe("-Infinity");
    expect(canonicalDecimal("abc")).toBe("!abc");
  });

  it("compares floats by the shortest text of the double, keeping -0 and non-finite values", () => {
    expect(canonicalFloat("1e-05")).toBe(canonicalFloat("0.00001"));
    expect(canonicalFloat("-3403.8494978135914")).not.toBe(canonicalFloat("-3403.849497813592"));
    expect(canonicalFloat("-0")).toBe("-0");
    expect(canonicalFloat("0")).toBe("0");
    expect(canonicalFloat("NaN")).toBe("NaN");
    expect(canonicalFloat("Infinity")).toBe("Infinity");
    expect(canonicalFloat(5e-324)).toBe("5e-324");
  });

  it("compares timestamps as UTC text with the fraction's zeros trimmed", () => {
    expect(canonicalTimestamp("2026-01-02 03:04:05.123000+00")).toBe("2026-01-02 03:04:05.123");
    expect(canonicalTimestamp("2026-01-02T03:04:05.123Z")).toBe("2026-01-02 03:04:05.123");
    expect(canonicalTimestamp("0044-03-15 10:00:00+00 BC")).toBe("0044-03-15 10:00:00 BC");
    expect(canonicalTimestamp("294246-12-31 23:59:59.999999")).toBe("294246-12-31 23:59:59.999999");
    expect(canonicalTimestamp("2026-01-02 03:04:05+05:30")).toBe("2026-01-02 03:04:05+05:30");
    expect(canonicalTimestamp("infinity")).toBe("infinity");
    expect(canonicalTime("24:00:00.000000")).toBe("24:00:00");
    expect(durationMicros("-838:59:59.000000")).toBe("-3020399000000");
  });

  it("compares JSON semantically with exact numbers and last-wins duplicate keys", () => {
    expect(canonicalJson('{"b": [1.50, 2], "a": null}')).toBe('{"a":null,"b":[1.5,2]}');
    expect(canonicalJson('{"a": 1, "a": 2}')).toBe('{"a":2}');
    expect(canonicalJson("123456789012345678901234567890")).not.toBe(canonicalJson("123456789012345678901234567891"));
    expect(canonicalJson('"\\u00e9"')).toBe(canonicalJson('"é"'));
    expect(canonicalJson("{")).toBe("!{");
  });

  it("reports a changed cell, a missing row, an extra row and a missing column", () => {
    const source = { columns: [{ name: "id", kind: "int" as const, type: "int4" }, { name: "v", kind: "text" as const, type: "text" }], key: ["id"], rows: [{ id: "1", v: "a" }, { id: "2", v: "b" }] };
    const diffs = compareTableRows("t", source, { present: source.columns, rows: [{ id: "1", v: "A" }, { id: "3", v: "c" }] });
    expect(diffs).toEqual([
      { table: "t", key: '["1"]', column: "v", source: "a", target: "A" },
      { table: "t", key: '["2"]', column: "*", source: "row", target: "no such row" },
      { table: "t", key: '["3"]', column: "*", source: "no such row", target: "row" },
    ]);
    expect(compareTableRows("t", source, { present: [source.columns[0] as never], rows: [{ id: "1" }, { id: "2" }] })).toEqual([{ table: "t", key: "*", column: "v", source: "text", target: "no such column" }]);
  });
});

describe("fidelity generators and gates", () => {
  it("generates the same workload for the same seed, and another for another seed", () => {
    const on = (f: string) => f === "core" || f === "kill";
    const a = generatePgWorkload({ rng: createRng(7), on });
    const b = generatePgWorkload({ rng: createRng(7), on });
    const c = generatePgWorkload({ rng: createRng(8), on });
    expect(JSON.stringify(a.phases)).toBe(JSON.stringify(b.phases));
    expect(JSON.stringify(a.phases)).not.toBe(JSON.stringify(c.phases));
  });

  it("keeps a disabled gate's feature out of the workload", () => {
    const on = (f: string) => f === "core";
    for (let seed = 1; seed <= 20; seed++) {
      const w = generatePgWorkload({ rng: createRng(seed), on });
      expect([...w.usedFeatures]).toEqual(["core"]);
      const text = [...w.setup, ...w.phases.flatMap((p) => p.steps)].map((s) => s.text).join("\n");
      expect(text).not.toMatch(/ALTER TABLE .* (ADD|DROP|RENAME|ALTER) COLUMN|TRUNCATE|RENAME TO/);
    }
  });

  it("names every gate with a pair prefix, an issue item and what it covers", () => {
    for (const [name, gate] of Object.entries(FEATURE_GATES)) {
      expect(name).toMatch(/^(pg|mysql|iceberg|dynamodb)\.[a-z-]+$/);
      expect(gate.issue).not.toBe("");
      expect(gate.covers.length).toBeGreaterThan(5);
    }
    for (const prefix of ["pg", "mysql", "iceberg", "dynamodb"]) {
      expect(ciGates(prefix)).toContain(`${prefix}.core`);
      // every gate of a pair may be on in CI (all MariaDB ones are)
      expect(allGates(prefix)).toEqual(expect.arrayContaining(ciGates(prefix)));
      expect(allGates(prefix).length).toBeGreaterThan(1);
    }
  });
});
