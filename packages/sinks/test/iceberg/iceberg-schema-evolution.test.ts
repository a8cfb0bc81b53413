import { describe, expect, it } from "vitest";
import type { TableSchema } from "@zero-etl/core";
import { evolveIcebergSchema, toIcebergSchema } from "@zero-etl/sinks/iceberg";

// Pure schema evolution: renames by field id and their corner cases.
const options = { unconstrainedDecimal: "decimal(38,10)" } as const;
const text = { kind: "string" } as const;
const schemaOf = (columns: readonly string[]): TableSchema => ({
  table: { namespace: "public", name: "t" },
  version: 1,
  primaryKey: ["id"],
  columns: [{ name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false }, ...columns.map((name) => ({ name, type: text, nullable: true }))],
});
const start = toIcebergSchema(schemaOf(["a", "b"]), options);
const fields = (schema: { fields: readonly { id: number; name: string; required: boolean }[] } | undefined) => schema?.fields.map((f) => `${f.id}:${f.name}`);

describe("iceberg schema evolution: renames", () => {
  it("renames in place, keeping the field id", () => {
    const next = evolveIcebergSchema(start.schema, start.lastColumnId, schemaOf(["c", "b"]), options, { c: "a" });
    expect(fields(next?.schema)).toEqual(["1:id", "2:c", "3:b"]);
    expect(next?.lastColumnId).toBe(start.lastColumnId);
  });

  it("without the renamed map, a rename is a dropped column and a new one", () => {
    const next = evolveIcebergSchema(start.schema, start.lastColumnId, schemaOf(["c", "b"]), options);
    expect(fields(next?.schema)).toEqual(["1:id", "4:c", "3:b", "2:a"]);
  });

  it("ignores a replayed rename whose old name is gone", () => {
    const renamed = evolveIcebergSchema(start.schema, start.lastColumnId, schemaOf(["c", "b"]), options, { c: "a" });
    if (renamed === undefined) throw new Error("no change");
    expect(evolveIcebergSchema(renamed.schema, renamed.lastColumnId, schemaOf(["c", "b"]), options, { c: "a" })).toBeUndefined();
  });

  it("keeps the new name's field when a replay took the old name again after the rename (fuzzer seed 2010)", () => {
    // re-read under the new name c (ids 1-3), then a replayed event of the old shape adds a again (id 4), then the rename c <- a is replayed
    const reread = toIcebergSchema(schemaOf(["c", "b"]), options);
    const oldShape = evolveIcebergSchema(reread.schema, reread.lastColumnId, schemaOf(["a", "b"]), options);
    if (oldShape === undefined) throw new Error("no change");
    expect(fields(oldShape.schema)).toEqual(["1:id", "4:a", "3:b", "2:c"]);
    // nothing to do: c keeps id 2 (the re-read's values), a stays as a dropped column (before, a was renamed onto c and id 2 left the schema)
    expect(evolveIcebergSchema(oldShape.schema, oldShape.lastColumnId, schemaOf(["c", "b"]), options, { c: "a" })).toBeUndefined();
  });

  it("gives a new column the old name a rename freed, with a new id", () => {
    const next = evolveIcebergSchema(start.schema, start.lastColumnId, schemaOf(["c", "b", "a"]), options, { c: "a" });
    expect(fields(next?.schema)).toEqual(["1:id", "2:c", "3:b", "4:a"]);
  });

  it("moves a dropped column out of the way of a rename onto its name", () => {
    // b was dropped at the source earlier (optional already, so it stays as a leftover unchanged); then a is renamed to b
    expect(evolveIcebergSchema(start.schema, start.lastColumnId, schemaOf(["a"]), options)).toBeUndefined();
    const next = evolveIcebergSchema(start.schema, start.lastColumnId, schemaOf(["b"]), options, { b: "a" });
    expect(fields(next?.schema)).toEqual(["1:id", "2:b"]);
  });

  it("keeps the identifier field when the key column is renamed", () => {
    const next = evolveIcebergSchema(start.schema, start.lastColumnId, { ...schemaOf(["a", "b"]), primaryKey: ["key"], columns: schemaOf(["a", "b"]).columns.map((c) => (c.name === "id" ? { ...c, name: "key" } : c)) }, options, { key: "id" });
    expect(fields(next?.schema)).toEqual(["1:key", "2:a", "3:b"]);
    expect(next?.schema["identifier-field-ids"]).toEqual([1]);
  });
});

describe("iceberg schema evolution: unconstrained decimals", () => {
  const numeric: TableSchema = {
    table: { namespace: "public", name: "n" },
    version: 1,
    primaryKey: ["id"],
    columns: [
      { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
      { name: "n", type: { kind: "decimal" }, nullable: true },
    ],
  };

  it("maps them to string by the default rule and keeps a decimal(38,10) column a table already has", () => {
    expect(toIcebergSchema(numeric, { unconstrainedDecimal: "string" }).schema.fields[1]?.type).toBe("string");
    const old = toIcebergSchema(numeric, { unconstrainedDecimal: "decimal(38,10)" });
    expect(old.schema.fields[1]?.type).toBe("decimal(38,10)");
    // a lake written before the default became string: no refused type change on restart
    expect(evolveIcebergSchema(old.schema, old.lastColumnId, numeric, { unconstrainedDecimal: "string" })).toBeUndefined();
  });
});

describe("iceberg schema evolution: types of issue 19", () => {
  const base: TableSchema = {
    table: { namespace: "public", name: "t" },
    columns: [
      { name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false },
      { name: "h", type: { kind: "json", native: { dialect: "postgres", name: "hstore" } }, nullable: true },
      { name: "arr", type: { kind: "list", element: { kind: "int", bits: 32, signed: true }, native: { dialect: "postgres", name: "integer[]" } }, nullable: true },
    ],
    primaryKey: ["id"],
    version: 1,
  };
  const mapType = { kind: "map", key: { kind: "string" }, value: { kind: "string" }, native: { dialect: "postgres", name: "hstore" } } as const;
  const options = { unconstrainedDecimal: "string" } as const;

  it("keeps an hstore column written as a JSON string before maps existed", () => {
    const start = toIcebergSchema(base, options);
    expect(start.schema.fields[1]?.type).toBe("string");
    const next: TableSchema = { ...base, columns: base.columns.map((c) => (c.name === "h" ? { ...c, type: mapType } : c)) };
    expect(evolveIcebergSchema(start.schema, start.lastColumnId, next, options)).toBeUndefined();
  });

  it("maps a map with key and value ids, and keeps a list deepened by its values when the one-level source type comes again", () => {
    const withMap: TableSchema = { ...base, columns: base.columns.map((c) => (c.name === "h" ? { ...c, type: mapType } : c)) };
    const start = toIcebergSchema(withMap, options);
    expect(start.schema.fields[1]?.type).toEqual({ type: "map", "key-id": 4, key: "string", "value-id": 5, value: "string", "value-required": false });
    const deep = {
      ...start.schema,
      fields: start.schema.fields.map((f) => (f.name === "arr" ? { ...f, type: { type: "list" as const, "element-id": 7, "element-required": false, element: { type: "list" as const, "element-id": 8, "element-required": false, element: "int" } } } : f)),
    };
    expect(evolveIcebergSchema(deep, 8, withMap, options)).toBeUndefined();
  });
});
