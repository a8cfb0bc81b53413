import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { openRedshiftCliFixture, type RedshiftCliFixture } from "../../../../test-support/redshift/redshift-cli-fixture.js";

// A column added while the pipeline is stopped, in the same stop as an ADD
// COLUMN ... DEFAULT on another table (which re-reads that table): the rows
// after it must land with the new column's values. Found by the fidelity
// fuzzer (pg-redshift seed 18: NULL at the target).
// Compared with plain SQL on both sides.
describe("PostgreSQL -> Redshift (translated onto PostgreSQL): a column added in the same stop as a re-read of another table", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let fixture: RedshiftCliFixture;
  let config: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fixture = await openRedshiftCliFixture("rs_addcol2");
    ({ source, target, env } = fixture);
    // doc: a SUPER column, so the table is staged as JSON lines; p: staged as Parquet
    await source.query(`CREATE TABLE j (id int PRIMARY KEY, doc jsonb)`);
    await source.query(`CREATE TABLE p (id int PRIMARY KEY, name text)`);
    await source.query(`INSERT INTO j SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 5) g; INSERT INTO p SELECT g, 'p' || g FROM generate_series(1, 5) g`);
    ({ file: config } = await writeConfig({
      name: "rs_addcol2",
      source: { type: "postgres", url: source.url },
      target: fixture.targetConfig,
    }));
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
  });

  it("keeps the added column's values of the rows after the ALTER", async () => {
    const first = await runCli(["run", config, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`INSERT INTO p (id, name) VALUES (6, 'p6')`);
    await source.query(`ALTER TABLE j ADD COLUMN at timestamptz DEFAULT '2074-10-21 05:39:27+05:30'`);
    await source.query(`INSERT INTO j (id, at) VALUES (6, '1992-06-19 16:35:28+05:30')`);
    await source.query(`ALTER TABLE p ADD COLUMN r int4range`);
    await source.query(`INSERT INTO p (id, name, r) VALUES (7, 'p7', 'empty'), (8, 'p8', '[1,5)')`);
    await source.query(`UPDATE j SET doc = '{}' WHERE id = 2`);
    const second = await runCli(["run", config, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    const expected = (await source.query(`SELECT id, name, r::text AS r FROM p ORDER BY id`)).rows;
    const actual = (await target.query(`SELECT id, name, r FROM dw.p ORDER BY id`)).rows;
    expect(actual).toEqual(expected);
    const expectedJ = (await source.query(`SELECT id, doc::text AS doc, at FROM j ORDER BY id`)).rows;
    const actualJ = (await target.query(`SELECT id, doc::jsonb::text AS doc, at FROM dw.j ORDER BY id`)).rows;
    expect(actualJ).toEqual(expectedJ);
  }, 180_000);
});
