import { describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { LogicalType, TableSchema } from "@zero-etl/core";
import {
  compileAddColumn,
  compileCreateTable,
  compileWidenColumn,
  isPgTypeContained,
  parsePgColumnType,
  planPgColumnChange,
  renderPgColumnType,
  toPgColumnType,
} from "../../src/postgres/postgres-ddl-compiler.js";
import { createPgSqlCompiler, compileUpsertParts, compileDeleteByAnyKey, valuesPlaceholders } from "../../src/postgres/postgres-dml-compiler.js";

const compile = createPgSqlCompiler();
const render = (t: LogicalType) => renderPgColumnType(toPgColumnType(t));

describe("postgres ddl compiler: type mapping", () => {
  const cases: [LogicalType, string][] = [
    [{ kind: "bool" }, "boolean"],
    [{ kind: "int", bits: 8, signed: true }, "smallint"],
    [{ kind: "int", bits: 8, signed: false }, "smallint"],
    [{ kind: "int", bits: 16, signed: true }, "smallint"],
    [{ kind: "int", bits: 16, signed: false }, "integer"],
    [{ kind: "int", bits: 32, signed: true }, "integer"],
    [{ kind: "int", bits: 32, signed: false }, "bigint"],
    [{ kind: "int", bits: 64, signed: true }, "bigint"],
    [{ kind: "int", bits: 64, signed: false }, "numeric(20,0)"],
    [{ kind: "decimal", precision: 38, scale: 10 }, "numeric(38,10)"],
    [{ kind: "decimal", precision: 12 }, "numeric(12,0)"],
    [{ kind: "decimal" }, "numeric"],
    [{ kind: "decimal", precision: 2000, scale: 2 }, "numeric"],
    [{ kind: "float", bits: 32 }, "real"],
    [{ kind: "float", bits: 64 }, "double precision"],
    [{ kind: "string" }, "text"],
    [{ kind: "string", maxLength: 10 }, "character varying(10)"],
    [{ kind: "string", maxLength: 20_000_000 }, "text"],
    [{ kind: "string", maxLength: 8, enumValues: ["a", "b"] }, "text"],
    [{ kind: "bytes" }, "bytea"],
    [{ kind: "bytes", maxLength: 16 }, "bytea"],
    [{ kind: "geometry" }, "bytea"],
    [{ kind: "date" }, "date"],
    [{ kind: "time", precision: 3, withZone: false }, "time(3) without time zone"],
    [{ kind: "time", precision: 6, withZone: true }, "time(6) with time zone"],
    [{ kind: "timestamp", precision: 6, withZone: false }, "timestamp(6) without time zone"],
    [{ kind: "timestamp", precision: 9, withZone: true }, "timestamp(6) with time zone"],
    [{ kind: "timestamp", precision: 0, withZone: true }, "timestamp(0) with time zone"],
    [{ kind: "interval" }, "interval"],
    [{ kind: "uuid" }, "uuid"],
    [{ kind: "json" }, "jsonb"],
    [{ kind: "list", element: { kind: "int", bits: 64, signed: true } }, "jsonb"],
    [{ kind: "struct", fields: [{ name: "a", type: { kind: "string" }, nullable: true }] }, "jsonb"],
  ];
  it.each(cases)("%j -> %s", (type, expected) => {
    expect(render(type)).toBe(expected);
  });

  it("parses every rendered type back to itself (format_type spelling)", () => {
    for (const [type] of cases) {
      const pg = toPgColumnType(type);
      expect(parsePgColumnType(renderPgColumnType(pg))).toEqual(pg);
    }
    expect(parsePgColumnType("timestamp without time zone")).toEqual({ name: "timestamp", precision: 6 });
    expect(parsePgColumnType("character varying")).toEqual({ name: "character varying" });
    expect(parsePgColumnType("citext")).toEqual({ name: "other", text: "citext" });
    expect(parsePgColumnType("numeric(10,2)[]")).toEqual({ name: "array", element: { name: "numeric", precision: 10, scale: 2 } });
    expect(renderPgColumnType(parsePgColumnType("time(3) with time zone[]"))).toBe("time(3) with time zone[]");
  });

  it("widens arrays element-wise and never changes arrays of types it does not know", () => {
    const plan = (from: string, to: string) => planPgColumnChange(parsePgColumnType(from), parsePgColumnType(to));
    expect(plan("integer[]", "bigint[]")).toEqual({ action: "widen", to: { name: "array", element: { name: "bigint" } } });
    expect(plan("bigint[]", "integer[]")).toEqual({ action: "keep-wider" });
    expect(plan("numeric(10,2)[]", "numeric(12,2)[]").action).toBe("widen");
    expect(plan("date[]", "integer[]").action).toBe("refuse");
    expect(plan("inet[]", "inet[]").action).toBe("none");
    expect(plan("inet[]", "cidr[]").action).toBe("refuse");
    expect(plan("integer[]", "integer").action).toBe("refuse");
  });
});

describe("postgres ddl compiler: schema evolution", () => {
  const pg = (text: string) => parsePgColumnType(text);
  it("widens safely", () => {
    expect(planPgColumnChange(pg("integer"), pg("bigint"))).toEqual({ action: "widen", to: pg("bigint") });
    expect(planPgColumnChange(pg("smallint"), pg("integer")).action).toBe("widen");
    expect(planPgColumnChange(pg("bigint"), pg("numeric(20,0)")).action).toBe("widen");
    expect(planPgColumnChange(pg("bigint"), pg("numeric")).action).toBe("widen");
    expect(planPgColumnChange(pg("real"), pg("double precision")).action).toBe("widen");
    expect(planPgColumnChange(pg("character varying(10)"), pg("character varying(50)")).action).toBe("widen");
    expect(planPgColumnChange(pg("character varying(10)"), pg("text")).action).toBe("widen");
    expect(planPgColumnChange(pg("numeric(10,2)"), pg("numeric(12,4)")).action).toBe("widen");
    expect(planPgColumnChange(pg("timestamp(3) without time zone"), pg("timestamp(6) without time zone")).action).toBe("widen");
    expect(planPgColumnChange(pg("time(0) with time zone"), pg("time(6) with time zone")).action).toBe("widen");
  });

  it("keeps a wider target when the source narrows", () => {
    expect(planPgColumnChange(pg("bigint"), pg("integer")).action).toBe("keep-wider");
    expect(planPgColumnChange(pg("character varying(50)"), pg("character varying(10)")).action).toBe("keep-wider");
    expect(planPgColumnChange(pg("text"), pg("character varying(10)")).action).toBe("keep-wider");
    expect(planPgColumnChange(pg("numeric(12,4)"), pg("numeric(10,2)")).action).toBe("keep-wider");
  });

  it("widens a scalar that changed type to text or jsonb, every value kept (schemaless attributes under unnest)", () => {
    expect(planPgColumnChange(pg("integer"), pg("text"))).toEqual({ action: "widen", to: pg("text") });
    expect(planPgColumnChange(pg("numeric"), pg("text"))).toEqual({ action: "widen", to: pg("text") });
    expect(planPgColumnChange(pg("boolean"), pg("jsonb"))).toEqual({ action: "widen", to: pg("jsonb") });
    expect(planPgColumnChange(pg("text"), pg("jsonb"))).toEqual({ action: "widen", to: pg("jsonb") });
    // a narrower value into the wider column is no change
    expect(planPgColumnChange(pg("text"), pg("bigint")).action).toBe("keep-wider");
    expect(planPgColumnChange(pg("jsonb"), pg("numeric")).action).toBe("keep-wider");
  });

  it("refuses what would lose data or change meaning", () => {
    expect(planPgColumnChange(pg("numeric(10,2)"), pg("numeric(10,4)")).action).toBe("refuse");
    expect(planPgColumnChange(pg("bigint"), pg("numeric(18,0)")).action).toBe("refuse");
    expect(planPgColumnChange(pg("integer"), pg("character varying(5)")).action).toBe("refuse");
    expect(planPgColumnChange(pg("jsonb"), pg("text")).action).toBe("refuse");
    expect(planPgColumnChange(pg("bigint"), pg("double precision")).action).toBe("refuse");
    expect(planPgColumnChange(pg("timestamp(6) without time zone"), pg("timestamp(6) with time zone")).action).toBe("refuse");
    expect(planPgColumnChange(pg("citext"), pg("text")).action).toBe("refuse");
    expect(planPgColumnChange(pg("jsonb"), pg("jsonb")).action).toBe("none");
    expect(isPgTypeContained(pg("integer"), pg("numeric(10,0)"))).toBe(true);
    expect(isPgTypeContained(pg("integer"), pg("numeric(9,0)"))).toBe(false);
  });
});

describe("postgres ddl compiler: statements and quoting", () => {
  const name = { schema: "Ware house", table: 'Weird "Name"' };
  const schema: TableSchema = {
    table: { namespace: "src", name: 'Weird "Name"' },
    version: 1,
    primaryKey: ["Id", "région"],
    columns: [
      { name: "Id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
      { name: "région", type: { kind: "string", maxLength: 3 }, nullable: false },
      { name: "with space", type: { kind: "decimal", precision: 38, scale: 10 }, nullable: true },
      { name: 'q"uote', type: { kind: "json" }, nullable: false },
    ],
  };

  it("quotes identifiers with quotes, spaces, uppercase and unicode", () => {
    expect(compile(compileCreateTable(name, schema))).toBe(
      'CREATE TABLE IF NOT EXISTS "Ware house"."Weird ""Name""" ("Id" bigint NOT NULL, "région" character varying(3) NOT NULL, "with space" numeric(38,10), "q""uote" jsonb NOT NULL, PRIMARY KEY ("Id", "région"))',
    );
    expect(compile(compileAddColumn(name, { name: "New Col", type: { kind: "uuid" }, nullable: false }))).toBe(
      'ALTER TABLE "Ware house"."Weird ""Name""" ADD COLUMN IF NOT EXISTS "New Col" uuid',
    );
    expect(compile(compileWidenColumn(name, "Id", { name: "numeric" }))).toBe('ALTER TABLE "Ware house"."Weird ""Name""" ALTER COLUMN "Id" TYPE numeric');
  });

  it("compiles upserts that only set the present non-key columns", () => {
    const parts = compileUpsertParts(compile, name, ["Id", "région", "with space"], ["Id", "région"]);
    expect(parts.head + valuesPlaceholders(2, 3) + parts.tail).toBe(
      'INSERT INTO "Ware house"."Weird ""Name""" ("Id", "région", "with space") VALUES ($1,$2,$3),($4,$5,$6) ON CONFLICT ("Id", "région") DO UPDATE SET "with space" = EXCLUDED."with space"',
    );
    const keyOnly = compileUpsertParts(compile, name, ["Id", "région"], ["Id", "région"]);
    expect(keyOnly.tail).toBe(' ON CONFLICT ("Id", "région") DO NOTHING');
    expect(compileUpsertParts(compile, name, ["a"], []).tail).toBe("");
    expect(compileDeleteByAnyKey(compile, name, "Id")).toBe('DELETE FROM "Ware house"."Weird ""Name""" WHERE "Id" = ANY($1)');
  });

  it("refuses identifiers PostgreSQL would truncate", () => {
    expect(() => compileCreateTable({ schema: "s", table: "x".repeat(64) }, { ...schema, table: { namespace: "s", name: "x" } })).toThrow(/not a valid PostgreSQL identifier/);
    expect(() => compileCreateTable({ schema: "s", table: "é".repeat(32) }, schema)).toThrow(/63 bytes/);
    expect(compile(sql`${sql.id("é".repeat(31))}`)).toBe(`"${"é".repeat(31)}"`);
  });
});
