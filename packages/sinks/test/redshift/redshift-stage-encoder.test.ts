import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Row, TableSchema } from "@zero-etl/core";
import { StageRowEncoder, compileCreateTable, compileCreateTableStatements, DATA_API_MAX_STATEMENT_BYTES, foldRedshiftIdentifier, planRedshiftColumns, REDSHIFT_MAX_COLUMNS } from "../../src/redshift/index.js";
import type { StageColumn } from "../../src/redshift/index.js";

const dir = mkdtempSync(join(tmpdir(), "zetl-rs-stage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads a Parquet file with DuckDB (an independent reader), every cell as text (BLOBs as hex). */
async function readWithDuckDb(bytes: Uint8Array, blobs: readonly string[]): Promise<Record<string, string | null>[]> {
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.parquet`);
  writeFileSync(file, bytes);
  const instance = await DuckDBInstance.create(":memory:");
  const duck = await instance.connect();
  try {
    await duck.run("SET TimeZone = 'UTC'").catch(() => undefined);
    const names = (await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjects().map((r) => String(r["column_name"]));
    const select = names.map((n) => (blobs.includes(n) ? `lower(hex("${n}")) AS "${n}"` : `CAST("${n}" AS VARCHAR) AS "${n}"`)).join(", ");
    const result = await duck.runAndReadAll(`SELECT ${select} FROM read_parquet('${file}')`);
    return result.getRowObjects().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

const columns: StageColumn[] = [
  { name: "id", type: "BIGINT", source: "Id" },
  { name: "small", type: "SMALLINT", source: "small" },
  { name: "amount", type: "DECIMAL(38,6)", source: "amount" },
  { name: "ratio", type: "DOUBLE PRECISION", source: "ratio" },
  { name: "label", type: "VARCHAR(8)", source: "label" },
  { name: "raw", type: "VARBYTE(16)", source: "raw" },
  { name: "day", type: "DATE", source: "day" },
  { name: "at", type: "TIMESTAMPTZ", source: "at" },
  { name: "flag", type: "BOOLEAN", source: "flag" },
  { name: "gone", type: "INTEGER" },
];

describe("staged files", () => {
  it("a batch staged as Parquet reads back equal through DuckDB, with VARCHAR bytes cut at a character boundary", async () => {
    const rows: Row[] = [
      { Id: 9007199254740993n, small: -5, amount: "-12345678901234567890123456789012.000001", ratio: 0.1, label: "ééééé", raw: new Uint8Array([1, 2, 254]), day: "2024-02-29", at: "2024-02-29T12:34:56.789012Z", flag: true },
      { Id: 2n, small: null, amount: null, ratio: null, label: null, raw: null, day: null, at: null, flag: null },
    ];
    const encoder = new StageRowEncoder(columns);
    expect(encoder.format).toBe("parquet");
    const staged = rows.map((r) => encoder.encode(r));
    const back = await readWithDuckDb(encoder.file(staged as unknown[][]), ["raw"]);
    expect(back).toEqual([
      { id: "9007199254740993", small: "-5", amount: "-12345678901234567890123456789012.000001", ratio: "0.1", label: "éééé", raw: "0102fe", day: "2024-02-29", at: "2024-02-29 12:34:56.789012+00", flag: "true", gone: null },
      { id: "2", small: null, amount: null, ratio: null, label: null, raw: null, day: null, at: null, flag: null, gone: null },
    ]);
  });

  it("short decimals and UTC timestamps take the fast paths (safe numbers) and read back equal to the general path's", async () => {
    const fast: StageColumn[] = [
      { name: "d", type: "DECIMAL(18,2)", source: "d" },
      { name: "e", type: "DECIMAL(9,3)", source: "e" },
      { name: "at", type: "TIMESTAMPTZ", source: "at" },
    ];
    const rows: Row[] = [
      { d: "12.5", e: "-0.001", at: "2023-11-14T22:13:20.000Z" },
      { d: "-999999999999.99", e: "123456.789", at: "2024-02-29T23:59:59.123456Z" },
      // 16 digits: past a safe number, the general path (bigint)
      { d: "9999999999999999.99", e: "0", at: "1970-01-01T00:00:00Z" },
      // forms the fast paths leave to the general parser: exponent, trailing zeros past the scale, before 1970, an offset
      { d: "1.5e3", e: "1.2300", at: "1969-12-31T23:59:59.5Z" },
      { d: "0", e: null, at: "2024-01-01T01:00:00.25+01:00" },
    ];
    const encoder = new StageRowEncoder(fast);
    const staged = rows.map((r) => encoder.encode(r));
    expect(staged.filter((r) => typeof r === "string")).toEqual([]);
    expect(typeof (staged[0] as unknown[])[0]).toBe("number");
    expect(typeof (staged[0] as unknown[])[2]).toBe("number");
    expect(typeof (staged[2] as unknown[])[0]).toBe("bigint");
    const back = await readWithDuckDb(encoder.file(staged as unknown[][]), []);
    expect(back).toEqual([
      { d: "12.50", e: "-0.001", at: "2023-11-14 22:13:20+00" },
      { d: "-999999999999.99", e: "123456.789", at: "2024-02-29 23:59:59.123456+00" },
      { d: "9999999999999999.99", e: "0.000", at: "1970-01-01 00:00:00+00" },
      { d: "1500.00", e: "1.230", at: "1969-12-31 23:59:59.5+00" },
      { d: "0.00", e: null, at: "2024-01-01 00:00:00.25+00" },
    ]);
    expect(encoder.encode({ d: "1.234", e: null, at: null })).toMatch(/^column d \(DECIMAL\(18,2\)\): /);
  });

  it("a table with SUPER is staged as JSON lines with documents embedded as they are and binary as hex", () => {
    const encoder = new StageRowEncoder([
      { name: "k", type: "VARCHAR(10)", source: "k" },
      { name: "doc", type: "SUPER", source: "doc" },
      { name: "list", type: "SUPER", source: "list" },
      { name: "b", type: "VARBYTE(4)", source: "b" },
      { name: "n", type: "DECIMAL(38,10)", source: "n" },
    ]);
    expect(encoder.format).toBe("json");
    const cells = encoder.encode({ k: 'a"b', doc: '{"big": 123456789012345678901234567890}', list: [1n, "x", null], b: new Uint8Array([255]), n: "-1.5" });
    expect(new TextDecoder().decode(encoder.file([cells as unknown[]]))).toBe('{"k":"a\\"b","doc":{"big": 123456789012345678901234567890},"list":[1,"x",null],"b":"ff","n":-1.5}\n');
    // a 64-bit integer inside SUPER stays a number with every digit (it was the string "…", found by the fuzzer)
    const wide = encoder.encode({ k: "w", doc: null, list: [-9223372036854775808n, { x: 9007199254740993n }], b: null, n: null });
    expect(new TextDecoder().decode(encoder.file([wide as unknown[]]))).toContain('"list":[-9223372036854775808,{"x":9007199254740993}]');
  });

  it("rejects a SUPER value over 16 MB and a row over COPY's 4 MB, naming the column, not the value", () => {
    const json = new StageRowEncoder([{ name: "k", type: "INTEGER", source: "k" }, { name: "doc", type: "SUPER", source: "doc" }]);
    const huge = `"${"x".repeat(17 * 1024 * 1024)}"`;
    expect(json.encode({ k: 1, doc: huge })).toMatch(/^column doc \(SUPER\): value of \d+ bytes exceeds Redshift's 16 MB SUPER value$/);
    const parquet = new StageRowEncoder([{ name: "k", type: "INTEGER", source: "k" }, { name: "t", type: "VARCHAR(65535)", source: "t" }, { name: "b", type: "VARBYTE(1024000)", source: "b" }, { name: "c", type: "VARBYTE(1024000)", source: "c" }, { name: "d", type: "VARBYTE(1024000)", source: "d" }, { name: "e", type: "VARBYTE(1024000)", source: "e" }, { name: "f", type: "VARBYTE(1024000)", source: "f" }]);
    const mb = new Uint8Array(1024000);
    expect(parquet.encode({ k: 1, t: "x", b: mb, c: mb, d: mb, e: mb, f: mb })).toMatch(/exceeds Redshift COPY's 4 MB per row/);
  });

  it("folds names as Redshift does, caps them at 127 bytes, refuses colliding names and more than 1,600 columns", () => {
    expect(foldRedshiftIdentifier("OrderLines")).toBe("orderlines");
    const long = foldRedshiftIdentifier("É".repeat(100));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(127);
    expect(long).toBe(foldRedshiftIdentifier("É".repeat(100)));
    const base = { table: { namespace: "s", name: "t" }, version: 1, primaryKey: ["id"] };
    expect(() => planRedshiftColumns({ ...base, columns: [{ name: "id", type: { kind: "int", bits: 32, signed: true }, nullable: false }, { name: "ID", type: { kind: "bool" }, nullable: true }] })).toThrow(/columns id and ID are one column in Redshift/);
    const wide: TableSchema = { ...base, columns: Array.from({ length: REDSHIFT_MAX_COLUMNS + 1 }, (_, i) => ({ name: `c${i}`, type: { kind: "bool" as const }, nullable: true })) };
    expect(() => planRedshiftColumns(wide)).toThrow(/1601 columns; Redshift allows 1600/);
  });

  it("CREATE TABLE carries Redshift's types, the key and the chosen DISTKEY/SORTKEY", () => {
    const schema: TableSchema = {
      table: { namespace: "s", name: "Events" },
      version: 1,
      primaryKey: ["Id"],
      columns: [
        { name: "Id", type: { kind: "int", bits: 64, signed: true }, nullable: false },
        { name: "created_at", type: { kind: "timestamp", precision: 6, withZone: true }, nullable: false },
        { name: "payload", type: { kind: "struct", fields: [] }, nullable: true },
      ],
    };
    const sql = compileCreateTable({ schema: "dw", table: "events" }, planRedshiftColumns(schema), ["id"], { target: "redshift", distStyle: "KEY", distKey: "Id", sortKey: ["created_at"], reason: "" });
    expect(sql).toBe('CREATE TABLE IF NOT EXISTS "dw"."events" ("id" BIGINT NOT NULL, "created_at" TIMESTAMPTZ, "payload" SUPER, PRIMARY KEY ("id")) DISTSTYLE KEY DISTKEY ("id") COMPOUND SORTKEY ("created_at")');
  });

  it("splits the CREATE TABLE of a 1,600-column table with 127-byte names into statements under the Data API's 100 KB", () => {
    const names = Array.from({ length: REDSHIFT_MAX_COLUMNS }, (_, i) => `c${String(i).padStart(4, "0")}_${"x".repeat(121)}`);
    const schema: TableSchema = {
      table: { namespace: "s", name: "wide" },
      version: 1,
      primaryKey: [names[1599] as string],
      columns: names.map((name) => ({ name, type: { kind: "decimal" as const, precision: 38, scale: 10 }, nullable: true })),
    };
    const plans = planRedshiftColumns(schema);
    expect(Buffer.byteLength(compileCreateTable({ schema: "dw", table: "wide" }, plans, [names[1599] as string], undefined))).toBeGreaterThan(DATA_API_MAX_STATEMENT_BYTES);
    const statements = compileCreateTableStatements({ schema: "dw", table: "wide" }, plans, [names[1599] as string], undefined, DATA_API_MAX_STATEMENT_BYTES);
    for (const statement of statements) expect(Buffer.byteLength(statement)).toBeLessThanOrEqual(DATA_API_MAX_STATEMENT_BYTES);
    expect(statements[0]).toContain(`"${names[1599]}" DECIMAL(38,10) NOT NULL`);
    const created = (statements[0]?.match(/DECIMAL\(38,10\)/g) ?? []).length;
    expect(created + statements.length - 1).toBe(REDSHIFT_MAX_COLUMNS);
    expect(statements.slice(1).every((s) => s.startsWith('ALTER TABLE "dw"."wide" ADD COLUMN '))).toBe(true);
  });
});
