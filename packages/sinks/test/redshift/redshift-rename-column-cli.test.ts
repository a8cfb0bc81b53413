import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { openRedshiftCliFixture, type RedshiftCliFixture } from "../../../../test-support/redshift/redshift-cli-fixture.js";

// A text column renamed after the pipeline's checkpoint, before a run starts
// (a partitioned and a plain table): the existing rows must keep their values
// under the new name. Found by the fidelity fuzzer (pg-redshift seed 14: every existing
// row read NULL in the renamed column). Compared with plain SQL on both sides.
describe("PostgreSQL -> Redshift (translated onto PostgreSQL): a column renamed before a run starts", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let fixture: RedshiftCliFixture;
  let config: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fixture = await openRedshiftCliFixture("rs_rencol");
    ({ source, target, env } = fixture);
    await source.query(`CREATE TABLE t (k int PRIMARY KEY, c text, n int) PARTITION BY HASH (k)`);
    await source.query(`CREATE TABLE t_p0 PARTITION OF t FOR VALUES WITH (MODULUS 2, REMAINDER 0)`);
    await source.query(`CREATE TABLE t_p1 PARTITION OF t FOR VALUES WITH (MODULUS 2, REMAINDER 1)`);
    await source.query(`CREATE TABLE u (k int PRIMARY KEY, c text, n int)`);
    await source.query(`INSERT INTO t SELECT g, 'c' || g, g FROM generate_series(1, 10) g; INSERT INTO u SELECT g, 'c' || g, g FROM generate_series(1, 10) g`);
    ({ file: config } = await writeConfig({
      name: "rs_rencol",
      source: { type: "postgres", url: source.url },
      target: { ...fixture.targetConfig, writerLeaseSeconds: 3 },
    }));
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
  });

  it("keeps the existing rows' values under the new name", async () => {
    const first = await runCli(["run", config, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
    // renamed after the checkpoint, before the next run starts: that run's startup schema already has the
    // new name while its stream still replays the rename (as a run started just before the ALTER, or one
    // restarted after a kill -9, does)
    for (const t of ["t", "u"]) {
      await source.query(`ALTER TABLE ${t} RENAME COLUMN c TO c_r`);
      await source.query(`INSERT INTO ${t} (k, c_r, n) VALUES (11, 'c11', 11), (12, 'c12', 12)`);
      await source.query(`UPDATE ${t} SET n = n + 100 WHERE k IN (3, 4)`);
    }
    const second = await runCli(["run", config, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    for (const t of ["t", "u"]) {
      const expected = (await source.query(`SELECT k, c_r, n FROM ${t} ORDER BY k`)).rows;
      const actual = (await target.query(`SELECT k, c_r, n FROM dw.${t} ORDER BY k`)).rows;
      expect({ table: t, rows: actual }).toEqual({ table: t, rows: expected });
    }
  }, 180_000);
});
