import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../../test-support/cli.js";
import { openRedshiftCliFixture, type RedshiftCliFixture } from "../../../../test-support/redshift/redshift-cli-fixture.js";

// 64-bit integers inside a SUPER value (a composite's int8 field, int8[]
// elements) must land as JSON numbers with every digit, not as strings.
// Found by the fidelity fuzzer (pg-redshift seeds 2, 4: `"x":"-580833100070"`;
// seeds 1, 2: a float -0 in a table staged as JSON lines landed as 0).
// Compared with plain SQL on both sides: the source's to_jsonb, the target's
// SUPER (jsonb on the double).
describe("PostgreSQL -> Redshift (translated onto PostgreSQL): numbers in a table staged as JSON lines", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let fixture: RedshiftCliFixture;
  let config: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fixture = await openRedshiftCliFixture("rs_superint");
    ({ source, target, env } = fixture);
    await source.query(`CREATE TYPE pt AS (x int8, y float8)`);
    // f: a float beside SUPER columns, so the table is staged as JSON lines
    await source.query(`CREATE TABLE c (id int PRIMARY KEY, p pt, tags int8[], f float8)`);
    await source.query(`INSERT INTO c VALUES (1, ROW(-580833100070, 1.5)::pt, ARRAY[9007199254740993, -9223372036854775808, NULL], '-0'), (2, ROW(NULL, 0.25)::pt, ARRAY[]::int8[], 2.5)`);
    ({ file: config } = await writeConfig({
      name: "rs_superint",
      source: { type: "postgres", url: source.url },
      target: fixture.targetConfig,
    }));
  }, 120_000);

  afterAll(async () => {
    await fixture?.close();
  });

  it("keeps them numbers, and a float -0 beside them -0, snapshotted and streamed", async () => {
    const first = await runCli(["run", config, "--until-caught-up"], env);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`INSERT INTO c VALUES (3, ROW(9223372036854775807, -2)::pt, ARRAY[12345678901234567], '-0')`);
    await source.query(`UPDATE c SET p = ROW(-42, 0)::pt WHERE id = 2`);
    const second = await runCli(["run", config, "--until-caught-up"], env);
    expect(second.code, second.stderr).toBe(0);
    const expected = (await source.query(`SELECT id, to_jsonb(p)::text AS p, to_jsonb(tags)::text AS tags, f::text AS f FROM c ORDER BY id`)).rows;
    const actual = (await target.query(`SELECT id, p::jsonb::text AS p, tags::jsonb::text AS tags, f::text AS f FROM dw.c ORDER BY id`)).rows;
    expect(actual).toEqual(expected);
  }, 180_000);
});
