import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChangeEvent, LogicalType, Mapper, MapperContext, Row, TableRef, TableSchema, Value } from "@zero-etl/core";
import { createUnnestMapper } from "@zero-etl/mappers";
import { pathColumnName } from "../../src/unnest/table-unnester.js";

// Schemaless documents under unnest: attributes that disappear, collide or
// change type, across restarts (a new mapper that only knows the target).

const table: TableRef = { namespace: "app", name: "items" };
const source: TableSchema = {
  table,
  columns: [
    { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
    { name: "doc", type: { kind: "json" }, nullable: false },
  ],
  primaryKey: ["id"],
  version: 1,
};

/**
 * A target kept in memory the way the sinks keep it: columns are added and
 * never dropped; `lossless` changes any type in place (PostgreSQL),
 * `promotions` refuses a change of the stored type (Iceberg, where int64 is
 * `long` and decimals, strings and JSON are all `string`). Updates set the
 * columns present in the row (PostgreSQL's upsert of the present columns).
 */
class FakeTarget {
  readonly columns = new Map<string, LogicalType>();
  readonly rows = new Map<string, Record<string, Value>>();
  readonly refused: string[] = [];
  constructor(readonly widening: "lossless" | "promotions") {}

  context(): MapperContext {
    return {
      sink: { nestedData: "json", maxIdentifierLength: 63, upsert: true, transactionalDdl: true, checkpointsInTarget: true, keylessTables: false, typeWidening: this.widening },
      targetSchema: (ref) =>
        ref.name === table.name && this.columns.size > 0
          ? { table: ref, columns: [...this.columns].map(([name, type]) => ({ name, type: this.stored(type), nullable: name !== "id" })), primaryKey: ["id"], version: 0 }
          : undefined,
    };
  }

  /** The type as the target reads it back (Iceberg loses the difference between strings, JSON and decimals). */
  stored(type: LogicalType): LogicalType {
    if (this.widening === "lossless") return type;
    return type.kind === "json" || type.kind === "decimal" ? { kind: "string" } : type;
  }

  prepare(schema: TableSchema): void {
    for (const column of schema.columns) {
      const current = this.columns.get(column.name);
      if (current === undefined || this.widening === "lossless") this.columns.set(column.name, column.type);
      else if (JSON.stringify(this.stored(current)) !== JSON.stringify(this.stored(column.type))) this.refused.push(`${column.name}: ${current.kind} -> ${column.type.kind}`);
    }
  }

  apply(events: readonly ChangeEvent[]): void {
    for (const event of events) {
      if (event.op === "schema") this.prepare(event.schema);
      else if (event.op === "insert") this.rows.set(String(event.after.id), { ...event.after });
      else if (event.op === "update") this.rows.set(String(event.after.id), { ...this.rows.get(String(event.key.id)), ...event.after });
    }
  }

  /** Runs a fresh mapper (a restart) over `events`, after `prepare` of its initial schema as the runtime does. */
  run(mapper: Mapper, events: readonly ChangeEvent[]): void {
    for (const schema of mapper.mapSchema(source, this.context())) this.prepare(schema);
    this.apply(mapper.mapEvents(events, this.context()));
  }
}

const insert = (id: number, doc: string): ChangeEvent => ({ op: "insert", table, position: `p${id}`, after: { id: BigInt(id), doc } });
const update = (id: number, doc: string): ChangeEvent => ({ op: "update", table, position: `u${id}`, key: { id: BigInt(id) }, after: { id: BigInt(id), doc } });

/** The one non-null value among a path's column and its variant columns, as text. */
function valueOf(row: Record<string, Value>, column: string): string | null {
  const present = Object.entries(row).filter(([name, v]) => (name === column || name.startsWith(`${column}__v_`)) && v !== null && v !== undefined);
  expect(present.length, `${column} in ${JSON.stringify(Object.keys(row))}`).toBeLessThanOrEqual(1);
  const value = present[0]?.[1];
  return value === undefined || value === null ? null : String(value);
}

/** A value read back equals the document's: as text, as a number, or as JSON text (a JSON column keeps strings quoted). */
function sameValue(got: string | null, want: unknown): boolean {
  if (got === null) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(got);
  } catch {
    parsed = undefined;
  }
  if (typeof want === "object") return JSON.stringify(parsed) === JSON.stringify(want);
  if (typeof want === "number") return Number(got) === want;
  return got === String(want) || parsed === want;
}

describe("unnest of schemaless documents", () => {
  it("names a path by its segments alone: a key holding the separator never shares a column", () => {
    const names = (docs: string[]) => {
      const target = new FakeTarget("lossless");
      target.run(createUnnestMapper({ mode: "all" }), docs.map((d, i) => insert(i + 1, d)));
      return target;
    };
    const one = names(['{"a": {"b": 2}, "a__b": 3}']);
    const other = names(['{"a__b": 3}', '{"a": {"b": 2}}']);
    const columns = [...one.columns.keys()].filter((c) => c.startsWith("doc__a__b")).sort();
    expect(columns).toHaveLength(2);
    expect([...other.columns.keys()].filter((c) => c.startsWith("doc__a__b")).sort()).toEqual(columns);
    const row = one.rows.get("1") ?? {};
    expect(columns.map((c) => String(row[c])).sort()).toEqual(["2", "3"]);
    expect(row[pathColumnName(["doc", "a", "b"], "__")]).toBe(2n);
  });

  it("property: distinct paths get distinct names", () => {
    const segment = fc.stringMatching(/^[_ab]{0,4}$/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.array(segment, { minLength: 1, maxLength: 4 }), { selector: (s) => JSON.stringify(s), minLength: 2, maxLength: 12 }), (paths) => {
        const names = paths.map((p) => pathColumnName(p, "__"));
        expect(new Set(names).size).toBe(paths.length);
      }),
    );
  });

  it("sets an attribute absent from the new image to null after a restart", () => {
    const target = new FakeTarget("lossless");
    target.run(createUnnestMapper({ mode: "all" }), [insert(1, '{"x": "s", "y": "t", "m": {"k": "v", "j": "w"}}')]);
    target.run(createUnnestMapper({ mode: "all" }), [update(1, '{"x": "s", "m": {"j": "w"}}')]);
    expect(target.rows.get("1")).toEqual({ id: 1n, doc__x: "s", doc__y: null, doc__m__k: null, doc__m__j: "w" });
  });

  it("writes a narrower value into the wider column the target has after a restart, with no schema change", () => {
    for (const widening of ["lossless", "promotions"] as const) {
      const target = new FakeTarget(widening);
      target.run(createUnnestMapper({ mode: "top-level" }), [insert(1, '{"x": "s", "j": {"a": 1}}')]);
      const before = JSON.stringify([...target.columns]);
      target.run(createUnnestMapper({ mode: "top-level" }), [insert(2, '{"x": 2, "j": 3}')]);
      // a number after a string: the same text column on Iceberg; PostgreSQL's text becomes jsonb (2 stays a number, see below)
      if (widening === "promotions") expect(JSON.stringify([...target.columns]), widening).toBe(before);
      else expect(target.columns.get("doc__x")?.kind, widening).toBe("json");
      expect(target.rows.get("2"), widening).toEqual({ id: 2n, doc__x: "2", doc__j: "3" });
    }
  });

  it("keeps each scalar's JSON type where types mix at one path, on a target that alters a column to JSON", () => {
    const target = new FakeTarget("lossless");
    target.run(createUnnestMapper({ mode: "top-level" }), [insert(1, '{"x": "s"}'), insert(2, '{"x": false}')]);
    // a string column would hold "false", which the string "false" could also be
    target.run(createUnnestMapper({ mode: "top-level" }), [insert(3, '{"x": 2}'), insert(4, '{"x": "false"}')]);
    // (row 1 was written as text before the column became JSON: PostgreSQL converts it USING to_jsonb, this fake target does not)
    expect(target.columns.get("doc__x")?.kind).toBe("json");
    expect([2, 3, 4].map((id) => target.rows.get(String(id))?.doc__x)).toEqual(["false", "2", '"false"']);
    expect(target.refused).toEqual([]);
  });

  it("writes nothing for an empty object under all, whatever came before at its path and across a restart", () => {
    for (const order of [[1, 2], [2, 1]]) {
      const docs: Record<number, string> = { 1: '{"m": [1], "x": "a"}', 2: '{"m": {}, "x": "b"}' };
      const target = new FakeTarget("lossless");
      target.run(createUnnestMapper({ mode: "all" }), order.map((id) => insert(id, docs[id] ?? "")));
      // the same content again, by a fresh mapper that learns the target (a restart)
      target.run(createUnnestMapper({ mode: "all" }), [insert(3, '{"m": {}, "x": "c"}'), update(1, '{"m": {}, "x": "d"}')]);
      for (const id of ["1", "2", "3"]) expect(target.rows.get(id)?.doc__m ?? null, `order ${order.join(",")}: row ${id}`).toBeNull();
    }
    // top-level keeps nested objects as JSON text: an empty map there is the value {}
    const top = new FakeTarget("lossless");
    top.run(createUnnestMapper({ mode: "top-level" }), [insert(1, '{"m": [1]}'), insert(2, '{"m": {}}')]);
    expect(top.rows.get("2")?.doc__m).toBe("{}");
  });

  it("moves values a promotions-only target cannot widen into to a variant column, in one run and after a restart", () => {
    const target = new FakeTarget("promotions");
    target.run(createUnnestMapper({ mode: "top-level" }), [insert(1, '{"f": 1500}'), insert(2, '{"f": 0.5}')]);
    expect(target.refused).toEqual([]);
    expect(target.rows.get("1")).toMatchObject({ doc__f: 1500n });
    expect(target.rows.get("2")).toMatchObject({ doc__f: null, doc__f__v_decimal: "0.5" });
    target.run(createUnnestMapper({ mode: "top-level" }), [insert(3, '{"f": 2}'), insert(4, '{"f": 123456789012345678901234567890}'), update(1, '{"f": "s"}')]);
    expect(target.refused).toEqual([]);
    expect(valueOf(target.rows.get("3") ?? {}, "doc__f")).toBe("2");
    expect(valueOf(target.rows.get("4") ?? {}, "doc__f")).toBe("123456789012345678901234567890");
    expect(valueOf(target.rows.get("1") ?? {}, "doc__f")).toBe("s");
  });

  it("property: every row equals its last document, whatever types and restarts came before", () => {
    const scalar = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc.constantFrom("1.5", "-0.25", "123456789012345678901234567890", "1e3"),
      fc.constantFrom('"s"', '"2"', '""'),
      fc.constantFrom("true", "false"),
      fc.constantFrom('{"k": 1}', "[1, 2]"),
    );
    const document = fc.dictionary(fc.constantFrom("a", "b", "c"), fc.option(scalar, { nil: undefined }), { maxKeys: 3 });
    const step = fc.record({ id: fc.integer({ min: 1, max: 4 }), doc: document, restart: fc.boolean() });
    fc.assert(
      fc.property(fc.constantFrom("lossless" as const, "promotions" as const), fc.constantFrom("top-level" as const, "all" as const), fc.array(step, { minLength: 1, maxLength: 25 }), (widening, mode, steps) => {
        const target = new FakeTarget(widening);
        const latest = new Map<number, Record<string, string | undefined>>();
        let mapper = createUnnestMapper({ mode });
        let fresh = true;
        for (const s of steps) {
          const text = `{${Object.entries(s.doc)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `"${k}": ${v}`)
            .join(", ")}}`;
          if (s.restart) mapper = createUnnestMapper({ mode });
          const event = latest.has(s.id) ? update(s.id, text) : insert(s.id, text);
          if (s.restart || fresh) target.run(mapper, [event]);
          else target.apply(mapper.mapEvents([event], target.context()));
          fresh = false;
          latest.set(s.id, JSON.parse(text) as Record<string, string | undefined>);
        }
        expect(target.refused).toEqual([]);
        for (const [id, doc] of latest) {
          const row = target.rows.get(String(id)) ?? {};
          for (const key of ["a", "b", "c"]) {
            const got = valueOf(row, `doc__${key}`);
            const nested = valueOf(row, `doc__${key}__k`);
            const want = doc[key];
            // in "all" an object may also land flattened, in doc__<key>__k
            if (mode === "all" && got === null && nested !== null && typeof want === "object" && want !== null && !Array.isArray(want)) {
              expect(sameValue(nested, (want as { k: unknown }).k), `${id}.${key}.k`).toBe(true);
              continue;
            }
            expect(nested, `${id}.${key}.k`).toBeNull();
            if (want === undefined || want === null) expect(got, `${id}.${key}`).toBeNull();
            else expect(sameValue(got, want), `${id}.${key}: ${got} for ${JSON.stringify(want)}`).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
