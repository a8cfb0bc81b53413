import { describe, expect, it } from "vitest";
import type { ChangeEvent, TableRef } from "@zero-etl/core";
import { ChangeFolder, keyString } from "../../src/postgres/postgres-change-folder.js";
import type { ApplyStep, TableFold } from "../../src/postgres/postgres-change-folder.js";
import { encodeNestedJson, toPgParameter } from "../../src/postgres/postgres-value-encoder.js";
import { classifyPgError, describePgError } from "../../src/postgres/postgres-error-classifier.js";

const items: TableRef = { namespace: "s", name: "items" };
const loose: TableRef = { namespace: "s", name: "loose" };
const keys = (t: TableRef) => (t.name === "items" ? ["id"] : t.name === "loose" ? [] : undefined);

function fold(events: ChangeEvent[]): ApplyStep[] {
  const folder = new ChangeFolder(keys);
  folder.addEvents(events);
  return folder.finish();
}

function finalStates(step: ApplyStep | undefined): Record<string, unknown> {
  if (step?.kind !== "fold") throw new Error("expected a fold");
  const table = step.tables.get("s.items") as TableFold;
  return Object.fromEntries([...table.keyed].map(([k, v]) => [k, { op: v.op, row: v.row, events: v.origin === undefined ? 0 : Array.isArray(v.origin) ? v.origin.length : 1 }]));
}

describe("change folder", () => {
  it("folds a run of events into one final state per key", () => {
    const insert = { op: "insert", table: items, position: "1", after: { id: 1, a: "x", big: "B" } } as const;
    const steps = fold([
      insert,
      { op: "update", table: items, position: "2", key: { id: 1 }, after: { id: 1, a: "y" }, unchanged: ["big"] },
      { op: "update", table: items, position: "3", key: { id: 1 }, after: { id: 1, a: "z" }, unchanged: ["big"] },
      { op: "insert", table: items, position: "4", after: { id: 2, a: "q", big: null } },
      { op: "delete", table: items, position: "5", key: { id: 2 } },
      { op: "update", table: items, position: "6", key: { id: 3 }, after: { id: 4, a: "m", big: null } },
      { op: "update", table: items, position: "7", key: { id: 5 }, after: { id: 5, a: "p" }, unchanged: ["big"] },
    ]);
    expect(steps).toHaveLength(1);
    expect(finalStates(steps[0])).toEqual({
      "1": { op: "upsert", row: { id: 1, a: "z", big: "B" }, events: 3 },
      "2": { op: "delete", row: { id: 2 }, events: 1 },
      "3": { op: "delete", row: { id: 3 }, events: 1 },
      "4": { op: "upsert", row: { id: 4, a: "m", big: null }, events: 1 },
      "5": { op: "upsert", row: { id: 5, a: "p" }, events: 1 },
    });
    // inputs are never mutated
    expect(insert.after).toEqual({ id: 1, a: "x", big: "B" });
  });

  it("makes truncates, schema changes and key moves with unchanged columns barriers, in order", () => {
    const steps = fold([
      { op: "insert", table: items, position: "1", after: { id: 1 } },
      { op: "truncate", table: items, position: "2" },
      { op: "insert", table: items, position: "3", after: { id: 1 } },
      { op: "update", table: items, position: "4", key: { id: 1 }, after: { id: 2 }, unchanged: ["big"] },
      { op: "insert", table: loose, position: "5", after: { a: 1 } },
      { op: "delete", table: loose, position: "6", key: {}, before: { a: 1 } },
    ]);
    expect(steps.map((s) => s.kind)).toEqual(["fold", "truncate", "fold", "move", "fold"]);
    const last = steps[4];
    if (last?.kind !== "fold") throw new Error("expected a fold");
    expect(last.tables.get("s.loose")?.keyless.map((o) => o.op)).toEqual(["insert", "delete"]);
  });

  it("refuses rows of a table that was never prepared", () => {
    expect(() => fold([{ op: "insert", table: { namespace: "s", name: "nope" }, position: "1", after: { id: 1 } }])).toThrow(/not prepared/);
  });

  it("builds equal key strings for equal keys and distinct ones otherwise", () => {
    expect(keyString({ id: 5n }, ["id"])).toBe(keyString({ id: 5n }, ["id"]));
    expect(keyString({ a: 1, b: "x" }, ["a", "b"])).not.toBe(keyString({ a: 1, b: "x\u00001" }, ["a", "b"]));
    expect(keyString({ k: new Uint8Array([1, 2]) }, ["k"])).toBe(keyString({ k: new Uint8Array([1, 2]) }, ["k"]));
    expect(keyString({ id: 1 }, ["id"], { id: 9 })).toBe("1");
    expect(keyString({}, ["id"], { id: 9 })).toBe("9");
  });
});

describe("value encoder", () => {
  it("encodes values as pg parameters", () => {
    expect(toPgParameter(-9223372036854775808n)).toBe("-9223372036854775808");
    expect(toPgParameter(-0)).toBe("-0");
    expect(toPgParameter(1.5)).toBe(1.5);
    expect(toPgParameter(null)).toBeNull();
    expect(toPgParameter(undefined)).toBeNull();
    const bytes = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    expect(Buffer.isBuffer(toPgParameter(bytes))).toBe(true);
    expect((toPgParameter(bytes) as Buffer).toString("hex")).toBe("0807");
    expect(toPgParameter('{"a": 1}')).toBe('{"a": 1}');
  });

  it("encodes lists and structs as JSON keeping 64-bit digits", () => {
    expect(encodeNestedJson([1n << 63n, null, { a: "q\"uote", b: new Uint8Array([104, 105]), c: Number.NaN, d: true }])).toBe(
      '[9223372036854775808,null,{"a":"q\\"uote","b":"aGk=","c":"NaN","d":true}]',
    );
    expect(JSON.parse(encodeNestedJson({ nested: [[1, 2], []] }))).toEqual({ nested: [[1, 2], []] });
  });
});

describe("error classifier", () => {
  it("classifies SQLSTATEs and node errors", () => {
    expect(classifyPgError({ code: "22001" })).toBe("record");
    expect(classifyPgError({ code: "23502" })).toBe("record");
    expect(classifyPgError({ code: "40001" })).toBe("transient");
    expect(classifyPgError({ code: "40P01" })).toBe("transient");
    expect(classifyPgError({ code: "08006" })).toBe("transient");
    expect(classifyPgError({ code: "ECONNRESET" })).toBe("transient");
    expect(classifyPgError(new Error("Connection terminated unexpectedly"))).toBe("transient");
    expect(classifyPgError({ code: "42501" })).toBe("fatal");
    expect(classifyPgError(new Error("something else"))).toBe("fatal");
  });

  it("elides quoted values but keeps the reported column", () => {
    expect(describePgError({ code: "22P02", message: 'invalid input syntax for type integer: "SECRET"' })).toBe("SQLSTATE 22P02: invalid input syntax for type integer");
    expect(describePgError({ code: "22003", message: 'value "99999999999" is out of range for type integer' })).toBe("SQLSTATE 22003: value (value) is out of range for type integer");
    expect(describePgError({ code: "23502", column: "req", message: 'null value in column "req" of relation "dated" violates not-null constraint', table: "dated" })).toBe(
      'SQLSTATE 23502: null value in column "req" of relation "dated" violates not-null constraint',
    );
  });
});
