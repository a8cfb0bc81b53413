import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// Same-named tables in two included schemas must land in two target tables,
// a single-schema selection keeps the source table names, and a selection
// that would still merge two tables is refused before anything is written.
describe("zeroetl maps source schemas into the target without collisions (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("names_src");
    target = await createTestDatabase("names_dst");
    await source.query(`
      CREATE SCHEMA s1; CREATE SCHEMA s2; CREATE SCHEMA s1_a;
      CREATE TABLE s1.t (id int PRIMARY KEY, v text);
      CREATE TABLE s2.t (id int PRIMARY KEY, v text, extra int);
      CREATE TABLE s1.a_b (id int PRIMARY KEY);
      CREATE TABLE s1_a.b (id int PRIMARY KEY);
      INSERT INTO s1.t VALUES (1, 's1 one'), (2, 's1 two');
      INSERT INTO s2.t VALUES (1, 's2 one', 10);`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const rows = async (db: TestDatabase, sql: string) => (await db.query(sql)).rows;

  it("puts s1.t and s2.t into dw.s1_t and dw.s2_t and keeps them apart while streaming", async () => {
    const { file } = await writeConfig({
      name: "names_two",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
      filter: { include: ["s1.t", "s2.t"] },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`UPDATE s1.t SET v = 's1 changed' WHERE id = 1; INSERT INTO s2.t VALUES (2, 's2 two', 20); DELETE FROM s1.t WHERE id = 2;`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    expect(await rows(target, "SELECT id, v FROM dw.s1_t ORDER BY id")).toEqual(await rows(source, "SELECT id, v FROM s1.t ORDER BY id"));
    expect(await rows(target, "SELECT id, v, extra FROM dw.s2_t ORDER BY id")).toEqual(await rows(source, "SELECT id, v, extra FROM s2.t ORDER BY id"));
    expect(await rows(target, "SELECT to_regclass('dw.t') IS NULL AS absent")).toEqual([{ absent: true }]);
  });

  it("keeps the source table name when one schema is selected", async () => {
    const { file } = await writeConfig({
      name: "names_one",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "one" },
      filter: { include: ["s1.t"] },
    });
    const run = await runCli(["run", file, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await rows(target, "SELECT id, v FROM one.t ORDER BY id")).toEqual(await rows(source, "SELECT id, v FROM s1.t ORDER BY id"));
  });

  it("refuses a selection that would merge two tables, naming both", async () => {
    const { file: wildcard } = await writeConfig({
      name: "names_merge",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "merge" },
      filter: { include: ["*.t"] },
    });
    const refused = await runCli(["run", wildcard, "--until-caught-up"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/mapping\.tableNames: .*s1\.t and s2\.t would both land in target table t/);
    const check = await runCli(["check", wildcard]);
    expect(check.stdout).toMatch(/FAIL\s+mapping\.target_names\s+.*s1\.t and s2\.t/);
    expect(await rows(target, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'merge' AND tablename = 't'")).toEqual([{ n: 0 }]);

    const { file: qualified } = await writeConfig({
      name: "names_qualified",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "merge" },
      filter: { include: ["s1.*", "s1_a.*"] },
    });
    const clash = await runCli(["run", qualified, "--until-caught-up"]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/s1\.a_b and s1_a\.b would both land in target table s1_a_b/);
  });
});
