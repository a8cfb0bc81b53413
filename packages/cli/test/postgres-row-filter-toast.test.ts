import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A row that enters a row filter by an UPDATE that leaves its TOASTed column
// unchanged (default replica identity: the stream sends neither the old row
// nor that value) must land with the column's value, not NULL.
describe("zeroetl row filter with out-of-line values (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("rftoast_src");
    target = await createTestDatabase("rftoast_dst");
    // 12,800 characters of hex digits: incompressible enough to be stored out of line
    await source.query(`
      CREATE TABLE r (id int PRIMARY KEY, cat text NOT NULL, big text, n int);
      ALTER TABLE r ALTER COLUMN big SET STORAGE EXTERNAL;
      INSERT INTO r SELECT g, CASE WHEN g % 2 = 0 THEN 'x' ELSE 'y' END,
                           (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 400) i), g
                      FROM generate_series(1, 6) g;`);
    ({ file: config } = await writeConfig({
      name: "rftoast",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
      filter: { rows: { "public.r": "cat = 'x'" } },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const columns = "id, cat, length(big) AS len, md5(big) AS digest, n";

  it("fills the unchanged out-of-line value of a row entering the filter", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    expect((await source.query(`SELECT pg_column_size(big) AS size FROM r WHERE id = 1`)).rows[0]?.size).toBeGreaterThan(12_000);
    await source.query(`
      UPDATE r SET cat = 'x' WHERE id = 1;
      UPDATE r SET cat = 'x', n = 30 WHERE id = 3;
      UPDATE r SET cat = 'y' WHERE id = 2;
      UPDATE r SET n = 40 WHERE id = 4;
      BEGIN; UPDATE r SET cat = 'x' WHERE id = 5; UPDATE r SET n = 50 WHERE id = 5; COMMIT;`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const expected = (await source.query(`SELECT ${columns} FROM r WHERE cat = 'x' ORDER BY id`)).rows;
    const actual = (await target.query(`SELECT ${columns} FROM dw.r ORDER BY id`)).rows;
    expect(actual).toEqual(expected);
    expect(actual.map((r) => r.id)).toEqual([1, 3, 4, 5, 6]);
  });
});
