import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { openRedshiftCliFixture, type RedshiftCliFixture } from "../../../../test-support/redshift/redshift-cli-fixture.js";

// A table moved between two included schemas keeps its target table (tables
// are named by the source table name): the drop of its old name must not
// drop the table the moved one now writes. Found by the fidelity fuzzer
// (pg-redshift seed 6: the whole table was gone at the target).
describe("PostgreSQL -> Redshift (translated onto PostgreSQL): a table moved to another included schema", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let fixture: RedshiftCliFixture;
  let config: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fixture = await openRedshiftCliFixture("rs_move");
    ({ source, target, env } = fixture);
    await source.query(`CREATE SCHEMA s1; CREATE SCHEMA s2`);
    await source.query(`CREATE TABLE s1.t (id int PRIMARY KEY, name text NOT NULL)`);
    await source.query(`INSERT INTO s1.t SELECT g, 'row ' || g FROM generate_series(1, 50) g`);
    ({ file: config } = await writeConfig({
      name: "rs_move",
      source: { type: "postgres", url: source.url },
      target: fixture.targetConfig,
      filter: { include: ["s1.*", "s2.*"] },
      mapping: { tableNames: "table" },
    }));
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
  });

  const rows = async (db: TestDatabase, table: string) => (await db.query(`SELECT id, name FROM ${table} ORDER BY id`)).rows;

  it("keeps the moved table's rows, whether the move is streamed or happens while the pipeline is stopped", async () => {
    const first = await runCli(["run", config, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
    expect(await rows(target, "dw.t")).toEqual(await rows(source, "s1.t"));

    // moved while the pipeline is stopped: the next run re-reads s2.t and drops s1.t
    await source.query(`ALTER TABLE s1.t SET SCHEMA s2`);
    await source.query(`INSERT INTO s2.t VALUES (51, 'after the move'); UPDATE s2.t SET name = 'changed' WHERE id = 7`);
    const second = await runCli(["run", config, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    expect(await rows(target, "dw.t")).toEqual(await rows(source, "s2.t"));

    // and back, streamed from a running pipeline's point of view (a stop between the move and the next row)
    await source.query(`ALTER TABLE s2.t SET SCHEMA s1; INSERT INTO s1.t VALUES (52, 'back home'); DELETE FROM s1.t WHERE id = 3`);
    const third = await runCli(["run", config, "--until-caught-up"], env);
    expect(third.code, third.stderr).toBe(0);
    expect(await rows(target, "dw.t")).toEqual(await rows(source, "s1.t"));
  }, 180_000);
});
