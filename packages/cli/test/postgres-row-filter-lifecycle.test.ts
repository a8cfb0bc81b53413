import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// Found by the fidelity fuzzer (pg.row-filter with pg.schema-move, seeds
// 601, 602, 604): a row-filtered table that goes away while the pipeline is
// stopped (dropped, renamed, moved out of the filter) made the next `run`
// exit 2 with `filter.rows["public.r"]: expected columns of the table (),
// got unknown column "cat"`, and nothing else was replicated any more. The
// table must go from the target and the other tables go on.
describe("zeroetl row filter on a table that goes away (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("rflife_src");
    target = await createTestDatabase("rflife_dst");
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const targetTables = async (schema: string) =>
    (
      await target.query<{ t: string }>(`SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = $1 AND table_name NOT LIKE '\\_zeroetl%' ORDER BY 1`, [schema])
    ).rows.map((r) => r.t);
  const rows = async (db: TestDatabase, sql: string) => (await db.query(sql)).rows;

  it.each([
    { how: "dropped", ddl: (t: string) => `DROP TABLE ${t}`, expected: (t: string) => [`${t}_other`] },
    { how: "renamed", ddl: (t: string) => `ALTER TABLE ${t} RENAME TO ${t}_renamed`, expected: (t: string) => [`${t}_other`, `${t}_renamed`] },
    { how: "moved out of the filter", ddl: (t: string) => `CREATE SCHEMA ${t}_away; ALTER TABLE ${t} SET SCHEMA ${t}_away`, expected: (t: string) => [`${t}_other`] },
  ])("goes on when the filtered table was $how while stopped", async ({ how, ddl, expected }) => {
    const t = `r_${how.split(" ")[0] ?? "x"}`;
    await source.query(`
      CREATE TABLE ${t} (id int PRIMARY KEY, cat text NOT NULL);
      CREATE TABLE ${t}_other (id int PRIMARY KEY, v text);
      INSERT INTO ${t} SELECT g, CASE WHEN g % 2 = 0 THEN 'x' ELSE 'y' END FROM generate_series(1, 6) g;
      INSERT INTO ${t}_other SELECT g, 'v' || g FROM generate_series(1, 3) g;`);
    const { file } = await writeConfig({
      name: `rflife_${t}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: t },
      filter: { include: [`public.${t}*`], rows: { [`public.${t}`]: "cat = 'x'" } },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    expect(await rows(target, `SELECT id FROM ${t}.${t} ORDER BY id`)).toEqual([{ id: 2 }, { id: 4 }, { id: 6 }]);

    await source.query(`${ddl(t)}; INSERT INTO ${t}_other VALUES (4, 'after');`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    expect(await targetTables(t)).toEqual(expected(t));
    expect(await rows(target, `SELECT id, v FROM ${t}.${t}_other ORDER BY id`)).toEqual(await rows(source, `SELECT id, v FROM public.${t}_other ORDER BY id`));
  }, 300_000);

  // Found by the fidelity fuzzer (pg.row-filter, seed 612): a row entering the
  // filter by an update that leaves its NOT NULL out-of-line value unchanged,
  // and gone by the time the stream reads that value (deleted later, or its
  // table moved away), went to the dead-letter queue as a row with NULL in
  // the NOT NULL column, although the later change makes it moot.
  it("does not dead-letter a row that entered the filter and is gone when its unchanged value is read", async () => {
    for (const t of ["rg", "rg_gone"])
      await source.query(`
        CREATE TABLE ${t} (id int PRIMARY KEY, cat text NOT NULL, big text NOT NULL);
        ALTER TABLE ${t} ALTER COLUMN big SET STORAGE EXTERNAL;
        INSERT INTO ${t} SELECT g, 'y', (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 400) i) FROM generate_series(1, 6) g;`);
    const { file, dir } = await writeConfig({
      name: "rflife_rg",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "rg" },
      filter: { include: ["public.rg*"], rows: { "public.rg": "cat = 'x'", "public.rg_gone": "cat = 'x'" } },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    // rg_gone enters the filter by rows 1 and 2, then leaves the filter for good (moved to another schema)
    await source.query(`
      UPDATE rg SET cat = 'x' WHERE id IN (1, 2, 3);
      DELETE FROM rg WHERE id = 1;
      UPDATE rg SET id = 30 WHERE id = 3;
      UPDATE rg_gone SET cat = 'x' WHERE id IN (1, 2);
      CREATE SCHEMA rg_away;
      ALTER TABLE rg_gone SET SCHEMA rg_away;`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const deadLetters = await readFile(join(dir, "state", "rflife_rg.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
    const columns = "id, cat, md5(big) AS digest";
    expect(await rows(target, `SELECT ${columns} FROM rg.rg ORDER BY id`)).toEqual(await rows(source, `SELECT ${columns} FROM public.rg WHERE cat = 'x' ORDER BY id`));
    expect((await rows(target, `SELECT id FROM rg.rg ORDER BY id`)).map((r) => r.id)).toEqual([2, 30]);
    expect(await targetTables("rg")).toEqual(["rg"]);
  }, 300_000);

  // Found by the fidelity fuzzer (pg-pg seed 102, CI gates of 2026-12-07): a
  // row-filtered table recreated under its name with another key type while
  // stopped. Reading the unchanged TOAST values of the old table's updates
  // cast their keys to the new key type, failed (`invalid input syntax for
  // type date`) and stopped the stream with exit 1. The recreation that
  // follows in the stream re-reads the table, so those updates are moot.
  it("goes on when the filtered table was recreated with another key type before its updates are read", async () => {
    await source.query(`
      CREATE TABLE rk (id numeric(20,4) PRIMARY KEY, cat text NOT NULL, big text NOT NULL);
      ALTER TABLE rk ALTER COLUMN big SET STORAGE EXTERNAL;
      INSERT INTO rk SELECT g + 0.0005, 'y', (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 400) i) FROM generate_series(1, 4) g;`);
    const { file } = await writeConfig({
      name: "rflife_rk",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "rk" },
      filter: { include: ["public.rk"], rows: { "public.rk": "cat = 'x'" } },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`
      UPDATE rk SET cat = 'x' WHERE id < 3;
      DROP TABLE rk;
      CREATE TABLE rk (id date PRIMARY KEY, cat text NOT NULL, big text NOT NULL);
      INSERT INTO rk VALUES ('2000-01-01', 'x', 'a'), ('2000-01-02', 'y', 'b');`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    expect(await rows(target, `SELECT id::text, cat, big FROM rk.rk ORDER BY id`)).toEqual(await rows(source, `SELECT id::text, cat, big FROM public.rk WHERE cat = 'x' ORDER BY id`));
  }, 300_000);
});
