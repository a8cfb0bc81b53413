import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Row } from "@zero-etl/core";
import { StageColumns, StageRowEncoder } from "../../src/redshift/index.js";
import type { StageColumn } from "../../src/redshift/index.js";
import { utcIsoMicros } from "../../src/redshift/redshift-stage-encoder.js";
import { RedshiftChangeFolder } from "../../src/redshift/redshift-change-folder.js";

const dir = mkdtempSync(join(tmpdir(), "zetl-rs-columns-"));
let instance: DuckDBInstance;
let duck: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  duck = await instance.connect();
  await duck.run("SET TimeZone = 'UTC'");
});

afterAll(() => {
  duck.closeSync();
  instance.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

function save(bytes: Uint8Array): string {
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.parquet`);
  writeFileSync(file, bytes);
  return file;
}

/** Every cell as text (BLOBs as hex), read by DuckDB, an independent reader. */
async function readBack(file: string): Promise<Record<string, string | null>[]> {
  const described = (await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjects();
  const select = described.map((r) => (String(r["column_type"]) === "BLOB" ? `lower(hex("${String(r["column_name"])}"))` : `CAST("${String(r["column_name"])}" AS VARCHAR)`) + ` AS "${String(r["column_name"])}"`).join(", ");
  const result = await duck.runAndReadAll(`SELECT ${select} FROM read_parquet('${file}')`);
  return result.getRowObjects().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
}

function appendAll(batch: StageColumns, rows: readonly Row[]): void {
  for (const row of rows) {
    const index = batch.append(row);
    if (typeof index === "string") throw new Error(index);
  }
}

const columns: StageColumn[] = [
  { name: "id", type: "BIGINT", source: "id" },
  { name: "small", type: "SMALLINT", source: "small" },
  { name: "n", type: "INTEGER", source: "n" },
  { name: "d9", type: "DECIMAL(9,3)", source: "d9" },
  { name: "d18", type: "DECIMAL(18,2)", source: "d18" },
  { name: "d38", type: "DECIMAL(38,6)", source: "d38" },
  { name: "r", type: "REAL", source: "r" },
  { name: "x", type: "DOUBLE PRECISION", source: "x" },
  { name: "label", type: "VARCHAR(8)", source: "label" },
  { name: "body", type: "VARCHAR(65535)", source: "body" },
  { name: "raw", type: "VARBYTE(64)", source: "raw" },
  { name: "day", type: "DATE", source: "day" },
  { name: "at", type: "TIMESTAMP", source: "at" },
  { name: "atz", type: "TIMESTAMPTZ", source: "atz" },
  { name: "flag", type: "BOOLEAN", source: "flag" },
  { name: "gone", type: "INTEGER" },
];

describe("columnar staging (StageColumns)", () => {
  it("every type's fast and general paths, nulls and out-of-range longs read back as written, in a selected order", async () => {
    const rows: Row[] = [
      {
        id: 9007199254740993n,
        small: -5,
        n: 2147483647,
        d9: "-0.001",
        d18: "-999999999999.99",
        d38: "-12345678901234567890123456789012.000001",
        r: 0.1,
        x: -0,
        label: "ééééé",
        body: "ok",
        raw: new Uint8Array([1, 2, 254]),
        day: "2024-02-29",
        at: "2024-02-29T12:34:56.789012",
        atz: "2024-02-29T12:34:56.789012Z",
        flag: true,
      },
      { id: 2n, small: null, n: null, d9: null, d18: null, d38: null, r: null, x: null, label: null, body: null, raw: null, day: null, at: null, atz: null, flag: null },
      // the general paths: a number for a BIGINT, an exponent and 16 digits for decimals, a timestamp before 1970 and one with an offset
      { id: -9223372036854775808n, small: 7, n: -1, d9: "1.2300", d18: "9999999999999999.99", d38: "0", r: 3.5, x: Number.NaN, label: "a", body: "", raw: new Uint8Array([]), day: "1969-12-31", at: "1969-12-31T23:59:59.5", atz: "2024-01-01T01:00:00.25+01:00", flag: false },
      { id: 42, small: 0, n: 0, d9: "1.5e3", d18: "12.5", d38: "1e-6", r: -1e30, x: 1e300, label: "12345678", body: "x", raw: new Uint8Array([255]), day: "2000-01-01", at: "2000-01-01T00:00:00", atz: "1970-01-01T00:00:00Z", flag: true },
    ];
    const batch = new StageColumns(new StageRowEncoder(columns));
    appendAll(batch, rows);
    expect(batch.length).toBe(4);
    const back = await readBack(save(batch.file(Int32Array.of(3, 0, 2, 1))));
    expect(back).toEqual([
      { id: "42", small: "0", n: "0", d9: "1500.000", d18: "12.50", d38: "0.000001", r: "-1e+30", x: "1e+300", label: "12345678", body: "x", raw: "ff", day: "2000-01-01", at: "2000-01-01 00:00:00", atz: "1970-01-01 00:00:00+00", flag: "true", gone: null },
      {
        id: "9007199254740993",
        small: "-5",
        n: "2147483647",
        d9: "-0.001",
        d18: "-999999999999.99",
        d38: "-12345678901234567890123456789012.000001",
        r: "0.1",
        x: "-0.0",
        label: "éééé",
        body: "ok",
        raw: "0102fe",
        day: "2024-02-29",
        at: "2024-02-29 12:34:56.789012",
        atz: "2024-02-29 12:34:56.789012+00",
        flag: "true",
        gone: null,
      },
      { id: "-9223372036854775808", small: "7", n: "-1", d9: "1.230", d18: "9999999999999999.99", d38: "0.000000", r: "3.5", x: "nan", label: "a", body: "", raw: "", day: "1969-12-31", at: "1969-12-31 23:59:59.5", atz: "2024-01-01 00:00:00.25+00", flag: "false", gone: null },
      { id: "2", small: null, n: null, d9: null, d18: null, d38: null, r: null, x: null, label: null, body: null, raw: null, day: null, at: null, atz: null, flag: null, gone: null },
    ]);
  });

  it("a large batch (several pages per column, long text, a dictionary that fills up) equals the row encoder's file, values and statistics", async () => {
    let seed = 7;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const rows: Row[] = [];
    for (let i = 0; i < 140_000; i++) {
      const nullAt = (p: number): boolean => next() < p;
      rows.push({
        id: BigInt(i) * (i % 3 === 0 ? 100000000000n : 1n),
        small: nullAt(0.1) ? null : (i % 200) - 100,
        n: nullAt(0.1) ? null : Math.floor(next() * 4e9) - 2e9,
        d9: nullAt(0.1) ? null : `${Math.floor(next() * 1e6)}.${i % 1000}`,
        d18: nullAt(0.1) ? null : `-${Math.floor(next() * 1e12)}.${String(i % 100).padStart(2, "0")}`,
        d38: nullAt(0.5) ? null : `${Math.floor(next() * 1e15)}${Math.floor(next() * 1e15)}.${i % 10}`,
        r: nullAt(0.1) ? null : next() * 1000 - 500,
        x: nullAt(0.1) ? null : next() * 1e6,
        // 40,000 distinct values: past the dictionary's 32k entries, later pages are PLAIN
        label: nullAt(0.2) ? null : `l${i % 40000}`,
        // long text: some values far over a page's bytes, with multibyte characters cut at the 65,535-byte limit
        body: i % 5000 === 0 ? "ü".repeat(40000) : nullAt(0.5) ? null : `b-${i}`,
        raw: nullAt(0.3) ? null : Uint8Array.of(i & 255, (i >> 8) & 255),
        day: nullAt(0.1) ? null : new Date(Date.UTC(1990, 0, 1) + (i % 20000) * 86400000).toISOString().slice(0, 10),
        at: nullAt(0.1) ? null : new Date(Date.UTC(2020, 0, 1) + i * 1000).toISOString().slice(0, 23),
        atz: nullAt(0.1) ? null : new Date(Date.UTC(2020, 0, 1) + i * 1001).toISOString(),
        flag: nullAt(0.2) ? null : i % 3 === 0,
      });
    }
    const encoder = new StageRowEncoder(columns);
    const staged: unknown[][] = [];
    for (const row of rows) {
      const cells = encoder.encode(row);
      if (typeof cells === "string") throw new Error(cells);
      staged.push(cells);
    }
    const batch = new StageColumns(encoder, 16);
    appendAll(batch, rows);
    const ours = save(batch.file());
    const reference = save(encoder.file(staged));
    const diff = async (a: string, b: string): Promise<number> => Number((await duck.runAndReadAll(`SELECT count(*)::INTEGER c FROM (SELECT * FROM read_parquet('${a}') EXCEPT ALL SELECT * FROM read_parquet('${b}'))`)).getRowObjects()[0]?.["c"]);
    expect(await diff(ours, reference)).toBe(0);
    expect(await diff(reference, ours)).toBe(0);
    const summary = `SELECT count(*)::VARCHAR c, count(body)::VARCHAR b, max(strlen(body))::VARCHAR m, count(DISTINCT label)::VARCHAR l, sum(id)::VARCHAR s FROM read_parquet('%')`;
    const [s] = (await duck.runAndReadAll(summary.replace("%", ours))).getRowObjects();
    const labels = new Set(rows.map((r) => r["label"]).filter((l) => l !== null));
    expect(labels.size).toBeGreaterThan(1 << 15);
    expect(s).toMatchObject({ c: "140000", l: String(labels.size), m: "65534" });
    const stats = async (file: string): Promise<unknown[]> =>
      (await duck.runAndReadAll(`SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count::VARCHAR n, num_values::VARCHAR v FROM parquet_metadata('${file}') ORDER BY column_id`)).getRowObjectsJson();
    const ourStats = await stats(ours);
    expect(ourStats).toEqual(await stats(reference));
    // statistics that match the values: DuckDB's own min/max over the file
    const [range] = (await duck.runAndReadAll(`SELECT min(id)::VARCHAR lo, max(id)::VARCHAR hi FROM read_parquet('${ours}')`)).getRowObjects();
    expect(ourStats[0]).toMatchObject({ path_in_schema: "id", stats_min_value: range?.["lo"], stats_max_value: range?.["hi"] });
    // more than one page per fixed-width column: 140,000 int64 values are 1.1 MB
    const pages = (await duck.runAndReadAll(`SELECT total_uncompressed_size::BIGINT u FROM parquet_metadata('${ours}') WHERE path_in_schema = 'id'`)).getRowObjects();
    expect(Number(pages[0]?.["u"])).toBeGreaterThan(1 << 20);
  });

  it("a reset batch reuses its buffers: the next batch's file holds only its own rows", async () => {
    const batch = new StageColumns(new StageRowEncoder(columns), 16);
    appendAll(batch, Array.from({ length: 40 }, (_, i) => ({ id: BigInt(i), label: `old${i}`, body: `old body ${i}`, d38: "7", flag: true, x: i })));
    batch.reset();
    appendAll(batch, [{ id: 100n, label: "new" }, { id: 9007199254740993n, x: 1.5 }]);
    expect(batch.length).toBe(2);
    const back = await readBack(save(batch.file()));
    expect(back.map((r) => [r["id"], r["label"], r["body"], r["d38"], r["flag"], r["x"]])).toEqual([
      ["100", "new", null, null, null, null],
      ["9007199254740993", null, null, null, null, "1.5"],
    ]);
  });

  it("parses ISO UTC timestamps to the microseconds Date.parse gives, across months and years, and leaves invalid dates to the general parser", () => {
    let seed = 11;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    for (let k = 0; k < 20_000; k++) {
      const ms = Math.floor(next() * 7.2e12);
      const micros = Math.floor(next() * 1000);
      const text = `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, "0")}Z`;
      expect(utcIsoMicros(text)).toBe(ms * 1000 + micros);
      expect(utcIsoMicros(`${text.slice(0, 19)}Z`)).toBe(Math.floor(ms / 1000) * 1_000_000);
    }
    for (const text of ["2023-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-0x-01T00:00:00Z", "1969-12-31T23:59:59Z"]) expect(utcIsoMicros(text)).toBeUndefined();
    expect(utcIsoMicros("2024-02-29T00:00:00Z")).toBe(Date.parse("2024-02-29T00:00:00Z") * 1000);
  });

  it("the change folder matches a row's key (read from the columns) with the same key from the key encoder, whatever form each value came in", () => {
    const keyed: StageColumn[] = [
      { name: "a", type: "BIGINT", source: "a" },
      { name: "b", type: "DECIMAL(18,2)", source: "b" },
      { name: "c", type: "TIMESTAMPTZ", source: "c" },
      { name: "d", type: "BOOLEAN", source: "d" },
      { name: "e", type: "DECIMAL(38,6)", source: "e" },
      { name: "f", type: "DATE", source: "f" },
      { name: "g", type: "VARCHAR(4)", source: "g" },
      { name: "v", type: "VARCHAR(10)", source: "v" },
    ];
    const rows = new StageRowEncoder(keyed);
    const keyIndexes = [0, 1, 2, 3, 4, 5, 6];
    const folder = new RedshiftChangeFolder({ rows, keys: new StageRowEncoder(keyIndexes.map((i) => keyed[i] as StageColumn), rows.format), keyIndexes });
    const table = { namespace: "s", name: "t" };
    const rejected: unknown[] = [];
    const pairs: [Row, Row][] = [
      [{ a: 1n, b: "1.5", c: "2024-01-01T00:00:00Z", d: true, e: "2", f: "2024-01-01", g: "abcdef" }, { a: 1, b: "1.50", c: "2024-01-01T01:00:00+01:00", d: true, e: "2.000000", f: "2024-01-01", g: "abcd" }],
      [{ a: 9007199254740993n, b: "-0.01", c: "1969-12-31T23:59:59.5Z", d: false, e: "1e-6", f: "1970-01-01", g: "" }, { a: 9007199254740993n, b: "-1e-2", c: "1969-12-31T23:59:59.500Z", d: false, e: "0.000001", f: "1970-01-01", g: "" }],
    ];
    for (const [row] of pairs) folder.add({ op: "insert", table, position: "1", after: { ...row, v: "x" } }, rejected as never);
    const segment = folder.segments[0];
    expect(segment?.kind === "rows" ? segment.upserts.size : -1).toBe(2);
    for (const [, key] of pairs) folder.add({ op: "delete", table, position: "2", key }, rejected as never);
    expect(rejected).toEqual([]);
    expect(segment?.kind === "rows" ? [segment.upserts.size, segment.deletes.size] : []).toEqual([0, 2]);
    expect(folder.staged).toBe(2);

    // one-column keys are kept as numbers: a bigint and a number of the same value, -0 and 0, NaN, a key change
    for (const type of ["BIGINT", "DOUBLE PRECISION"]) {
      const one: StageColumn[] = [{ name: "k", type, source: "k" }, { name: "v", type: "VARCHAR(10)", source: "v" }];
      const oneRows = new StageRowEncoder(one);
      const single = new RedshiftChangeFolder({ rows: oneRows, keys: new StageRowEncoder([one[0] as StageColumn], oneRows.format), keyIndexes: [0] });
      const big = type === "BIGINT";
      const keys: [unknown, unknown][] = big ? [[7n, 7], [9007199254740993n, 9007199254740993n], [-3, -3n]] : [[-0, 0], [Number.NaN, Number.NaN], [1.5, 1.5]];
      for (const [k] of keys) single.add({ op: "insert", table, position: "1", after: { k, v: "a" } as Row }, rejected as never);
      single.add({ op: "update", table, position: "2", key: { k: (keys[2] as unknown[])[1] } as Row, after: { k: big ? 100n : 100, v: "moved" } as Row }, rejected as never);
      for (const [, k] of keys.slice(0, 2)) single.add({ op: "delete", table, position: "3", key: { k } as Row }, rejected as never);
      const seg = single.segments[0];
      expect(rejected).toEqual([]);
      expect(seg?.kind === "rows" ? [[...seg.upserts.values()].map((i) => single.batch.cell(i, 1)), seg.deletes.size] : []).toEqual([["moved"], 3]);
      expect(single.staged).toBe(4);
    }
  });

  it("refuses a value its column cannot hold with the column's name and appends nothing of that row", () => {
    const batch = new StageColumns(new StageRowEncoder(columns.slice(0, 6)));
    expect(batch.append({ id: 1n, n: 1.5 })).toBe("column n (INTEGER): not a 32-bit integer");
    expect(batch.append({ id: 1n, n: 2 ** 31 })).toBe("column n (INTEGER): not a 32-bit integer");
    // the row encoder (history tables) refuses the same
    expect(new StageRowEncoder(columns).encode({ id: 1n, n: 1.5 })).toBe("column n (INTEGER): not a 32-bit integer");
    expect(batch.append({ id: 1n << 64n })).toMatch(/^column id \(BIGINT\): /);
    expect(batch.append({ id: 1n, d18: "1.234" })).toMatch(/^column d18 \(DECIMAL\(18,2\)\): /);
    expect(batch.length).toBe(0);
    expect(batch.append({ id: 5n, n: 3 })).toBe(0);
    expect([batch.cell(0, 0), batch.cell(0, 2), batch.cell(0, 1)]).toEqual([5, 3, null]);
    const wide = new StageColumns(new StageRowEncoder([{ name: "k", type: "INTEGER", source: "k" }, { name: "b", type: "VARBYTE(1024000)", source: "b" }, { name: "c", type: "VARBYTE(1024000)", source: "c" }, { name: "d", type: "VARBYTE(1024000)", source: "d" }, { name: "e", type: "VARBYTE(1024000)", source: "e" }, { name: "f", type: "VARBYTE(1024000)", source: "f" }]));
    const mb = new Uint8Array(1024000);
    expect(wide.append({ k: 1, b: mb, c: mb, d: mb, e: mb, f: mb })).toMatch(/exceeds Redshift COPY's 4 MB per row/);
    expect(wide.length).toBe(0);
  });

  it("copies a cell between rows (kept columns of partial updates) and stages SUPER tables as the row encoder's JSON lines", async () => {
    const batch = new StageColumns(new StageRowEncoder(columns));
    appendAll(batch, [{ id: 1n, body: "first", d38: "1.5", flag: false, at: "2020-01-01T00:00:00" }, { id: 2n }]);
    for (const c of [5, 9, 12, 14]) batch.copyCell(0, 1, c);
    const back = await readBack(save(batch.file(Int32Array.of(1))));
    expect(back[0]).toMatchObject({ id: "2", body: "first", d38: "1.500000", flag: "false", at: "2020-01-01 00:00:00" });

    const superColumns: StageColumn[] = [
      { name: "k", type: "VARCHAR(10)", source: "k" },
      { name: "doc", type: "SUPER", source: "doc" },
      { name: "b", type: "VARBYTE(4)", source: "b" },
      { name: "n", type: "DECIMAL(38,10)", source: "n" },
    ];
    const encoder = new StageRowEncoder(superColumns);
    const json = new StageColumns(encoder);
    expect(json.format).toBe("json");
    const rows: Row[] = [{ k: 'a"b', doc: '{"big": 123456789012345678901234567890}', b: new Uint8Array([255]), n: "-1.5" }, { k: "z", doc: null, b: null, n: null }];
    appendAll(json, rows);
    const cells = rows.map((r) => encoder.encode(r) as unknown[]);
    expect(new TextDecoder().decode(json.file())).toBe(new TextDecoder().decode(encoder.file(cells)));
    expect(new TextDecoder().decode(json.file())).toBe('{"k":"a\\"b","doc":{"big": 123456789012345678901234567890},"b":"ff","n":-1.5}\n{"k":"z"}\n');
  });
});
