import { describe, expect, it } from "vitest";
import { canonicalDecimal, canonicalFloat, canonicalJson, canonicalTime, canonicalTimestamp, durationMicros } from "../../../../fidelity/src/canonical-value.js";
import { allGates, ciGates, FEATURE_GATES } from "../../../../fidelity/src/feature-gates.js";
import { createRng } from "../../../../fidelity/src/prng.js";
import { flattenItem } from "../../../../fidelity/src/dynamodb-to-pg-driver.js";
import { filteredRows, targetTableName } from "../../../../fidelity/src/pg-to-pg-driver.js";
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
  it("reaches the PostgreSQL sink's bulk paths with pg.bulk, and leaves the workload alone without it", () => {
    const bulk = generatePgWorkload({ rng: createRng(3), on: (f) => f === "core" || f === "bulk" });
    const setup = bulk.setup.find((s) => s.tables.includes("fz_bulk"));
    // past the deferred-key threshold (10,000), analyzed so that the source estimates it
    expect(setup?.text).toMatch(/generate_series\(1, 12000\)/);
    expect(setup?.text).toMatch(/ANALYZE public\.fz_bulk/);
    const last = bulk.phases[bulk.phases.length - 1];
    expect(last?.steps.map((s) => s.tables)).toEqual([["fz_bulk"]]);
    expect(last?.steps[0]?.text).toMatch(/generate_series\(12001, 17600\)/);
    expect(last?.end).toEqual({ kind: "self-kill", plan: "rows:table=public.fz_bulk,op=insert>checkpoint" });
    expect(bulk.usedFeatures.has("bulk")).toBe(true);
    expect((bulk as { layout: { config: Record<string, unknown> } }).layout.config["batch"]).toEqual({ maxRows: 2000 });
    // without the gate: no trace of it; with it, the rest of the seed's workload is unchanged (no random draws of its own)
    const plain = generatePgWorkload({ rng: createRng(3), on: (f) => f === "core" || f === "kill" });
    expect(JSON.stringify(plain.setup).includes("fz_bulk")).toBe(false);
    expect(plain.phases.every((p) => p.end.kind !== "self-kill")).toBe(true);
    const withBulk = generatePgWorkload({ rng: createRng(3), on: (f) => f === "core" || f === "kill" || f === "bulk" });
    expect(withBulk.setup.filter((s) => !s.tables.includes("fz_bulk"))).toEqual(plain.setup);
    expect(withBulk.phases.slice(0, -1)).toEqual(plain.phases);
    expect([...withBulk.usedFeatures].filter((f) => f !== "bulk").sort()).toEqual([...plain.usedFeatures].sort());
  });

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
      expect(name).toMatch(/^(pg|mysql|iceberg|dynamodb|opensearch|kafka|redshift)\.[a-z-]+$/);
      expect(gate.issue).not.toBe("");
      expect(gate.covers.length).toBeGreaterThan(5);
    }
    for (const prefix of ["pg", "mysql", "iceberg", "dynamodb", "opensearch", "kafka", "redshift"]) {
      expect(ciGates(prefix)).toContain(`${prefix}.core`);
      // every gate of a pair may be on in CI (all MariaDB ones are)
      expect(allGates(prefix)).toEqual(expect.arrayContaining(ciGates(prefix)));
      expect(allGates(prefix).length).toBeGreaterThan(1);
    }
  });

  it("maps tables, row filters and unnested DynamoDB paths the way the comparator expects", () => {
    const layout = { included: ["public", "fz_s2"], config: {}, naming: "schema_table" as const, rowFilters: new Set(["fz_s2.t1"]) };
    expect(targetTableName(layout, "fz_s2", "t1")).toBe("fz_s2_t1");
    expect(targetTableName({ ...layout, naming: "table" }, "fz_s2", "t1")).toBe("t1");
    const rows = { columns: [], key: ["id"], rows: [{ id: "1", fz_cat: "x" }, { id: "2", fz_cat: "y" }] };
    expect(filteredRows(layout, "fz_s2", "t1", rows).rows).toEqual([{ id: "1", fz_cat: "x" }]);
    expect(filteredRows(layout, "public", "t1", rows).rows).toHaveLength(2);
    const item = { pk: { S: "a" }, m: { M: { x: { N: "1" }, y: { M: { z: { S: "s" } } }, e: { M: {} } } }, l: { L: [{ M: { q: { N: "2" } } }] } };
    expect([...flattenItem(item, "all").keys()]).toEqual(["item__pk", "item__m__x", "item__m__y__z", "item__l"]);
    expect([...flattenItem(item, "top-level").keys()]).toEqual(["item__pk", "item__m", "item__l"]);
  });

  it("keeps the default layout (one schema, no filter) when the layout gates are off", () => {
    const on = (f: string) => f === "core" || f === "kill";
    for (let seed = 1; seed <= 10; seed++) {
      const w = generatePgWorkload({ rng: createRng(seed), on, qualifiedNames: true });
      expect(w.layout.config).toEqual({});
      expect(w.layout.included).toEqual(["public"]);
    }
    const moving = (f: string) => f === "core" || f === "schema-move" || f === "same-name-schemas" || f === "row-filter";
    const configs = Array.from({ length: 20 }, (_, seed) => generatePgWorkload({ rng: createRng(seed), on: moving, qualifiedNames: true }).layout);
    expect(configs.some((l) => l.naming === "schema_table")).toBe(true);
    expect(configs.some((l) => l.rowFilters.size > 0)).toBe(true);
    expect(configs.every((l) => l.naming === "table" || l.included.length === 2)).toBe(true);
  });
});
