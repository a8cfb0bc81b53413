import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Row, TableSchema } from "@zero-etl/core";
import {
  identifierBytes,
  inferSchema,
  jsonNumberToDecimal,
  parseLosslessJson,
  parseUnnestMode,
  renest,
  shortenIdentifier,
  unnestDocument,
  IdentifierRegistry,
} from "@zero-etl/mappers";

const name = fc.string({ maxLength: 4 }).filter((s) => !s.includes("_"));
type ScalarOrObject = "i" | "s" | "b" | "d" | "o";
type Kind = ScalarOrObject | "li" | "ls" | "lb" | "ld" | "lo";

// Leaf types follow the key's prefix (a list's element type too: `li`, `ls`,
// ...), so a path keeps one type across list elements and the round trip is
// exact (widening bool or int to string is lossy by design).
function valueArb(kind: Kind, depth: number): fc.Arbitrary<string> {
  switch (kind) {
    case "i":
      return fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String);
    case "s":
      return fc.string({ unit: "binary", maxLength: 8 }).map((s) => JSON.stringify(s));
    case "b":
      return fc.boolean().map(String);
    case "d":
      return fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.stringMatching(/^[0-9]{1,12}$/)).map(([a, b]) => `${a}.${b}`);
    case "o":
      return objectArb(depth + 1);
    case "li":
    case "ls":
    case "lb":
    case "ld":
    case "lo":
      return fc.array(valueArb(kind.slice(1) as ScalarOrObject, depth + 1), { minLength: 1, maxLength: 3 }).map((items) => `[${items.join(", ")}]`);
  }
}

function objectArb(depth: number): fc.Arbitrary<string> {
  const kinds: Kind[] = depth >= 3 ? ["i", "s", "b", "d"] : ["i", "s", "b", "d", "o", "li", "ls", "lb", "ld", "lo"];
  return fc
    .uniqueArray(fc.tuple(fc.constantFrom(...kinds), name), { minLength: 1, maxLength: 4, selector: ([k, n]) => k + n })
    .chain((entries) => fc.tuple(...entries.map(([k, n]) => valueArb(k, depth).map((v) => `${JSON.stringify(k + n)}: ${v}`))))
    .map((parts) => `{${parts.join(", ")}}`);
}

describe("unnestDocument", () => {
  it("defaults to none and accepts the AWS spellings", () => {
    expect(parseUnnestMode(undefined)).toBe("none");
    expect(parseUnnestMode("NO_UNNEST")).toBe("none");
    expect(parseUnnestMode("NOUNNEST")).toBe("none");
    expect(parseUnnestMode("TOP_LEVEL")).toBe("top-level");
    expect(parseUnnestMode("TOPLEVEL")).toBe("top-level");
    expect(parseUnnestMode("FULL")).toBe("all");
    expect(() => parseUnnestMode("deep")).toThrow(/unnest.mode/);
    expect(unnestDocument('{"a":{"b":1}}', { column: "doc" }).row).toEqual({ doc: '{"a":{"b":1}}' });
  });

  it("flattens top-level attributes only in top-level mode", () => {
    const { row, schemas } = unnestDocument('{"a": {"b": 1}, "c": [1, 2], "d": "x"}', { mode: "top-level", column: "doc" });
    expect(row).toEqual({ doc__a: '{"b": 1}', doc__c: "[1, 2]", doc__d: "x" });
    expect(schemas[0]?.columns.map((c) => [c.name, c.type.kind])).toEqual([
      ["doc__a", "json"],
      ["doc__c", "json"],
      ["doc__d", "string"],
    ]);
  });

  it("keeps every digit of numbers and types them as int64 or decimal", () => {
    const { row, schemas } = unnestDocument(
      '{"big": 9223372036854775807, "bigger": 9223372036854775808, "neg": -9223372036854775808, "dec": 1.50, "exp": 1.5e-3, "x": {"y": 123456789012345678901234567890.123}}',
      { mode: "all" },
    );
    expect(row).toEqual({
      big: 9223372036854775807n,
      bigger: "9223372036854775808",
      neg: -9223372036854775808n,
      dec: "1.50",
      exp: "0.0015",
      x__y: "123456789012345678901234567890.123",
    });
    expect(schemas[0]?.columns.find((c) => c.name === "big")?.type).toEqual({ kind: "int", bits: 64, signed: true });
    expect(schemas[0]?.columns.find((c) => c.name === "bigger")?.type).toEqual({ kind: "decimal" });
  });

  it("respects maxDepth and a custom separator, and decodes escaped keys", () => {
    const doc = '{"a": {"b": {"c": 1}}, "k\\u00e9y": {"q\\"": true}}';
    expect(unnestDocument(doc, { mode: "all", maxDepth: 2, separator: "." }).row).toEqual({ "a.b": '{"c": 1}', "kéy.q\"": true });
  });

  it("explodes lists into child tables with deterministic ids, parent first", () => {
    const doc = '{"items": [{"sku": "a", "tags": ["x", "y"]}, {"sku": "b"}], "n": 1}';
    const first = unnestDocument(doc, { mode: "all", lists: "child-tables", key: { id: 7n }, table: "orders", column: "doc" });
    const again = unnestDocument(doc, { mode: "all", lists: "child-tables", key: { id: 7n }, table: "orders", column: "doc" });
    expect(first).toEqual(again);
    expect(first.row).toEqual({ id: 7n, doc__n: 1n });
    const items = first.children["orders__doc__items"] ?? [];
    const tags = first.children["orders__doc__items__tags"] ?? [];
    expect(items.map((r) => [r["id"], r["_zeroetl_list_idx"], r["sku"]])).toEqual([
      [7n, 0, "a"],
      [7n, 1, "b"],
    ]);
    expect(tags.map((r) => r["value"])).toEqual(["x", "y"]);
    expect(tags.every((r) => r["_zeroetl_parent_id"] === items[0]?.["_zeroetl_id"])).toBe(true);
    expect(items[0]?.["_zeroetl_parent_id"]).toBe(items[1]?.["_zeroetl_parent_id"]);
    const other = unnestDocument(doc, { mode: "all", lists: "child-tables", key: { id: 8n }, table: "orders", column: "doc" });
    expect(other.children["orders__doc__items"]?.[0]?.["_zeroetl_id"]).not.toBe(items[0]?.["_zeroetl_id"]);
    expect(first.schemas.map((s) => [s.table.name, s.primaryKey])).toEqual([
      ["orders", ["id"]],
      ["orders__doc__items", ["id", "_zeroetl_parent_id", "_zeroetl_list_idx"]],
      ["orders__doc__items__tags", ["id", "_zeroetl_parent_id", "_zeroetl_list_idx"]],
    ]);
  });

  it("flattens struct values with their declared types", () => {
    const { row } = unnestDocument({ a: { b: 5, c: "x" }, d: [1n, 2n] }, { mode: "all", column: "s" });
    expect(row).toEqual({ s__a__b: 5n, s__a__c: "x", s__d: "[1,2]" });
  });

  it("shortens long identifiers deterministically and without collisions", () => {
    const long = "attribute_with_a_very_long_name_".repeat(4);
    const a = shortenIdentifier(`${long}one`, 63);
    const b = shortenIdentifier(`${long}two`, 63);
    expect(a).not.toBe(b);
    expect(identifierBytes(a)).toBeLessThanOrEqual(63);
    expect(shortenIdentifier(`${long}one`, 63)).toBe(a);
    expect(identifierBytes(shortenIdentifier("é".repeat(40), 63))).toBeLessThanOrEqual(63);
    const registry = new IdentifierRegistry(20);
    registry.reserve(shortenIdentifier("x".repeat(30), 20));
    const next = registry.assign("x".repeat(30));
    expect(next).not.toBe(shortenIdentifier("x".repeat(30), 20));
    expect(identifierBytes(next)).toBeLessThanOrEqual(20);
    const { row } = unnestDocument(`{"${"k".repeat(80)}": 1, "${"k".repeat(79)}": 2}`, { mode: "all", maxIdentifierLength: 63 });
    const names = Object.keys(row);
    expect(new Set(names).size).toBe(2);
    for (const n of names) expect(identifierBytes(n)).toBeLessThanOrEqual(63);
  });

  it("keeps very deep nesting as JSON below maxDepth and rejects malformed JSON", () => {
    const deep = `${'{"a":'.repeat(100)}1${"}".repeat(100)}`;
    const { row } = unnestDocument(deep, { mode: "all", maxIdentifierLength: 1000 });
    const [name] = Object.keys(row);
    expect(name?.split("__").length).toBe(64);
    expect(JSON.parse(String(row[name ?? ""]))).toBeTypeOf("object");
    const lists = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(() => unnestDocument(lists, { mode: "all", lists: "child-tables", key: { id: 1n } })).not.toThrow();
    expect(() => unnestDocument('{"a" 1}', { mode: "all" })).toThrow(/expected ':'/);
    expect(() => unnestDocument('{"a": "open', { mode: "all" })).toThrow(/unterminated/);
  });

  it("converts exponent numbers to exact decimal strings", () => {
    expect(jsonNumberToDecimal("1.5e3")).toBe("1500");
    expect(jsonNumberToDecimal("-2E-3")).toBe("-0.002");
    expect(jsonNumberToDecimal("12.5e-1")).toBe("1.25");
    expect(jsonNumberToDecimal("0e5")).toBe("0");
  });

  it("property: unnest (lists as JSON) then renest restores the document", () => {
    fc.assert(
      fc.property(objectArb(0), (doc) => {
        const { row, schemas } = unnestDocument(doc, { mode: "all", column: "doc" });
        const schema = schemas[0] as TableSchema;
        expect(parseLosslessJson(renest(row, { schema, column: "doc" }) ?? "null")).toEqual(parseLosslessJson(doc));
      }),
      { numRuns: 300 },
    );
  });

  it("property: unnest (lists as child tables) then renest restores the document", () => {
    fc.assert(
      fc.property(objectArb(0), fc.bigInt({ min: 1n, max: 1000n }), (doc, id) => {
        // the root key's name cannot occur in generated documents: an attribute
        // named like it is renamed in child tables, which renest cannot undo
        const { row, children, schemas } = unnestDocument(doc, { mode: "all", column: "doc", lists: "child-tables", key: { _pk: id }, table: "t" });
        const byName: Record<string, { schema: TableSchema; rows: readonly Row[] }> = {};
        for (const schema of schemas.slice(1)) byName[schema.table.name] = { schema, rows: children[schema.table.name] ?? [] };
        const text = renest(row, { schema: schemas[0] as TableSchema, column: "doc", children: byName, key: ["_pk"] });
        expect(parseLosslessJson(text ?? "null")).toEqual(parseLosslessJson(doc));
      }),
      { numRuns: 300 },
    );
  });
});

describe("inferSchema", () => {
  const source: TableSchema = {
    table: { namespace: "app", name: "events" },
    columns: [
      { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
      { name: "payload", type: { kind: "json" }, nullable: true },
    ],
    primaryKey: ["id"],
    version: 1,
  };

  it("widens types across rows instead of failing", () => {
    const rows: Row[] = [
      { id: 1n, payload: '{"n": 1, "m": 1, "f": true, "o": {"x": 1}, "s": "a"}' },
      { id: 2n, payload: '{"n": 2.5, "m": "two", "f": 3, "o": 4, "s": 5}' },
    ];
    const [root] = inferSchema(rows, { schema: source, mode: "all" });
    expect(root?.columns.map((c) => [c.name, c.type.kind, c.nullable])).toEqual([
      ["id", "int", false],
      ["payload__n", "decimal", true],
      ["payload__m", "string", true],
      ["payload__f", "string", true],
      ["payload__s", "string", true],
      ["payload__o", "json", true],
    ]);
  });

  it("starts from the declared struct type", () => {
    const structSource: TableSchema = {
      ...source,
      columns: [
        source.columns[0] as TableSchema["columns"][number],
        {
          name: "item",
          type: { kind: "struct", fields: [{ name: "price", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: true }, { name: "qty", type: { kind: "int", bits: 32, signed: true }, nullable: false }] },
          nullable: true,
        },
      ],
    };
    const [root] = inferSchema([], { schema: structSource, mode: "all" });
    expect(root?.columns.map((c) => [c.name, c.type])).toEqual([
      ["id", { kind: "int", bits: 64, signed: true }],
      ["item__price", { kind: "decimal", precision: 12, scale: 2 }],
      ["item__qty", { kind: "int", bits: 32, signed: true }],
    ]);
  });

  it("does not change its input rows", () => {
    const row = Object.freeze({ id: 1n, payload: '{"a": {"b": [1]}}' });
    expect(() => inferSchema([row], { schema: source, mode: "all", lists: "child-tables" })).not.toThrow();
    expect(row).toEqual({ id: 1n, payload: '{"a": {"b": [1]}}' });
  });
});
