import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChangeEvent, MapperContext, TableSchema } from "@zero-etl/core";
import { ConfigError, composeMappers } from "@zero-etl/core";
import { RowFilterSyntaxError, compareDecimalText, compileRowFilter, createFilterMapper, parseTableFilter } from "@zero-etl/mappers";

describe("compileRowFilter", () => {
  it("evaluates comparisons, IN, IS NULL, LIKE and boolean logic", () => {
    const f = compileRowFilter("category = 'mysteries' AND author <> 'X' AND (pages >= 100 OR \"in stock\") AND NOT isbn IS NULL");
    expect(f({ category: "mysteries", author: "Y", pages: 120, "in stock": false, isbn: "1" })).toBe(true);
    expect(f({ category: "mysteries", author: "X", pages: 120, "in stock": false, isbn: "1" })).toBe(false);
    expect(f({ category: "mysteries", author: "Y", pages: 10, "in stock": true, isbn: "1" })).toBe(true);
    expect(f({ category: "mysteries", author: "Y", pages: 10, "in stock": true, isbn: null })).toBe(false);
    expect(f.columns).toEqual(["category", "author", "pages", "in stock", "isbn"]);
    expect(compileRowFilter("code IN ('a', 'b') AND n NOT IN (1, 2)")({ code: "b", n: 3 })).toBe(true);
    expect(compileRowFilter("code NOT IN ('a', 'b')")({ code: "a" })).toBe(false);
    expect(compileRowFilter("name LIKE 'J_n%'")({ name: "Jane Doe" })).toBe(true);
    expect(compileRowFilter("name NOT LIKE '%.%'")({ name: "a.b" })).toBe(false);
    expect(compileRowFilter("name like '100%'")({ name: "100% (x)" })).toBe(true);
    expect(compileRowFilter("note = 'it''s'")({ note: "it's" })).toBe(true);
    expect(compileRowFilter("active = TRUE and deleted IS NOT NULL")({ active: true, deleted: null })).toBe(false);
  });

  it("treats NULL as unknown, as SQL does", () => {
    expect(compileRowFilter("a = 1")({ a: null })).toBe(false);
    expect(compileRowFilter("NOT a = 1")({ a: null })).toBe(false);
    expect(compileRowFilter("a = 1 OR b = 2")({ a: null, b: 2 })).toBe(true);
    expect(compileRowFilter("a NOT IN (1, NULL)")({ a: 3 })).toBe(false);
  });

  it("compares decimal strings and bigints exactly", () => {
    const big = compileRowFilter("balance > 12345678901234567890.000000000000000001");
    expect(big({ balance: "12345678901234567890.000000000000000002" })).toBe(true);
    expect(big({ balance: "12345678901234567890.000000000000000001" })).toBe(false);
    expect(compileRowFilter("id = 9007199254740993")({ id: 9007199254740993n })).toBe(true);
    expect(compileRowFilter("id = 9007199254740993")({ id: 9007199254740992n })).toBe(false);
    expect(compileRowFilter("price = 1.5")({ price: "1.50" })).toBe(true);
    expect(compileRowFilter("price < -0.5")({ price: "-0.75" })).toBe(true);
    expect(compileRowFilter("n >= 1e3")({ n: 1000 })).toBe(true);
  });

  it("property: decimal comparison agrees with bigint arithmetic", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.nat(12), (a, b, scale) => {
        const text = (v: bigint) => {
          const neg = v < 0n;
          const digits = (neg ? -v : v).toString().padStart(scale + 1, "0");
          const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
          return neg ? `-${body}` : body;
        };
        expect(Math.sign(compareDecimalText(text(a), text(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });

  it("reports syntax errors with a 1-based column and a caret", () => {
    const column = (expression: string) => {
      try {
        compileRowFilter(expression);
      } catch (error) {
        if (error instanceof RowFilterSyntaxError) return { column: error.column, message: error.message };
        throw error;
      }
      throw new Error("no error");
    };
    expect(column("a = 1 AND").column).toBe(10);
    expect(column("a = = 1").column).toBe(5);
    expect(column("a IN (1, 2").column).toBe(11);
    expect(column("a = 'open").column).toBe(5);
    expect(column("a # 1").column).toBe(3);
    expect(column("(a = 1) b").column).toBe(9);
    expect(column("").column).toBe(1);
    expect(column("x = 1 AND y LIKE 3").message).toContain("x = 1 AND y LIKE 3\n                   ^");
    expect(() => compileRowFilter("a = 1")).not.toThrow();
    expect(new RowFilterSyntaxError({ path: "p", expression: "x", column: 1, expected: "y" })).toBeInstanceOf(ConfigError);
  });
});

describe("createFilterMapper", () => {
  const context: MapperContext = {
    sink: { nestedData: "json", maxIdentifierLength: 63, upsert: true, transactionalDdl: true, checkpointsInTarget: true, keylessTables: true },
  };
  const books = { namespace: "shop", name: "books" };
  const schema: TableSchema = {
    table: books,
    columns: [
      { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
      { name: "category", type: { kind: "string" }, nullable: true },
      { name: "author", type: { kind: "string" }, nullable: true },
    ],
    primaryKey: ["id"],
    version: 1,
  };
  const mapper = createFilterMapper({
    tables: parseTableFilter({ include: ["shop.*"], exclude: ["shop.tmp"] }),
    rows: { "shop.books": "category = 'mysteries' AND author <> 'X'" },
  });
  const at = { table: books, position: "1" };
  const m = (category: string) => ({ id: 1, category, author: "Y" });

  it("drops excluded tables and checks row-filter columns against the schema", () => {
    expect(mapper.mapSchema(schema, context)).toEqual([schema]);
    expect(mapper.mapSchema({ ...schema, table: { namespace: "shop", name: "tmp" } }, context)).toEqual([]);
    expect(mapper.mapChunk?.({ table: { namespace: "crm", name: "x" }, schema, rows: [], chunk: 0, last: true, rowsRead: 0 }, context)).toEqual([]);
    const typo = createFilterMapper({ rows: { "shop.books": "categroy = 'x'" } });
    expect(() => typo.mapSchema(schema, context)).toThrow(/unknown column "categroy"/);
  });

  it("follows rows across the filter boundary on update", () => {
    const events: ChangeEvent[] = [
      { op: "insert", ...at, after: m("mysteries") },
      { op: "insert", ...at, after: m("poetry") },
      { op: "update", ...at, key: { id: 1 }, before: m("poetry"), after: m("mysteries") },
      { op: "update", ...at, key: { id: 1 }, before: m("mysteries"), after: m("poetry") },
      { op: "update", ...at, key: { id: 1 }, before: m("poetry"), after: m("drama") },
      { op: "update", ...at, key: { id: 1 }, before: m("mysteries"), after: { ...m("mysteries"), author: "Z" } },
      { op: "update", ...at, key: { id: 1 }, after: m("drama") },
      { op: "delete", ...at, key: { id: 1 }, before: m("poetry") },
      { op: "delete", ...at, key: { id: 1 } },
      { op: "insert", table: { namespace: "shop", name: "tmp" }, position: "1", after: { id: 1 } },
    ];
    expect(mapper.mapEvents(events, context).map((e) => e.op)).toEqual(["insert", "insert", "delete", "update", "delete", "delete"]);
  });

  it("filters snapshot rows", () => {
    const [chunk] = mapper.mapChunk?.({ table: books, schema, rows: [m("mysteries"), m("poetry")], chunk: 0, last: true, rowsRead: 2 }, context) ?? [];
    expect(chunk?.rows).toEqual([m("mysteries")]);
  });

  it("says which tables' rows pass through unchanged (selected, no row filter), also when composed", () => {
    const authors = { ...schema, table: { namespace: "shop", name: "authors" } };
    expect(mapper.passesRowsThrough?.(authors, context)).toBe(true);
    expect(mapper.passesRowsThrough?.(schema, context)).toBe(false);
    expect(mapper.passesRowsThrough?.({ ...schema, table: { namespace: "shop", name: "tmp" } }, context)).toBe(false);
    expect(composeMappers([mapper]).passesRowsThrough?.(authors, context)).toBe(true);
    expect(composeMappers([]).passesRowsThrough?.(authors, context)).toBe(true);
    // a mapper that does not say is taken as changing rows
    const silent = { name: "silent", mapSchema: (s: TableSchema) => [s], mapEvents: (e: readonly ChangeEvent[]) => e };
    expect(composeMappers([mapper, silent]).passesRowsThrough?.(authors, context)).toBe(false);
  });
});
