import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnSchema, LogicalType, TableSchema } from "@zero-etl/core";
import {
  diffSchemas,
  isIcebergPromotion,
  renderIcebergSchemaUpdate,
  renderOpenSearchMappingUpdate,
  renderPostgresDdl,
  renderRedshiftDdl,
  toIcebergType,
  toPostgresType,
} from "@zero-etl/mappers";
import type { IcebergSchema } from "@zero-etl/mappers";
import { createTestDatabase } from "../../../../test-support/postgres.js";
import type { TestDatabase } from "../../../../test-support/postgres.js";
import { tableSchemaArb } from "./schema-arbitraries.js";

const int = (bits: 8 | 16 | 32 | 64): LogicalType => ({ kind: "int", bits, signed: true });
const str = (maxLength?: number): LogicalType => (maxLength === undefined ? { kind: "string" } : { kind: "string", maxLength });
const table = { namespace: "app", name: 'ord"ers' };
const base: TableSchema = {
  table,
  columns: [
    { name: "id", type: int(32), nullable: false },
    { name: "note", type: str(20), nullable: true },
    { name: "total", type: { kind: "decimal", precision: 10, scale: 2 }, nullable: true },
  ],
  primaryKey: ["id"],
  version: 1,
};

describe("renderPostgresDdl on a live PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("mappers_ddl");
  });
  afterAll(async () => {
    await db?.drop();
  });

  const createSql = (schema: TableSchema, name: string): string => {
    const cols = schema.columns.map((c) => `"${c.name.replace(/"/g, '""')}" ${toPostgresType(c.type).type}${c.nullable ? "" : " NOT NULL"}`);
    const pk = schema.primaryKey.length > 0 ? [`PRIMARY KEY (${schema.primaryKey.map((n) => `"${n.replace(/"/g, '""')}"`).join(", ")})`] : [];
    return `CREATE TABLE "app"."${name.replace(/"/g, '""')}" (${[...cols, ...pk].join(", ")})`;
  };
  const describeTable = async (name: string) => {
    const columns = await db.query<{ column_name: string; type: string; is_nullable: string }>(
      `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type, CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'app' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname`,
      [name],
    );
    const key = await db.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE n.nspname = 'app' AND c.relname = $1 AND i.indisprimary ORDER BY k.ord`,
      [name],
    );
    return { columns: columns.rows, key: key.rows.map((r) => r.attname) };
  };

  it("property: the rendered statements bring a real table from schema a to schema b", async () => {
    await db.query(`CREATE SCHEMA IF NOT EXISTS "app"`);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(tableSchemaArb, tableSchemaArb, async (a, b) => {
        const name = `t${run++}`;
        await db.query(createSql(a, name));
        const ref = { namespace: "app", name };
        // a new NOT NULL column cannot be added to a table with rows; compare nullability of kept columns only
        for (const sql of renderPostgresDdl(ref, diffSchemas(a, b))) await db.query(sql);
        await db.query(createSql(b, `${name}_expected`));
        const got = await describeTable(name);
        const want = await describeTable(`${name}_expected`);
        const added = new Set(b.columns.filter((c) => !a.columns.some((o) => o.name === c.name)).map((c) => c.name));
        expect(got.columns.map((c) => [c.column_name, c.type, added.has(c.column_name) ? "?" : c.is_nullable])).toEqual(
          want.columns.map((c) => [c.column_name, c.type, added.has(c.column_name) ? "?" : c.is_nullable]),
        );
        if (b.primaryKey.length > 0 || a.primaryKey.length > 0) expect(got.key).toEqual(want.key);
      }),
      { numRuns: 25 },
    );
  });

  it("quotes identifiers so hostile names stay names", async () => {
    await db.query(createSql(base, 'ord"ers'));
    const statements = renderPostgresDdl(table, [{ kind: "add-column", column: { name: 'x"; DROP TABLE app."ord""ers"; --', type: str(), nullable: true } }]);
    expect(statements).toEqual([`ALTER TABLE "app"."ord""ers" ADD COLUMN IF NOT EXISTS "x""; DROP TABLE app.""ord""""ers""; --" text`]);
    for (const sql of statements) await db.query(sql);
    const { columns } = await describeTable('ord"ers');
    expect(columns.map((c) => c.column_name)).toContain('x"; DROP TABLE app."ord""ers"; --');
  });
});

describe("renderRedshiftDdl", () => {
  it("grows VARCHARs, adds SUPER columns and refuses what Redshift cannot alter", () => {
    const next: TableSchema = {
      ...base,
      columns: [
        { name: "id", type: int(64), nullable: false },
        { name: "note", type: str(200), nullable: false },
        { name: "total", type: { kind: "decimal", precision: 60, scale: 30 }, nullable: true },
        { name: "payload", type: { kind: "json" }, nullable: true },
      ],
    };
    const { statements, refused } = renderRedshiftDdl(table, diffSchemas(base, next));
    expect(statements).toEqual([`ALTER TABLE "app"."ord""ers" ADD COLUMN "payload" SUPER`, `ALTER TABLE "app"."ord""ers" ALTER COLUMN "note" TYPE VARCHAR(800)`]);
    expect(refused.map((r) => r.change.kind)).toEqual(["widen-type", "widen-type", "set-nullable"]);
    expect(refused[1]?.reason).toMatch(/DECIMAL\(10,2\) to DECIMAL\(38,8\)/);
    expect(refused[0]?.reason).toMatch(/INTEGER to BIGINT/);
  });
});

describe("renderIcebergSchemaUpdate", () => {
  const current: IcebergSchema = {
    type: "struct",
    "schema-id": 0,
    fields: [
      { id: 1, name: "id", required: true, type: "int" },
      { id: 2, name: "note", required: false, type: "string" },
      { id: 3, name: "total", required: false, type: "decimal(10,2)" },
    ],
    "identifier-field-ids": [1],
  };

  it("assigns new ids after last-column-id and follows the promotion rules", () => {
    const next: TableSchema = {
      ...base,
      columns: [
        { name: "id", type: int(64), nullable: false },
        { name: "note", type: int(32), nullable: true },
        { name: "total", type: { kind: "decimal", precision: 12, scale: 2 }, nullable: true },
        { name: "tags", type: { kind: "list", element: str() }, nullable: true },
      ],
    };
    const { schema, lastColumnId, refused } = renderIcebergSchemaUpdate(current, diffSchemas(base, next), { lastColumnId: 7 });
    expect(schema["schema-id"]).toBe(1);
    expect(schema.fields).toEqual([
      { id: 1, name: "id", required: true, type: "long" },
      { id: 2, name: "note", required: false, type: "string" },
      { id: 3, name: "total", required: false, type: "decimal(12,2)" },
      { id: 8, name: "tags", required: false, type: { type: "list", "element-id": 9, element: "string", "element-required": false } },
    ]);
    expect(lastColumnId).toBe(9);
    expect(refused.map((r) => r.change.kind)).toEqual(["change-type"]);
    expect(schema["identifier-field-ids"]).toEqual([1]);
  });

  it("knows the spec's promotions", () => {
    expect(isIcebergPromotion("int", "long")).toBe(true);
    expect(isIcebergPromotion("float", "double")).toBe(true);
    expect(isIcebergPromotion("decimal(10,2)", "decimal(12,2)")).toBe(true);
    expect(isIcebergPromotion("decimal(10,2)", "decimal(12,3)")).toBe(false);
    expect(isIcebergPromotion("long", "int")).toBe(false);
    expect(isIcebergPromotion("int", "string")).toBe(false);
  });

  it("property: ids stay unique and new ids are above last-column-id", () => {
    fc.assert(
      fc.property(tableSchemaArb, tableSchemaArb, (a, b) => {
        let id = 0;
        const start: IcebergSchema = {
          type: "struct",
          "schema-id": 4,
          fields: a.columns.map((c: ColumnSchema) => {
            const fieldId = ++id;
            return { id: fieldId, name: c.name, required: !c.nullable, type: toIcebergType(c.type, { nextId: () => ++id }).type };
          }),
        };
        const { schema, lastColumnId } = renderIcebergSchemaUpdate(start, diffSchemas(a, b), { lastColumnId: id });
        const ids = schema.fields.map((f) => f.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const field of schema.fields) {
          const old = start.fields.find((f) => f.name === field.name);
          if (old === undefined) expect(field.id).toBeGreaterThan(id);
          else expect(field.id).toBe(old.id);
        }
        expect(lastColumnId).toBeGreaterThanOrEqual(id);
      }),
      { numRuns: 200 },
    );
  });
});

describe("renderOpenSearchMappingUpdate", () => {
  it("adds new fields and refuses mapping changes", () => {
    const next: TableSchema = {
      ...base,
      columns: [
        { name: "id", type: int(64), nullable: false },
        { name: "note", type: str(30), nullable: true },
        { name: "total", type: { kind: "decimal", precision: 10, scale: 2 }, nullable: true },
        { name: "seen", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: true },
      ],
    };
    const { mapping, refused } = renderOpenSearchMappingUpdate(diffSchemas(base, next));
    expect(mapping).toEqual({ properties: { seen: { type: "date_nanos", format: "strict_date_optional_time_nanos" } } });
    expect(refused.map((r) => r.change.kind)).toEqual(["widen-type"]);
  });
});
