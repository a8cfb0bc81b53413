import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

// One table whose changes the target refuses is set aside while the other
// keeps flowing; after the cause is fixed, `zeroetl resync` brings it back,
// keeping the writes made while it was failed and while it resynced.
describe("zeroetl with a failing table (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("iso_src");
    target = await createTestDatabase("iso_dst");
    await source.query(`
      CREATE TABLE good (id int PRIMARY KEY, v text);
      CREATE TABLE bad (id int PRIMARY KEY, v text);
      INSERT INTO good SELECT g, 'g' || g FROM generate_series(1, 100) g;
      INSERT INTO bad SELECT g, 'b' || g FROM generate_series(1, 100) g;`);
    ({ file: config } = await writeConfig({
      name: "iso",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
    expect((await runCli(["run", config, "--until-caught-up"])).code).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const rows = async (db: TestDatabase, table: string) => (await db.query(`SELECT id, v FROM ${table} ORDER BY id`)).rows;

  it("sets the failing table aside, keeps the other flowing, and resyncs it", async () => {
    // the target starts refusing every write to dw.bad (as a revoked privilege would)
    await target.query(`
      CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'writes to bad are refused' USING ERRCODE = 'insufficient_privilege'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON dw.bad FOR EACH ROW EXECUTE FUNCTION refuse();`);
    await source.query(`
      BEGIN;
      INSERT INTO good VALUES (101, 'g101');
      UPDATE bad SET v = 'changed' WHERE id = 1;
      UPDATE good SET v = 'changed' WHERE id = 1;
      COMMIT;
      INSERT INTO bad VALUES (101, 'b101');
      INSERT INTO good VALUES (102, 'g102');`);
    const run = await runCli(["run", config, "--until-caught-up"]);
    // a table set aside is not caught up: said on stderr and in the exit code
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/1 table\(s\) set aside.*public\.bad \(failed\)/);
    expect(await rows(target, "dw.good")).toEqual(await rows(source, "good"));
    const state = (await target.query(`SELECT table_name, state, last_error FROM dw._zeroetl_table_state WHERE pipeline = 'iso' ORDER BY table_name`)).rows;
    expect(state).toMatchObject([
      { table_name: "public.bad", state: "failed", last_error: expect.stringMatching(/writes to bad are refused/) },
      { table_name: "public.good", state: "synced" },
    ]);
    const status = await runCli(["status", config]);
    expect(status.stdout).toMatch(/public\.bad\s+failed/);
    expect(status.stdout).toMatch(/warning: 1 table\(s\) set aside, their changes are not applied: public\.bad/);

    // the cause is fixed; more writes arrive before and during the resync
    await target.query(`DROP TRIGGER refuse ON dw.bad`);
    await source.query(`UPDATE bad SET v = 'while failed' WHERE id = 2; DELETE FROM bad WHERE id = 3;`);
    let writing = true;
    let next = 1000;
    const writer = (async () => {
      while (writing) {
        await source.query(`INSERT INTO bad VALUES ($1::int, 'during resync'); UPDATE good SET v = 'during' WHERE id = 4`.replace("$1::int", String(next++)));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const resync = startCli(["resync", config, "public.bad"]);
    const resynced = await resync.result;
    writing = false;
    await writer;
    expect(resynced.code, resynced.stderr).toBe(0);
    expect(resynced.stdout).toMatch(/marked for resync: public\.bad/);
    const final = await runCli(["run", config, "--until-caught-up"]);
    expect(final.code, final.stderr).toBe(0);
    expect(await rows(target, "dw.bad")).toEqual(await rows(source, "bad"));
    expect(await rows(target, "dw.good")).toEqual(await rows(source, "good"));
    expect(next).toBeGreaterThan(1000);
    const after = (await target.query(`SELECT state FROM dw._zeroetl_table_state WHERE pipeline = 'iso' AND table_name = 'public.bad'`)).rows;
    expect(after).toEqual([{ state: "synced" }]);
  });
});
