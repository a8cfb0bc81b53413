import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

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

/** Asserts that a table's columns hold the same text on both sides (integers and strings), row by row in key order. */
async function expectSameTable(p: Pair, table: string, columns: readonly string[], orderBy: string): Promise<(string | null)[][]> {
  const source = await sourceRows(p.source, `SELECT ${columns.map((c) => `CAST(\`${c}\` AS CHAR)`).join(", ")} FROM \`${table}\` ORDER BY ${orderBy}`);
  // aliased, so that ORDER BY sorts by the typed column, not its text
  const target = await targetRows(p.target, `SELECT ${columns.map((c, i) => `"${c}"::text AS c${i}`).join(", ")} FROM dw."${table}" ORDER BY ${orderBy}`);
  expect(target, `${table} (${columns.join(", ")})`).toEqual(source);
  return source;
}

/** Asserts that the target has exactly the source's tables (besides its own state tables). */
async function expectSameTables(p: Pair): Promise<string[]> {
  const source = (await sourceRows(p.source, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1`)).map((r) => r[0] as string).sort();
  const target = (await targetRows(p.target, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'dw' AND table_name NOT LIKE '\\_zeroetl%' ORDER BY 1`)).map((r) => r[0] as string).sort();
  expect(target).toEqual(source);
  return source;
}

/** Every table's state in the target's state table. */
async function tableStates(p: Pair): Promise<string[][]> {
  return (await targetRows(p.target, `SELECT table_name, state FROM dw._zeroetl_table_state ORDER BY 1`)).map((r) => [String(r[0]).replace(/^[^.]*\./, ""), String(r[1])]);
}

/** Retries `check` (which asserts) until it passes or `timeoutMs` ran out, then fails with its last error. */
async function eventually(check: () => Promise<void>, timeoutMs = 45_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 300));
    }
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

  it("fills a column added with a default (NOT NULL, AFTER, FIRST, ALGORITHM=INSTANT) in existing rows", async () => {
    const p = await pair("fid_addcol");
    await p.source.query(`CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');`);
    await p.run();
    await p.source.query(`
      ALTER TABLE t ADD COLUMN d INT NOT NULL DEFAULT 42;
      ALTER TABLE t ADD COLUMN e VARCHAR(5) DEFAULT 'x' AFTER id;
      ALTER TABLE t ADD COLUMN f INT NOT NULL DEFAULT 7 FIRST, ALGORITHM=INSTANT;
      ALTER TABLE t ADD COLUMN g INT NULL;
      INSERT INTO t (id, v, d, g) VALUES (4, 'd', 1, 9);`);
    await p.run();
    const rows = await expectSameTable(p, "t", ["f", "id", "e", "v", "d", "g"], "id");
    expect(rows).toEqual([
      ["7", "1", "x", "a", "42", null],
      ["7", "2", "x", "b", "42", null],
      ["7", "3", "x", "c", "42", null],
      ["7", "4", "x", "d", "1", "9"],
    ]);
    await p.source.query(`
      UPDATE t SET d = 0 WHERE id = 1; ALTER TABLE t DROP COLUMN g; UPDATE t SET v = 'z' WHERE id = 2; ALTER TABLE t ADD COLUMN g INT NULL; UPDATE t SET v = 'y' WHERE id = 3;
      ALTER TABLE t ADD COLUMN j JSON NULL; UPDATE t SET j = '{"k": [1, 2.50]}' WHERE id = 4;`);
    await p.run();
    await expectSameTable(p, "t", ["f", "id", "e", "v", "d", "g"], "id");
    // MariaDB's JSON (a LONGTEXT with a json_valid check) lands as jsonb, as from the snapshot
    expect(await targetRows(p.target, `SELECT id, j::text, jsonb_typeof(j) FROM dw.t WHERE j IS NOT NULL`)).toEqual([["4", '{"k": [1, 2.50]}', "object"]]);
    expect((await tableStates(p)).map((r) => r[1])).toEqual(["synced"]);
  });

  it("ends the online-schema-change swap (gh-ost / pt-osc) and a rename with the source's tables and rows", async () => {
    const p = await pair("fid_osc");
    await p.source.query(`CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))`);
    await p.source.query(`INSERT INTO t VALUES ?`, [Array.from({ length: 1000 }, (_, i) => [i + 1, `v${i + 1}`])]);
    await p.run();
    await p.source.query(`
      CREATE TABLE _t_gho (id INT PRIMARY KEY, v VARCHAR(20), extra INT NOT NULL DEFAULT 5);
      INSERT INTO _t_gho (id, v) SELECT id, v FROM t;
      UPDATE _t_gho SET extra = 6 WHERE id = 1;
      RENAME TABLE t TO _t_del, _t_gho TO t;
      UPDATE t SET v = 'after swap' WHERE id = 2;`);
    await p.run();
    expect(await expectSameTables(p)).toEqual(["_t_del", "t"]);
    const rows = await expectSameTable(p, "t", ["id", "v", "extra"], "id");
    expect(rows.slice(0, 3)).toEqual([
      ["1", "v1", "6"],
      ["2", "after swap", "5"],
      ["3", "v3", "5"],
    ]);
    await expectSameTable(p, "_t_del", ["id", "v"], "id");
    await p.source.query(`DROP TABLE _t_del; ALTER TABLE t RENAME TO t2; UPDATE t2 SET v = 'renamed' WHERE id IN (3, 4);`);
    await p.run();
    expect(await expectSameTables(p)).toEqual(["t2"]);
    await expectSameTable(p, "t2", ["id", "v", "extra"], "id");
    expect((await tableStates(p)).filter((r) => r[1] !== "dropped-at-source")).toEqual([["t2", "synced"]]);
  });

  it("snapshots tables created after the start (also by CREATE ... SELECT) and replaces a dropped and recreated one", async () => {
    const p = await pair("fid_new");
    await p.source.query(`
      CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO a VALUES (1, 'a1'), (2, 'a2');
      CREATE TABLE d (k VARCHAR(10) PRIMARY KEY, v VARCHAR(10)); INSERT INTO d VALUES ('x', 'old'), ('y', 'old');`);
    await p.run();
    await p.source.query(`CREATE TABLE b (id INT PRIMARY KEY, n INT)`);
    await p.source.query(`INSERT INTO b VALUES ?`, [Array.from({ length: 50 }, (_, i) => [i, i * i])]);
    await p.source.query(`
      CREATE TABLE nk (v VARCHAR(10), n INT);
      INSERT INTO nk VALUES ('x', 1), ('x', 1), ('y', 2);
      CREATE TABLE c (PRIMARY KEY (id)) SELECT id, v FROM a;
      DROP TABLE d;
      CREATE TABLE d (k VARCHAR(10) PRIMARY KEY, n DECIMAL(10,2));
      INSERT INTO d VALUES ('z', 1.50);
      UPDATE b SET n = -1 WHERE id = 7;`);
    await p.run();
    expect(await expectSameTables(p)).toEqual(["a", "b", "c", "d", "nk"]);
    expect(await expectSameTable(p, "nk", ["v", "n"], "1, 2")).toHaveLength(3);
    expect(await expectSameTable(p, "b", ["id", "n"], "id")).toHaveLength(50);
    expect(await expectSameTable(p, "c", ["id", "v"], "id")).toHaveLength(2);
    expect(await expectSameTable(p, "d", ["k", "n"], "k")).toEqual([["z", "1.50"]]);
    const dColumns = await targetRows(p.target, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 'd' ORDER BY ordinal_position`);
    expect(dColumns).toEqual([["k"], ["n"]]);
    await p.source.query(`INSERT INTO b VALUES (100, 100); INSERT INTO c VALUES (3, 'c3');`);
    await p.run();
    await expectSameTable(p, "b", ["id", "n"], "id");
    await expectSameTable(p, "c", ["id", "v"], "id");
  });

  it("ends a primary-key change and an int -> varchar change with the target equal to the source", async () => {
    const p = await pair("fid_keytype");
    await p.source.query(`
      CREATE TABLE k (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, v INT);
      INSERT INTO k VALUES (1, 'c1', 10), (2, 'c2', 20);
      CREATE TABLE m (id INT PRIMARY KEY, i INT, iv INT);
      INSERT INTO m VALUES (1, 1, 100), (2, 2, 200);
      CREATE TABLE u (a INT NOT NULL, b INT);
      INSERT INTO u VALUES (1, 1), (2, 2);`);
    await p.run();
    await p.source.query(`
      ALTER TABLE k DROP PRIMARY KEY, ADD PRIMARY KEY (code);
      INSERT INTO k VALUES (1, 'c3', 30);
      UPDATE k SET v = 21 WHERE code = 'c2';
      ALTER TABLE m MODIFY i BIGINT, MODIFY iv VARCHAR(20);
      INSERT INTO m VALUES (3, 9000000000, 'three');
      UPDATE m SET iv = 'two' WHERE id = 2;
      ALTER TABLE u ADD UNIQUE KEY ua (a);
      UPDATE u SET b = 20 WHERE a = 2;`);
    await p.run();
    expect(await expectSameTable(p, "k", ["id", "code", "v"], "code")).toHaveLength(3);
    expect(await expectSameTable(p, "m", ["id", "i", "iv"], "id")).toEqual([
      ["1", "1", "100"],
      ["2", "2", "two"],
      ["3", "9000000000", "three"],
    ]);
    const keys = await targetRows(
      p.target,
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'dw.k'::regclass AND i.indisprimary`,
    );
    expect(keys).toEqual([["code"]]);
    // a keyless table whose new UNIQUE NOT NULL key becomes its key (seen in the TABLE_MAP)
    expect(await expectSameTable(p, "u", ["a", "b"], "a")).toEqual([
      ["1", "1"],
      ["2", "20"],
    ]);
    await p.source.query(`UPDATE k SET v = 22 WHERE code = 'c2'; UPDATE m SET iv = 'one' WHERE id = 1; UPDATE u SET b = 10 WHERE a = 1;`);
    await p.run();
    await expectSameTable(p, "k", ["id", "code", "v"], "code");
    await expectSameTable(p, "m", ["id", "i", "iv"], "id");
    expect(await expectSameTable(p, "u", ["a", "b"], "a")).toEqual([
      ["1", "10"],
      ["2", "20"],
    ]);
    expect((await tableStates(p)).map((r) => r[1])).toEqual(["synced", "synced", "synced"]);
  });

  it("snapshots a table added to the filter between runs, and reads it anew when it is removed and added back", async () => {
    const source = await createTestMysqlDatabase("fid_filter");
    const target = await createTestDatabase("fid_filter_dst");
    cleanups.push(() => source.drop(), () => target.drop());
    await source.query(`CREATE TABLE a (id INT PRIMARY KEY, v INT); INSERT INTO a VALUES (1, 1); CREATE TABLE b (id INT PRIMARY KEY, v INT); CREATE TABLE c (id INT PRIMARY KEY, v INT);`);
    await source.query(`INSERT INTO b VALUES ?`, [Array.from({ length: 500 }, (_, i) => [i, i])]);
    await source.query(`INSERT INTO c VALUES (1, 1), (2, 2)`);
    const config = (include: string[]) => ({
      name: "fid_filter",
      source: { type: "mysql", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
      filter: { include: include.map((t) => `${source.name}.${t}`) },
    });
    const { file, dir } = await writeConfig(config(["a"]));
    const runWith = async (include: string[]) => {
      await writeFile(file, JSON.stringify({ state: { dir: join(dir, "state") }, log: { level: "warn" }, ...config(include) }));
      const result = await runCli(["run", file, "--until-caught-up"]);
      expect(result.code, result.stderr).toBe(0);
    };
    const p: Pair = { source, target, run: () => runWith(["a", "b"]) };
    await runWith(["a"]);
    await source.query(`UPDATE b SET v = -1 WHERE id = 1`);
    // two tables at once: both are snapshotted into new target tables in one resync
    await runWith(["a", "b", "c"]);
    expect(await expectSameTable(p, "b", ["id", "v"], "id")).toHaveLength(500);
    expect(await expectSameTable(p, "c", ["id", "v"], "id")).toHaveLength(2);
    await runWith(["a"]);
    await source.query(`DELETE FROM b WHERE id >= 100; UPDATE b SET v = -2 WHERE id = 2;`);
    await runWith(["a"]);
    await runWith(["a", "b"]);
    expect(await expectSameTable(p, "b", ["id", "v"], "id")).toHaveLength(100);
    await expectSameTable(p, "a", ["id", "v"], "id");
  });

  it("follows DDL while it runs: a JSON column, a column with a default, and the online-schema-change swap", async () => {
    const source = await createTestMysqlDatabase("fid_live");
    const target = await createTestDatabase("fid_live_dst");
    cleanups.push(() => source.drop(), () => target.drop());
    await source.query(`CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');`);
    const { file } = await writeConfig({
      name: "fid_live",
      source: { type: "mysql", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    });
    const p: Pair = { source, target, run: async () => undefined };
    const runner = startCli(["run", file]);
    cleanups.push(async () => {
      runner.kill("SIGKILL");
      await runner.result;
    });
    await eventually(async () => {
      expect(await expectSameTable(p, "t", ["id", "v"], "id")).toHaveLength(3);
    });
    await source.query(`ALTER TABLE t ADD COLUMN j JSON NULL; UPDATE t SET j = '{"k": [1, 2.50]}' WHERE id = 1;`);
    // MariaDB's JSON is a LONGTEXT in the binlog: it lands as jsonb only because the ALTER made the table be re-read
    await eventually(async () => {
      expect(await targetRows(target, `SELECT id, j::text, jsonb_typeof(j) FROM dw.t WHERE j IS NOT NULL`)).toEqual([["1", '{"k": [1, 2.50]}', "object"]]);
    });
    await source.query(`
      ALTER TABLE t ADD COLUMN d INT NOT NULL DEFAULT 42;
      CREATE TABLE _t_gho (id INT PRIMARY KEY, v VARCHAR(20), j JSON NULL, d INT NOT NULL DEFAULT 42, extra INT NOT NULL DEFAULT 5);
      INSERT INTO _t_gho (id, v, j, d) SELECT id, v, j, d FROM t;
      RENAME TABLE t TO _t_del, _t_gho TO t;
      DROP TABLE _t_del;
      INSERT INTO t (id, v) VALUES (4, 'd');`);
    await eventually(async () => {
      expect(await expectSameTables(p)).toEqual(["t"]);
      expect(await expectSameTable(p, "t", ["id", "v", "d", "extra"], "id")).toHaveLength(4);
      expect(await targetRows(target, `SELECT id, j::text, jsonb_typeof(j) FROM dw.t WHERE j IS NOT NULL`)).toEqual([["1", '{"k": [1, 2.50]}', "object"]]);
      expect((await tableStates(p)).filter((r) => r[1] !== "dropped-at-source")).toEqual([["t", "synced"]]);
    });
    runner.kill("SIGTERM");
    const result = await runner.result;
    expect(result.stderr).not.toMatch(/"level":(50|60)/);
  });
  it("keeps a renamed MariaDB JSON column jsonb (its json_valid check keeps the column's first name; found by the fidelity fuzzer, seed 908)", async () => {
    const p = await pair("fid_jrename");
    await p.source.query(`CREATE TABLE t (id INT PRIMARY KEY, doc JSON NULL); INSERT INTO t VALUES (1, '{"a": [1, 2.50]}'), (2, '[]'), (3, NULL);`);
    await p.run();
    await p.source.query(`ALTER TABLE t RENAME COLUMN doc TO doc2; UPDATE t SET doc2 = '"s"' WHERE id = 2; INSERT INTO t VALUES (4, 'true');`);
    await p.run();
    expect(await tableStates(p)).toEqual([["t", "synced"]]);
    expect(await targetRows(p.target, `SELECT data_type FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 't' AND column_name = 'doc2'`)).toEqual([["jsonb"]]);
    const canonical = (doc: string | null | undefined): string | null => (doc === null || doc === undefined ? null : JSON.stringify(JSON.parse(doc)));
    const source = (await sourceRows(p.source, `SELECT id, doc2 FROM t ORDER BY id`)).map(([id, doc]) => [id, canonical(doc)]);
    const target = (await targetRows(p.target, `SELECT id, doc2::text FROM dw.t ORDER BY id`)).map(([id, doc]) => [id, canonical(doc)]);
    expect(source).toEqual([["1", '{"a":[1,2.5]}'], ["2", '"s"'], ["3", null], ["4", "true"]]);
    expect(target).toEqual(source);
  });
  it("resumes from before a DROP COLUMN of a JSON column with the JSON columns still jsonb (the binlog shows MariaDB's JSON as LONGTEXT)", async () => {
    const p = await pair("fid_jdrop");
    await p.source.query(`CREATE TABLE t (id INT PRIMARY KEY, doc JSON NULL, gone JSON NULL, note VARCHAR(20) NOT NULL);
      INSERT INTO t VALUES (1, '{"a": 1}', '[1]', 'x'), (2, NULL, '"s"', 'y');`);
    await p.run();
    // all of this is in the binlog when the next run starts; the rows before the DROP carry `gone`, which the table has no more
    await p.source.query(`INSERT INTO t VALUES (3, '[true, null]', '{"b": 2}', 'z');
      UPDATE t SET doc = '{"a": 2}', gone = '0' WHERE id IN (1, 2);
      ALTER TABLE t DROP COLUMN gone;
      INSERT INTO t VALUES (4, '"four"', 'w');
      UPDATE t SET doc = '[1.50]', note = 'u' WHERE id IN (2, 3);`);
    await p.run();
    expect(await tableStates(p)).toEqual([["t", "synced"]]);
    expect(await expectSameTable(p, "t", ["id", "note"], "id")).toHaveLength(4);
    // the same JSON values on both sides, each parsed by JSON.parse (MariaDB keeps the text as written, jsonb normalises it)
    const canonical = (doc: string | null | undefined): string | null => (doc === null || doc === undefined ? null : JSON.stringify(JSON.parse(doc)));
    const source = (await sourceRows(p.source, `SELECT id, doc FROM t ORDER BY id`)).map(([id, doc]) => [id, canonical(doc)]);
    const target = (await targetRows(p.target, `SELECT id, doc::text FROM dw.t ORDER BY id`)).map(([id, doc]) => [id, canonical(doc)]);
    expect(source.filter((r) => r[1] !== null)).toHaveLength(4);
    expect(target).toEqual(source);
    expect(await targetRows(p.target, `SELECT data_type FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 't' AND column_name = 'doc'`)).toEqual([["jsonb"]]);
  });
});
