import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { openRedshiftCliFixture, type RedshiftCliFixture } from "../../../../test-support/redshift/redshift-cli-fixture.js";

// A column added while the pipeline is stopped, with rows written before and
// after the ALTER: the rows after it must land with the new column's values.
// Found by the fidelity fuzzer (pg-redshift seeds 16, 18: NULL at the target).
// Compared with plain SQL on both sides.
describe("PostgreSQL -> Redshift (translated onto PostgreSQL): a column added between rows of one run", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let fixture: RedshiftCliFixture;
  let config: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fixture = await openRedshiftCliFixture("rs_addcol");
    ({ source, target, env } = fixture);
    // doc: a SUPER column, so the table is staged as JSON lines; p: staged as Parquet
    await source.query(`CREATE TABLE j (id int PRIMARY KEY, doc jsonb)`);
    await source.query(`CREATE TABLE p (id int PRIMARY KEY, name text)`);
    await source.query(`INSERT INTO j SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 5) g; INSERT INTO p SELECT g, 'p' || g FROM generate_series(1, 5) g`);
    ({ file: config } = await writeConfig({
      name: "rs_addcol",
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
    for (const t of ["j", "p"]) {
      await source.query(`INSERT INTO ${t} (id) VALUES (6)`);
      await source.query(`ALTER TABLE ${t} ADD COLUMN tags int4[]`);
      await source.query(`INSERT INTO ${t} (id, tags) VALUES (7, ARRAY[1, NULL, 3]), (8, ARRAY[]::int4[])`);
    }
    const second = await runCli(["run", config, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    for (const t of ["j", "p"]) {
      const expected = (await source.query(`SELECT id, to_jsonb(tags)::text AS tags FROM ${t} ORDER BY id`)).rows;
      const actual = (await target.query(`SELECT id, tags::jsonb::text AS tags FROM dw.${t} ORDER BY id`)).rows;
      expect({ table: t, rows: actual }).toEqual({ table: t, rows: expected });
    }
  }, 180_000);
});
