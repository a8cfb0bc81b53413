import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MapperContext, Row, TableSchema, Value } from "@zero-etl/core";
import { createUnnestMapper } from "@zero-etl/mappers";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";

const context: MapperContext = {
  sink: { nestedData: "none", maxIdentifierLength: 63, upsert: true, transactionalDdl: true, checkpointsInTarget: true, keylessTables: false },
};

// PostgreSQL itself is the oracle: every flattened value must equal what
// `doc #>> path` extracts from the same jsonb value.
describe("unnesting PostgreSQL jsonb text", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mappers_jsonb");
    await db.query(`CREATE TABLE docs (id bigint PRIMARY KEY, doc jsonb)`);
    const docs = [
      `{"a": {"b": 12345678901234567890.123456789, "c": "caf\\u00e9 \\"quoted\\""}, "n": 9223372036854775807, "small": -42, "flag": true, "list": [1, {"x": [2, 3]}], "e": 1.5e-7}`,
      `{"a": {"b": 1.50, "d": {"deep": "v"}}, "n": 1, "flag": false, "list": [], "text": "line\\nbreak \\ud83d\\ude00"}`,
      `{"a": {"b": 0}, "n": -9223372036854775808, "extra": null, "unicode key \\u00fc": 1}`,
    ];
    for (let i = 0; i < docs.length; i++) await db.query(`INSERT INTO docs VALUES ($1, $2::jsonb)`, [i + 1, docs[i]]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("maps a snapshot chunk of jsonb text and agrees with PostgreSQL's own path extraction", async () => {
    const result = await db.query<{ id: string; doc: string }>(`SELECT id::text AS id, doc::text AS doc FROM docs ORDER BY id`);
    const rows: Row[] = result.rows.map((r) => ({ id: BigInt(r.id), doc: r.doc }));
    const schema: TableSchema = {
      table: { namespace: "public", name: "docs" },
      columns: [
        { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
        { name: "doc", type: { kind: "json" }, nullable: true, sourceType: "jsonb" },
      ],
      primaryKey: ["id"],
      version: 1,
    };
    const mapper = createUnnestMapper({ mode: "all" });
    const [chunk] = mapper.mapChunk?.({ table: schema.table, schema, rows, chunk: 0, last: true, rowsRead: rows.length }, context) ?? [];
    if (chunk === undefined) throw new Error("no chunk");
    const columns = chunk.schema.columns.filter((c) => c.name !== "id");
    // jsonb text lists keys shorter-first, so that is the order columns appear in
    expect(columns.map((c) => `${c.name}:${c.type.kind}`)).toEqual([
      "doc__a__b:decimal",
      "doc__a__c:string",
      "doc__e:decimal",
      "doc__n:int",
      "doc__flag:bool",
      "doc__list:json",
      "doc__small:int",
      "doc__a__d__deep:string",
      "doc__text:string",
      "doc__unicode key ü:int",
    ]);
    let compared = 0;
    for (const row of chunk.rows) {
      for (const column of columns) {
        const path = column.name.replace(/^doc__/, "").split("__");
        const pg = await db.query<{ v: string | null; t: string | null }>(`SELECT doc #>> $2 AS v, jsonb_typeof(doc #> $2) AS t FROM docs WHERE id = $1`, [String(row["id"]), path]);
        const expected = pg.rows[0]?.v ?? null;
        const actual: Value = row[column.name] ?? null;
        if (expected === null || pg.rows[0]?.t === "null") {
          expect(actual).toBeNull();
          continue;
        }
        compared++;
        if (column.type.kind === "json") expect(JSON.parse(actual as string)).toEqual(JSON.parse(expected));
        else if (column.type.kind === "decimal") {
          const check = await db.query<{ same: boolean }>(`SELECT $1::numeric = $2::numeric AS same`, [actual, expected]);
          expect(check.rows[0]?.same, `${column.name}: ${String(actual)} vs ${expected}`).toBe(true);
        } else expect(String(actual)).toBe(expected);
      }
    }
    expect(compared).toBeGreaterThan(15);
    expect(chunk.rows[0]?.["doc__a__b"]).toBe("12345678901234567890.123456789");
    expect(chunk.rows[0]?.["doc__n"]).toBe(9223372036854775807n);
  });

  it("emits a schema event when a later change brings a new attribute", async () => {
    const schema: TableSchema = {
      table: { namespace: "public", name: "docs" },
      columns: [
        { name: "id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
        { name: "doc", type: { kind: "json" }, nullable: true },
      ],
      primaryKey: ["id"],
      version: 1,
    };
    const mapper = createUnnestMapper({ mode: "all" });
    mapper.mapSchema(schema, context);
    await db.query(`UPDATE docs SET doc = doc || '{"added": {"k": 7}}'::jsonb WHERE id = 3`);
    const { rows } = await db.query<{ doc: string }>(`SELECT doc::text AS doc FROM docs WHERE id = 3`);
    const events = mapper.mapEvents([{ op: "update", table: schema.table, position: "0/1", key: { id: 3n }, after: { id: 3n, doc: rows[0]?.doc ?? null } }], context);
    const schemaEvent = events.find((e) => e.op === "schema");
    expect(schemaEvent?.op === "schema" ? schemaEvent.schema.columns.map((c) => c.name) : []).toContain("doc__added__k");
    const update = events.find((e) => e.op === "update");
    expect(update?.op === "update" ? update.after["doc__added__k"] : undefined).toBe(7n);
  });
});
