import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LogicalType, TableSchema } from "@zero-etl/core";
import { applySchemaChanges, classifyChanges, diffSchemas, isWidening } from "@zero-etl/mappers";
import { tableSchemaArb } from "./schema-arbitraries.js";

const int = (bits: 8 | 16 | 32 | 64, signed = true): LogicalType => ({ kind: "int", bits, signed });
const dec = (precision: number, scale: number): LogicalType => ({ kind: "decimal", precision, scale });
const str = (maxLength?: number): LogicalType => (maxLength === undefined ? { kind: "string" } : { kind: "string", maxLength });
const ts = (precision: number, withZone = false): LogicalType => ({ kind: "timestamp", precision, withZone });
const base: TableSchema = {
  table: { namespace: "app", name: "orders" },
  columns: [
    { name: "id", type: int(32), nullable: false },
    { name: "total", type: dec(10, 2), nullable: true },
    { name: "note", type: str(20), nullable: true },
  ],
  primaryKey: ["id"],
  version: 3,
};

describe("isWidening", () => {
  it("follows the widening rules", () => {
    expect(isWidening(int(8), int(16))).toBe(true);
    expect(isWidening(int(32), int(64))).toBe(true);
    expect(isWidening(int(64), int(32))).toBe(false);
    expect(isWidening(int(64), dec(19, 0))).toBe(true);
    expect(isWidening(int(64), dec(18, 0))).toBe(false);
    expect(isWidening(int(64), { kind: "decimal" })).toBe(true);
    expect(isWidening(int(32, false), int(64))).toBe(true);
    expect(isWidening(int(32, false), int(32))).toBe(false);
    expect(isWidening(int(32), int(64, false))).toBe(false);
    expect(isWidening({ kind: "float", bits: 32 }, { kind: "float", bits: 64 })).toBe(true);
    expect(isWidening(dec(10, 2), dec(12, 4))).toBe(true);
    expect(isWidening(dec(10, 2), dec(12, 5))).toBe(false);
    expect(isWidening(dec(10, 2), dec(10, 1))).toBe(false);
    expect(isWidening(str(10), str(20))).toBe(true);
    expect(isWidening(str(20), str())).toBe(true);
    expect(isWidening(str(), str(20))).toBe(false);
    expect(isWidening({ kind: "string", enumValues: ["a"] }, { kind: "string", enumValues: ["a", "b"] })).toBe(true);
    expect(isWidening(ts(3), ts(6))).toBe(true);
    expect(isWidening(ts(3), ts(6, true))).toBe(false);
    expect(isWidening({ kind: "date" }, ts(0))).toBe(true);
    expect(isWidening(str(), { kind: "json" })).toBe(false);
    expect(isWidening(int(32), int(32))).toBe(false);
  });
});

describe("diffSchemas", () => {
  it("lists column changes in order", () => {
    const next: TableSchema = {
      ...base,
      columns: [
        { name: "id", type: int(64), nullable: false },
        { name: "amount", type: dec(10, 2), nullable: false },
        { name: "note", type: int(32), nullable: true },
        { name: "created_at", type: ts(6, true), nullable: true },
      ],
      primaryKey: ["id", "created_at"],
    };
    const changes = diffSchemas(base, next, { renamed: { amount: "total" } });
    expect(changes.map((c) => c.kind)).toEqual(["rename-column", "add-column", "change-primary-key", "widen-type", "change-type", "set-nullable"]);
    expect(changes[0]).toEqual({ kind: "rename-column", from: "total", to: "amount" });
    expect(changes[3]).toEqual({ kind: "widen-type", column: "id", from: int(32), to: int(64) });
    expect(changes[5]).toEqual({ kind: "set-nullable", column: "amount", nullable: false });
    expect(applySchemaChanges(base, changes)).toEqual({ ...next, version: 4 });
  });

  it("returns nothing for equal schemas and rejects impossible renames", () => {
    expect(diffSchemas(base, { ...base, version: 9 })).toEqual([]);
    expect(() => diffSchemas(base, base, { renamed: { x: "nope" } })).toThrow(/renamed.x/);
  });

  it("property: applySchemaChanges(a, diffSchemas(a, b)) equals b", () => {
    fc.assert(
      fc.property(tableSchemaArb, tableSchemaArb, (a, b) => {
        const changes = diffSchemas(a, b);
        expect(applySchemaChanges(a, changes, { version: b.version })).toEqual(b);
        expect(diffSchemas(a, a)).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it("property: round trip with renames the source reported", () => {
    fc.assert(
      fc.property(tableSchemaArb, fc.context(), (a, ctx) => {
        const renamedFrom = a.columns[0]?.name ?? "id";
        const to = `${renamedFrom}_renamed`;
        const b: TableSchema = { ...a, columns: a.columns.map((c) => (c.name === renamedFrom ? { ...c, name: to } : c)), primaryKey: a.primaryKey.map((n) => (n === renamedFrom ? to : n)) };
        const changes = diffSchemas(a, b, { renamed: { [to]: renamedFrom } });
        ctx.log(JSON.stringify(changes));
        expect(changes).toEqual([{ kind: "rename-column", from: renamedFrom, to }]);
        expect(applySchemaChanges(a, changes, { version: 1 })).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });
});

describe("classifyChanges", () => {
  const next: TableSchema = {
    ...base,
    columns: [
      { name: "id", type: int(64), nullable: false },
      { name: "total", type: str(), nullable: true },
      { name: "note", type: str(20), nullable: true },
      { name: "extra", type: { kind: "json" }, nullable: true },
    ],
  };
  const changes = diffSchemas(base, next);

  it("evolves by default: widenings and additions apply, other type changes go to a variant column", () => {
    const out = classifyChanges(changes, { table: base.table, policy: {} });
    expect(out.map((c) => [c.change.kind, c.outcome, c.outcome === "diverted" ? c.to : null])).toEqual([
      ["add-column", "applied", null],
      ["widen-type", "applied", null],
      ["change-type", "diverted", "variant-column"],
    ]);
    expect(out[2]?.outcome === "diverted" && out[2].to === "variant-column" ? out[2].variantColumn : "").toBe("total__v_string");
  });

  it("uses the most specific mode: column, then type kind, then table, then default", () => {
    const out = classifyChanges(changes, {
      table: base.table,
      policy: { default: "evolve", tables: { "app.orders": "freeze" }, types: { json: "discard-value" }, columns: { "app.orders.total": "discard-row" } },
    });
    expect(out.map((c) => [c.change.kind, c.mode, c.outcome])).toEqual([
      ["add-column", "discard-value", "diverted"],
      ["widen-type", "freeze", "refused"],
      ["change-type", "discard-row", "diverted"],
    ]);
    expect(out[0]?.outcome === "diverted" ? out[0].to : "").toBe("discard");
    expect(out[2]?.outcome === "diverted" ? out[2].to : "").toBe("dead-letter");
    expect(out[1]?.outcome === "refused" ? out[1].tableState : "").toBe("resync-required");
  });

  it("refuses a primary-key change under evolve and freeze", () => {
    const pk = diffSchemas(base, { ...base, primaryKey: ["id", "note"] });
    expect(classifyChanges(pk, { table: base.table, policy: {} }).map((c) => c.outcome)).toEqual(["refused"]);
    expect(classifyChanges(pk, { table: base.table, policy: { default: "discard-row" } }).map((c) => c.outcome)).toEqual(["diverted"]);
  });
});
