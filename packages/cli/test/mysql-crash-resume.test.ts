import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";

// MariaDB -> PostgreSQL through the real CLI: a running pipeline is killed with
// SIGKILL, DDL and DML happen while it is down, and the next run must end with
// the target equal to the source (found by the fidelity fuzzer, issue 16).
// Source and target are each read with their own client and plain SQL.

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

interface Pair {
  readonly source: TestMysqlDatabase;
  readonly target: TestDatabase;
  readonly file: string;
}

async function pair(prefix: string): Promise<Pair> {
  const source = await createTestMysqlDatabase(prefix);
  const target = await createTestDatabase(`${prefix}_dst`);
  cleanups.push(() => source.drop(), () => target.drop());
  const { file } = await writeConfig({ name: prefix, source: { type: "mysql", url: source.url }, target: { type: "postgres", url: target.url, schema: "dw" } });
  return { source, target, file };
}

/** Rows of `sql` on the source, every cell as text (NULL as null). */
async function sourceRows(source: TestMysqlDatabase, sql: string): Promise<(string | null)[][]> {
  const rows = (await source.query(sql)) as Record<string, unknown>[];
  return rows.map((r) => Object.values(r).map((v) => (v === null ? null : String(v))));
}

/** Rows of `sql` on the target, read with a client of its own. */
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

/** The table's columns as text on both sides, in key order; returns the source's rows. */
async function expectSameTable(p: Pair, table: string, columns: readonly string[], orderBy: string): Promise<(string | null)[][]> {
  const source = await sourceRows(p.source, `SELECT ${columns.map((c) => `CAST(\`${c}\` AS CHAR)`).join(", ")} FROM \`${table}\` ORDER BY ${orderBy}`);
  const target = await targetRows(p.target, `SELECT ${columns.map((c, i) => `"${c}"::text AS c${i}`).join(", ")} FROM dw."${table}" ORDER BY ${orderBy}`);
  expect(target, `${table} (${columns.join(", ")})`).toEqual(source);
  return source;
}

async function eventually(check: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Starts `zeroetl run`, waits until `ready` holds at the target, then kills the process with SIGKILL. */
async function runThenKill(p: Pair, ready: () => Promise<void>): Promise<void> {
  const runner = startCli(["run", p.file]);
  cleanups.push(async () => {
    if (runner.exitCode === null && runner.signalCode === null) runner.kill("SIGKILL");
    await runner.result;
  });
  await eventually(ready);
  runner.kill("SIGKILL");
  const result = await runner.result;
  expect(result.signal, result.stderr).toBe("SIGKILL");
}

async function runUntilCaughtUp(p: Pair): Promise<void> {
  const result = await runCli(["run", p.file, "--until-caught-up"]);
  expect(result.code, result.stderr).toBe(0);
}

describe("MariaDB -> PostgreSQL through the CLI, DDL while the pipeline was killed", () => {
  it("keeps the rows written after a TRUNCATE that lies between a table's re-read and the position it resumes from", async () => {
    const p = await pair("crash_trunc");
    await p.source.query(`CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');`);
    await runThenKill(p, async () => {
      expect(await expectSameTable(p, "t", ["id", "v"], "id")).toHaveLength(3);
    });
    // the ALTER makes the next run re-read t (existing rows hold a value no row event carries); the
    // re-read already reflects the TRUNCATE and the rows after it, so replaying the TRUNCATE must not empty t
    await p.source.query(`ALTER TABLE t ADD COLUMN d INT NOT NULL DEFAULT 42;
      TRUNCATE TABLE t;
      INSERT INTO t (id, v) VALUES (4, 'd'), (5, 'e');
      UPDATE t SET d = 7 WHERE id = 5;`);
    await runUntilCaughtUp(p);
    expect(await expectSameTable(p, "t", ["id", "v", "d"], "id")).toEqual([
      ["4", "d", "42"],
      ["5", "e", "7"],
    ]);
  });

  it("lands a table dropped and recreated with another key after a TRUNCATE of its predecessor (fuzzer seed 702)", async () => {
    const p = await pair("crash_recreate");
    await p.source.query(`CREATE TABLE t1 (k0 DATE NOT NULL, c INT NULL, UNIQUE KEY (k0)); INSERT INTO t1 VALUES ('2000-01-01', 1), ('2000-01-02', 2), ('2000-01-03', NULL);`);
    await runThenKill(p, async () => {
      expect(await expectSameTable(p, "t1", ["k0", "c"], "k0")).toHaveLength(3);
    });
    // resuming, the stream meets the old t1 while the source already has the new one: a key change, so t1 is
    // re-read (the new t1 with its rows); the TRUNCATE of the old t1 and the drop that follow are older than that re-read
    await p.source.query(`DELETE FROM t1 WHERE k0 = '2000-01-02';
      TRUNCATE TABLE t1;
      INSERT INTO t1 VALUES ('2000-12-11', NULL);
      DROP TABLE t1;
      CREATE TABLE t1 (k0 BIGINT UNSIGNED NOT NULL, k1 DECIMAL(20,4) NOT NULL, c BIT(1) NULL, PRIMARY KEY (k0, k1));
      INSERT INTO t1 VALUES (18446744073541551111, 168.0015, NULL), (18446744073540551108, 169.0015, b'1'), (1, 0.0001, b'0');`);
    await runUntilCaughtUp(p);
    const source = await sourceRows(p.source, `SELECT CAST(k0 AS CHAR), CAST(k1 AS CHAR), HEX(c) FROM t1 ORDER BY k0, k1`);
    const target = await targetRows(p.target, `SELECT k0::text, k1::text, upper(encode(c, 'hex')) FROM dw.t1 ORDER BY k0, k1`);
    expect(source).toHaveLength(3);
    expect(target).toEqual(source.map(([k0, k1, c]) => [k0, k1, c === null || c === undefined ? null : c.padStart(2, "0")]));
  });
});
