import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A column retyped in a way the warehouse cannot follow in place (numeric ->
// boolean): the table is set aside as resync-required while the others go
// on, then a resync drops and recreates its target table, by hand or,
// with autoResync, on its own.
describe("zeroetl with a refused schema change (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("rs_src");
    target = await createTestDatabase("rs_dst");
    await source.query(`
      CREATE TABLE prices (id int PRIMARY KEY, v numeric(10,2));
      CREATE TABLE other (id int PRIMARY KEY, note text);
      INSERT INTO prices VALUES (1, 0.5), (2, 2.5);
      INSERT INTO other VALUES (1, 'x');`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const config = async (name: string, autoResync: boolean) =>
    (await writeConfig({ name, source: { type: "postgres", url: source.url }, target: { type: "postgres", url: target.url, schema: name }, autoResync })).file;
  const rows = async (db: TestDatabase, table: string) => (await db.query(`SELECT id, v::text AS v FROM ${table} ORDER BY id`)).rows;

  it("sets the table aside, then resyncs it by hand or automatically", async () => {
    const manual = await config("rs_manual", false);
    const automatic = await config("rs_auto", true);
    for (const file of [manual, automatic]) expect((await runCli(["run", file, "--until-caught-up"])).code).toBe(0);

    await source.query(`
      ALTER TABLE prices ALTER COLUMN v TYPE boolean USING v > 1;
      INSERT INTO prices VALUES (3, true);
      INSERT INTO other VALUES (2, 'y');`);

    const setAside = await runCli(["run", manual, "--until-caught-up"]);
    expect(setAside.code, setAside.stderr).toBe(0);
    const status = await runCli(["status", manual]);
    expect(status.stdout).toMatch(/public\.prices\s+resync-required/);
    expect((await target.query(`SELECT id, note FROM rs_manual.other ORDER BY id`)).rows).toEqual([{ id: 1, note: "x" }, { id: 2, note: "y" }]);
    expect(await rows(target, "rs_manual.prices")).toEqual([{ id: 1, v: "0.50" }, { id: 2, v: "2.50" }]);

    const resync = await runCli(["resync", manual, "public.prices"]);
    expect(resync.code, resync.stderr).toBe(0);
    expect(await rows(target, "rs_manual.prices")).toEqual(await rows(source, "prices"));

    const auto = await runCli(["run", automatic, "--until-caught-up"]);
    expect(auto.code, auto.stderr).toBe(0);
    expect(await rows(target, "rs_auto.prices")).toEqual(await rows(source, "prices"));
    expect((await runCli(["status", automatic])).stdout).toMatch(/public\.prices\s+synced/);
  });
});
