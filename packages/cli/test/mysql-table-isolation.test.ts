import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// The same isolation and resync as for PostgreSQL, from a MariaDB binlog.
describe("zeroetl with a failing table (MariaDB -> PostgreSQL)", () => {
  let source: TestMysqlDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestMysqlDatabase("iso_my");
    target = await createTestDatabase("iso_my_dst");
    await source.query(`
      CREATE TABLE good (id INT PRIMARY KEY, v VARCHAR(50));
      CREATE TABLE bad (id INT PRIMARY KEY, v VARCHAR(50));
      INSERT INTO good VALUES (1, 'g1'), (2, 'g2');
      INSERT INTO bad VALUES (1, 'b1'), (2, 'b2');`);
    ({ file: config } = await writeConfig({
      name: "iso_my",
      source: { type: "mysql", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const rows = async (table: string) => ({
    source: (await source.query(`SELECT id, v FROM ${table} ORDER BY id`)) as { id: number; v: string }[],
    target: (await target.query(`SELECT id, v FROM dw.${table} ORDER BY id`)).rows,
  });

  it("keeps the good table flowing, marks the bad one failed, and resyncs it", async () => {
    await target.query(`
      CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'insufficient_privilege'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON dw.bad FOR EACH ROW EXECUTE FUNCTION refuse();`);
    await source.query(`
      START TRANSACTION;
      INSERT INTO good VALUES (3, 'g3');
      UPDATE bad SET v = 'changed' WHERE id = 1;
      COMMIT;
      INSERT INTO bad VALUES (3, 'b3');
      UPDATE good SET v = 'changed' WHERE id = 1;`);
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/set aside.*\(failed\)/);
    const good = await rows("good");
    expect(good.target).toEqual(good.source);
    const state = (await target.query(`SELECT table_name, state FROM dw._zeroetl_table_state WHERE pipeline = 'iso_my' ORDER BY table_name`)).rows;
    expect(state.map((r) => r.state)).toEqual(["failed", "synced"]);
    const status = await runCli(["status", config]);
    expect(status.stdout).toMatch(/failed/);
    expect(status.stdout).toMatch(/mysql\.binlog_retention\s+binary logs are/);

    await target.query(`DROP TRIGGER refuse ON dw.bad`);
    await source.query(`DELETE FROM bad WHERE id = 2`);
    const resync = await runCli(["resync", config, `${source.name}.bad`]);
    expect(resync.code, resync.stderr).toBe(0);
    await source.query(`INSERT INTO bad VALUES (4, 'after')`);
    expect((await runCli(["run", config, "--until-caught-up"])).code).toBe(0);
    const bad = await rows("bad");
    expect(bad.target).toEqual(bad.source);
    expect((await rows("good")).target).toEqual((await rows("good")).source);
  });
});
