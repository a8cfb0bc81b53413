import { describe, expect, it } from "vitest";
import type { ChangeEvent, MapperContext, Row, SnapshotChunk, TableSchema } from "@zero-etl/core";
import { composeMappers } from "@zero-etl/core";
import { createUnnestMapper } from "@zero-etl/mappers";

const context: MapperContext = {
  sink: { nestedData: "none", maxIdentifierLength: 63, upsert: true, transactionalDdl: true, checkpointsInTarget: true, keylessTables: false },
};
const table = { namespace: "app", name: "orders" };
const source: TableSchema = {
  table,
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "doc", type: { kind: "json" }, nullable: true },
    { name: "note", type: { kind: "string" }, nullable: true },
  ],
  primaryKey: ["id"],
  version: 1,
};
const at = (n: number) => ({ table, position: `p${n}` });
const summary = (events: readonly ChangeEvent[]) =>
  events.map((e) => {
    switch (e.op) {
      case "schema":
        return ["schema", e.table.name, e.schema.columns.map((c) => `${c.name}:${c.type.kind}`).join(",")];
      case "insert":
        return ["insert", e.table.name, e.after];
      case "update":
        return ["update", e.table.name, e.key, e.after, e.unchanged ?? null];
      case "delete":
        return ["delete", e.table.name, e.key];
      default:
        return [e.op, e.table.name];
    }
  });

describe("createUnnestMapper (lists as JSON)", () => {
  it("emits a schema event when a new flattened column appears, then rows with every known column", () => {
    const mapper = createUnnestMapper({ mode: "all" });
    expect(mapper.mapSchema(source, context)[0]?.columns.map((c) => c.name)).toEqual(["id", "note"]);
    const events = mapper.mapEvents(
      [
        { op: "insert", ...at(1), after: { id: 1n, doc: '{"a": 1, "b": {"c": "x"}}', note: null } },
        { op: "insert", ...at(2), after: { id: 2n, doc: '{"a": 2}', note: "n" } },
        { op: "insert", ...at(3), after: { id: 3n, doc: '{"a": 3, "z": true}', note: null } },
      ],
      context,
    );
    expect(summary(events)).toEqual([
      ["schema", "orders", "id:int,doc__a:int,doc__b__c:string,note:string"],
      ["insert", "orders", { id: 1n, note: null, doc__a: 1n, doc__b__c: "x" }],
      ["insert", "orders", { id: 2n, note: "n", doc__a: 2n, doc__b__c: null }],
      ["schema", "orders", "id:int,doc__a:int,doc__b__c:string,doc__z:bool,note:string"],
      ["insert", "orders", { id: 3n, note: null, doc__a: 3n, doc__b__c: null, doc__z: true }],
    ]);
    const schema = events[0]?.op === "schema" ? events[0] : undefined;
    expect(schema?.previous?.columns.map((c) => c.name)).toEqual(["id", "note"]);
    expect(schema?.schema.version).toBeGreaterThan(1);
  });

  it("sets removed attributes to null and leaves unchanged TOAST columns out", () => {
    const mapper = createUnnestMapper({ mode: "all", sample: { "app.orders": [{ id: 1n, doc: '{"a": 1, "b": 2}', note: null }] } });
    expect(mapper.mapSchema(source, context)[0]?.columns.map((c) => c.name)).toEqual(["id", "doc__a", "doc__b", "note"]);
    const events = mapper.mapEvents(
      [
        { op: "update", ...at(1), key: { id: 1n }, after: { id: 1n, doc: '{"a": 5}', note: "x" } },
        { op: "update", ...at(2), key: { id: 1n }, after: { id: 1n, note: "y" }, unchanged: ["doc"] },
      ],
      context,
    );
    expect(summary(events)).toEqual([
      ["update", "orders", { id: 1n }, { id: 1n, note: "x", doc__a: 5n, doc__b: null }, null],
      ["update", "orders", { id: 1n }, { id: 1n, note: "y" }, ["doc__a", "doc__b"]],
    ]);
  });

  it("widens a column and re-flattens the event so values match the new type", () => {
    const mapper = createUnnestMapper({ mode: "all" });
    mapper.mapSchema(source, context);
    const events = mapper.mapEvents(
      [
        { op: "insert", ...at(1), after: { id: 1n, doc: '{"a": 1}', note: null } },
        { op: "insert", ...at(2), after: { id: 2n, doc: '{"a": 1.25}', note: null } },
        { op: "insert", ...at(3), after: { id: 3n, doc: '{"a": "text"}', note: null } },
      ],
      context,
    );
    expect(summary(events).filter((e) => e[0] === "schema").map((e) => e[2])).toEqual([
      "id:int,doc__a:int,note:string",
      "id:int,doc__a:decimal,note:string",
      // a string mixed with numbers: JSON, so that each value keeps its type (the default context's target alters types losslessly)
      "id:int,doc__a:json,note:string",
    ]);
    expect(events.flatMap((e) => (e.op === "insert" ? [e.after["doc__a"]] : []))).toEqual([1n, "1.25", '"text"']);
  });

  it("maps snapshot chunks with one schema that fits all rows, through composeMappers", () => {
    const mapper = composeMappers([createUnnestMapper({ mode: "TOP_LEVEL" })]);
    const chunk: SnapshotChunk = {
      table,
      schema: source,
      rows: [
        { id: 1n, doc: '{"a": 1, "o": {"x": 1}}', note: null },
        { id: 2n, doc: '{"a": "one"}', note: null },
      ],
      chunk: 0,
      last: true,
      rowsRead: 2,
    };
    const [out] = mapper.mapChunk?.(chunk, context) ?? [];
    expect(out?.schema.columns.map((c) => `${c.name}:${c.type.kind}`)).toEqual(["id:int", "doc__a:json", "doc__o:json", "note:string"]);
    expect(out?.rows).toEqual([
      { id: 1n, note: null, doc__a: "1", doc__o: '{"x": 1}' },
      { id: 2n, note: null, doc__a: '"one"', doc__o: null },
    ]);
    expect(chunk.rows[0]).toEqual({ id: 1n, doc: '{"a": 1, "o": {"x": 1}}', note: null });
  });

  it("gives earlier rows of a chunk the columns later rows add, as null", () => {
    const mapper = createUnnestMapper({ mode: "all" });
    const rows = [
      { id: 1n, doc: '{"a": 1}', note: null },
      { id: 2n, doc: '{"a": 2, "b": {"c": true}}', note: null },
    ];
    const [out] = mapper.mapChunk?.({ table, schema: source, rows, chunk: 0, last: false, rowsRead: 2 }, context) ?? [];
    expect(out?.rows).toEqual([
      { id: 1n, note: null, doc__a: 1n, doc__b__c: null },
      { id: 2n, note: null, doc__a: 2n, doc__b__c: true },
    ]);
    expect(Object.keys(out?.rows[0] ?? {})).toContain("doc__b__c");
  });

  it("starts a table first met through a schema event", () => {
    const mapper = createUnnestMapper({ mode: "all" });
    const events = mapper.mapEvents(
      [
        { op: "schema", ...at(1), schema: source },
        { op: "insert", ...at(2), after: { id: 1n, doc: '{"q": "x"}', note: null } },
      ],
      context,
    );
    expect(summary(events)).toEqual([
      ["schema", "orders", "id:int,note:string"],
      ["schema", "orders", "id:int,doc__q:string,note:string"],
      ["insert", "orders", { id: 1n, note: null, doc__q: "x" }],
    ]);
  });

  it("names columns by path only with prefix: false (DynamoDB items, AWS style)", () => {
    const items: TableSchema = {
      table: { namespace: "ddb", name: "users" },
      columns: [
        { name: "pk", type: { kind: "string" }, nullable: false },
        { name: "item", type: { kind: "json" }, nullable: false },
      ],
      primaryKey: ["pk"],
      version: 1,
    };
    const mapper = createUnnestMapper({ mode: "TOP_LEVEL", prefix: false });
    const [out] = mapper.mapChunk?.({ table: items.table, schema: items, rows: [{ pk: "u1", item: '{"pk": "u1", "age": 41, "prefs": {"a": 1}}' }], chunk: 0, last: true, rowsRead: 1 }, context) ?? [];
    expect(out?.schema.columns.map((c) => c.name)).toEqual(["pk", expect.stringMatching(/^pk_[0-9a-f]{8}$/), "age", "prefs"]);
    expect(out?.rows[0]).toMatchObject({ pk: "u1", age: 41n, prefs: '{"a": 1}' });
  });

  it("passes everything through in none mode and for unknown tables", () => {
    const none = createUnnestMapper({});
    expect(none.mapSchema(source, context)).toEqual([source]);
    const all = createUnnestMapper({ mode: "all" });
    const events: ChangeEvent[] = [{ op: "insert", ...at(1), after: { id: 1n, doc: "{}", note: null } }];
    expect(all.mapEvents(events, context)).toEqual(events);
  });
});

describe("createUnnestMapper (lists as child tables)", () => {
  const doc = (items: readonly string[]) => JSON.stringify({ items: items.map((sku) => ({ sku })) });
  const childRows = (events: readonly ChangeEvent[], op: string) =>
    events.filter((e) => e.table.name === "orders__doc__items" && e.op === op);

  it("inserts the parent first, then the children with root key, parent id and index", () => {
    const mapper = createUnnestMapper({ mode: "all", lists: "child-tables" });
    mapper.mapSchema(source, context);
    const events = mapper.mapEvents([{ op: "insert", ...at(1), after: { id: 1n, doc: doc(["a", "b"]), note: null } }], context);
    expect(events.map((e) => [e.op, e.table.name])).toEqual([
      ["schema", "orders__doc__items"],
      ["insert", "orders"],
      ["insert", "orders__doc__items"],
      ["insert", "orders__doc__items"],
    ]);
    const children = childRows(events, "insert").map((e) => (e.op === "insert" ? e.after : {}));
    expect(children.map((r) => [r["id"], r["_zeroetl_list_idx"], r["sku"]])).toEqual([
      [1n, 0, "a"],
      [1n, 1, "b"],
    ]);
  });

  it("replaces exactly the old children when the before-image is known", () => {
    const mapper = createUnnestMapper({ mode: "all", lists: "child-tables" });
    mapper.mapSchema(source, context);
    mapper.mapEvents([{ op: "insert", ...at(1), after: { id: 1n, doc: doc(["a", "b", "c"]), note: null } }], context);
    const events = mapper.mapEvents(
      [{ op: "update", ...at(2), key: { id: 1n }, before: { id: 1n, doc: doc(["a", "b", "c"]), note: null }, after: { id: 1n, doc: doc(["z"]), note: null } }],
      context,
    );
    expect(childRows(events, "update").map((e) => (e.op === "update" ? [e.key["_zeroetl_list_idx"], e.after["sku"]] : []))).toEqual([[0, "z"]]);
    expect(childRows(events, "delete").map((e) => (e.op === "delete" ? [e.key["id"], e.key["_zeroetl_list_idx"]] : []))).toEqual([
      [1n, 1],
      [1n, 2],
    ]);
    expect(childRows(events, "insert")).toEqual([]);
  });

  it("deletes children by the root key when no before-image is known", () => {
    const mapper = createUnnestMapper({ mode: "all", lists: "child-tables" });
    mapper.mapSchema(source, context);
    mapper.mapEvents([{ op: "insert", ...at(1), after: { id: 1n, doc: doc(["a", "b"]), note: null } }], context);
    const update = mapper.mapEvents([{ op: "update", ...at(2), key: { id: 1n }, after: { id: 1n, doc: doc(["c"]), note: null } }], context);
    expect(summary(update)).toEqual([
      ["update", "orders", { id: 1n }, { id: 1n, note: null }, null],
      ["delete", "orders__doc__items", { id: 1n }],
      ["insert", "orders__doc__items", expect.objectContaining({ id: 1n, _zeroetl_list_idx: 0, sku: "c" })],
    ]);
    const del = mapper.mapEvents([{ op: "delete", ...at(3), key: { id: 1n } }], context);
    expect(summary(del)).toEqual([
      ["delete", "orders", { id: 1n }],
      ["delete", "orders__doc__items", { id: 1n }],
    ]);
    // the root-key deletes say so, so that sinks delete every matching child
    expect([...update, ...del].filter((e) => e.op === "delete").map((e) => (e.op === "delete" ? [e.table.name, e.match] : []))).toEqual([
      ["orders__doc__items", "columns"],
      ["orders", undefined],
      ["orders__doc__items", "columns"],
    ]);
    const truncate = mapper.mapEvents([{ op: "truncate", ...at(4) }], context);
    expect(truncate.map((e) => [e.op, e.table.name])).toEqual([
      ["truncate", "orders"],
      ["truncate", "orders__doc__items"],
    ]);
  });

  it("deletes each old child by full key when the delete carries the before-image", () => {
    const mapper = createUnnestMapper({ mode: "all", lists: "child-tables" });
    mapper.mapSchema(source, context);
    mapper.mapEvents([{ op: "insert", ...at(1), after: { id: 1n, doc: doc(["a", "b"]), note: null } }], context);
    const del = mapper.mapEvents([{ op: "delete", ...at(2), key: { id: 1n }, before: { id: 1n, doc: doc(["a", "b"]), note: null } }], context);
    expect(childRows(del, "delete").map((e) => (e.op === "delete" ? Object.keys(e.key) : []))).toEqual([
      ["id", "_zeroetl_parent_id", "_zeroetl_list_idx"],
      ["id", "_zeroetl_parent_id", "_zeroetl_list_idx"],
    ]);
  });

  it("splits a snapshot chunk into root and child chunks", () => {
    const mapper = createUnnestMapper({ mode: "all", lists: "child-tables" });
    const rows: Row[] = [
      { id: 1n, doc: doc(["a"]), note: null },
      { id: 2n, doc: doc(["b", "c"]), note: null },
    ];
    const out = mapper.mapChunk?.({ table, schema: source, rows, chunk: 0, last: true, rowsRead: 2 }, context) ?? [];
    expect(out.map((c) => [c.table.name, c.rows.length, c.last, c.rowsRead])).toEqual([
      ["orders", 2, true, 2],
      ["orders__doc__items", 3, true, 3],
    ]);
    expect(out[1]?.schema.primaryKey).toEqual(["id", "_zeroetl_parent_id", "_zeroetl_list_idx"]);
  });

  it("refuses child tables for a table without a primary key", () => {
    const mapper = createUnnestMapper({ mode: "all", lists: "child-tables" });
    expect(() => mapper.mapSchema({ ...source, primaryKey: [] }, context)).toThrow(/no primary key/);
  });

  it("forgets a table's learned columns on resetTable (a resync into a replaced target table) and learns them again", () => {
    const mapper = createUnnestMapper({ mode: "all" });
    mapper.mapSchema(source, context);
    const row = { id: 1n, doc: '{"a": 1}', note: null };
    expect(summary(mapper.mapEvents([{ op: "insert", ...at(1), after: row }], context))[0]).toEqual(["schema", "orders", "id:int,doc__a:int,note:string"]);
    // known now: no schema event for the same shape
    expect(summary(mapper.mapEvents([{ op: "insert", ...at(2), after: row }], context)).map((e) => e[0])).toEqual(["insert"]);
    // the replaced target table has only the source's columns again: the flattened column must be announced anew
    mapper.resetTable?.(table);
    mapper.mapSchema(source, context);
    expect(summary(mapper.mapEvents([{ op: "insert", ...at(3), after: row }], context))[0]).toEqual(["schema", "orders", "id:int,doc__a:int,note:string"]);
  });
});
