import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// MariaDB -> PostgreSQL through the real CLI. Every case compares the source and
// the target cell by cell, each read with its own client and plain SQL.

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

interface Pair {
  readonly source: TestMysqlDatabase;
  readonly target: TestDatabase;
  run(): Promise<void>;
}

async function pair(prefix: string, extra: Record<string, unknown> = {}): Promise<Pair> {
  const source = await createTestMysqlDatabase(prefix);
  const target = await createTestDatabase(`${prefix}_dst`);
  cleanups.push(() => source.drop(), () => target.drop());
  const { file } = await writeConfig({
    name: prefix,
    source: { type: "mysql", url: source.url },
    target: { type: "postgres", url: target.url, schema: "dw" },
    ...extra,
  });
  return {
    source,
    target,
    async run() {
      const result = await runCli(["run", file, "--until-caught-up"]);
      expect(result.code, result.stderr).toBe(0);
    },
  };
}

/** Rows of `sql` on the source, every cell as text (NULL as null), in the statement's order. */
async function sourceRows(source: TestMysqlDatabase, sql: string): Promise<(string | null)[][]> {
  const rows = (await source.query(sql)) as Record<string, unknown>[];
  return rows.map((r) => Object.values(r).map((v) => (v === null ? null : String(v))));
}

/** Rows of `sql` on the target, read with a client of its own (so that dropping the database never kills a pooled one). */
async function targetRows(target: TestDatabase, sql: string): Promise<(string | null)[][]> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const result = await client.query<unknown[]>({ text: sql, rowMode: "array" });
    return result.rows.map((r) => r.map((v) => (v === null ? null : String(v))));
  } finally {
    await client.end();
  }
}

/** A seeded generator (splitmix32), so a failing case can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function randomDoubles(seed: number, count: number): number[] {
  const next = seeded(seed);
  const view = new DataView(new ArrayBuffer(8));
  const out = [Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623155e308, 0.1, -3403.8494978135914, 1, 0];
  while (out.length < count) {
    if (next() % 2 === 0) {
      // any finite bit pattern: subnormals, huge and tiny exponents
      view.setUint32(0, next());
      view.setUint32(4, next());
      const value = view.getFloat64(0);
      if (Number.isFinite(value) && !Object.is(value, -0)) out.push(value);
    } else {
      // everyday magnitudes with all 17 significant digits in play
      out.push(((next() / 2 ** 32 - 0.5) * 10 ** ((next() % 12) - 4)) as number);
    }
  }
  return out;
}

function bitsOf(text: string | null): string | null {
  if (text === null) return null;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Number(text));
  return view.getBigUint64(0).toString(16);
}

describe("MariaDB -> PostgreSQL fidelity", () => {
  it("lands random DOUBLE values bit for bit, from the snapshot and from the binlog", async () => {
    const p = await pair("fid_dbl");
    const values = randomDoubles(20261207, 1000);
    await p.source.query(`CREATE TABLE d (id INT PRIMARY KEY, x DOUBLE, f FLOAT)`);
    const rowsOf = (offset: number) => values.map((x, i) => [offset + i, x, Math.fround(Math.abs(x) < 3e38 ? x : x / 1e300)]);
    await p.source.query(`INSERT INTO d VALUES ?`, [rowsOf(0)]);
    await p.run(); // the snapshot
    await p.source.query(`INSERT INTO d VALUES ?`, [rowsOf(10_000)]);
    await p.run(); // the binlog

    const source = await sourceRows(p.source, `SELECT id, CAST(x AS CHAR) AS x, CAST(CAST(f AS DOUBLE) AS CHAR) AS f FROM d ORDER BY id`);
    const target = await targetRows(p.target, `SELECT id, x::text, f::float8::text FROM dw.d ORDER BY id`);
    expect(source).toHaveLength(2000);
    // the source holds exactly the generated values
    expect(source.map((r) => bitsOf(r[1] ?? null))).toEqual([...values, ...values].map((x) => bitsOf(String(x))));
    const bits = (rows: (string | null)[][]) => rows.map((r) => [r[0], bitsOf(r[1] ?? null), bitsOf(r[2] ?? null)]);
    expect(bits(target)).toEqual(bits(source));
  });

  it("lands the edge values of MySQL's time types exactly: TIME as an interval, DATETIME(6), TIMESTAMP(6), DATE, YEAR", async () => {
    const p = await pair("fid_time");
    await p.source.query(`
      SET time_zone = '+00:00';
      CREATE TABLE t (id INT PRIMARY KEY, du TIME, du6 TIME(6), dt DATETIME(6), ts TIMESTAMP(6) NULL, d DATE, y YEAR);`);
    const edge = `
      (?, '-838:59:59', '-838:59:59.000000', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '1000-01-01', 1901),
      (?, '838:59:59', '838:59:59.000000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '9999-12-31', 2155),
      (?, '-00:00:01', '-00:00:00.500001', '2026-02-28 12:00:00.5', '2000-02-29 23:59:59.000001', '2024-02-29', 0),
      (?, '00:00:00', '24:00:00.000001', NULL, NULL, NULL, NULL)`;
    await p.source.query(`SET time_zone = '+00:00'; INSERT INTO t VALUES ${edge}`, [1, 2, 3, 4]);
    await p.run();
    await p.source.query(`SET time_zone = '+00:00'; INSERT INTO t VALUES ${edge}`, [11, 12, 13, 14]);
    await p.run();

    const micros = (text: string | null): string | null => {
      if (text === null) return null;
      const m = /^(-)?(\d+):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(text);
      if (m === null) return `unparsed ${text}`;
      const total = (BigInt(m[2] ?? 0) * 3600n + BigInt(m[3] ?? 0) * 60n + BigInt(m[4] ?? 0)) * 1_000_000n + BigInt((m[5] ?? "").padEnd(6, "0"));
      return String(m[1] === "-" ? -total : total);
    };
    const source = (
      await sourceRows(
        p.source,
        `SELECT id, CAST(du AS CHAR), CAST(du6 AS CHAR), DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f'), CAST(UNIX_TIMESTAMP(ts) AS CHAR), CAST(d AS CHAR), CAST(y + 0 AS CHAR) FROM t ORDER BY id`,
      )
    ).map((r) => [r[0], micros(r[1] ?? null), micros(r[2] ?? null), r[3], r[4], r[5], r[6]]);
    const target = (
      await targetRows(
        p.target,
        `SELECT id, du::text, du6::text, to_char(dt, 'YYYY-MM-DD HH24:MI:SS.US'), extract(epoch from ts)::text, d::text, y::text FROM dw.t ORDER BY id`,
      )
    ).map((r) => [r[0], micros(r[1] ?? null), micros(r[2] ?? null), r[3], r[4], r[5], r[6]]);
    expect(source).toHaveLength(8);
    expect(target).toEqual(source);
    const types = await targetRows(p.target, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 't' AND column_name LIKE 'du%' ORDER BY 1`);
    expect(types).toEqual([
      ["du", "interval"],
      ["du6", "interval"],
    ]);
  });

  it("keys a table without a primary key by its UNIQUE NOT NULL key, as MySQL replication does", async () => {
    const p = await pair("fid_uniq");
    await p.source.query(`
      CREATE TABLE u (a INT NOT NULL, b VARCHAR(20), n INT NULL, UNIQUE KEY un (n), UNIQUE KEY ua (a));
      INSERT INTO u VALUES (1, 'one', NULL), (2, 'two', 20), (3, 'three', 30);`);
    await p.run();
    await p.source.query(`
      UPDATE u SET b = 'uno' WHERE a = 1;
      UPDATE u SET a = 20 WHERE a = 2;
      DELETE FROM u WHERE a = 3;
      INSERT INTO u VALUES (4, 'four', NULL);`);
    await p.run();
    await p.source.query(`UPDATE u SET b = 'again' WHERE a = 4`);
    await p.run();
    const source = await sourceRows(p.source, `SELECT a, b, n FROM u ORDER BY a`);
    expect(source).toEqual([
      ["1", "uno", null],
      ["4", "again", null],
      ["20", "two", "20"],
    ]);
    expect(await targetRows(p.target, `SELECT a, b, n FROM dw.u ORDER BY a`)).toEqual(source);
    expect(await targetRows(p.target, `SELECT state FROM dw._zeroetl_table_state`)).toEqual([["synced"]]);
  });
});
