import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A numeric field inside a composite (issue 16.6, fuzzer gate
// pg.composite-numeric): the composite lands in a jsonb column, and each
// numeric field must be a JSON number with the source's exact digits (no
// float rounding), as the source's own to_jsonb() prints it; NaN and
// ±Infinity, which JSON has no number for, are strings, as to_jsonb() makes
// them. Rows written before the first run (snapshot) and after it (stream),
// then compared by plain SQL on both sides.
describe("zeroetl PostgreSQL -> PostgreSQL: numeric fields inside a composite", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;
  let dir: string;

  const rows = [
    `ROW(ROW(2248.460, 1.5)::pt, 'a', NULL)::addr`,
    `ROW(ROW(-0.001, NULL)::pt, NULL, ARRAY[1.20, NULL, 123456789012345678901234567890.123456789])::addr`,
    `ROW(ROW(NULL, 'NaN')::pt, 'x', ARRAY['NaN', 'Infinity', '-Infinity']::numeric[])::addr`,
    `ROW(ROW(999999999.999, 'Infinity')::pt, '"q"', ARRAY[0.000000000000000000000000000001])::addr`,
    `ROW(ROW(0, '-Infinity')::pt, '', '{}')::addr`,
    `ROW(NULL, NULL, NULL)::addr`,
    `NULL`,
  ];

  beforeAll(async () => {
    source = await createTestDatabase("compnum_src");
    target = await createTestDatabase("compnum_dst");
    // x constrained, big unconstrained (30+ digits), and a numeric[] field
    await source.query(`CREATE TYPE pt AS (x numeric(12,3), big numeric); CREATE TYPE addr AS (at pt, s text, ns numeric[])`);
    await source.query(`CREATE TABLE t (id int PRIMARY KEY, a addr, big_top numeric)`);
    const insert = async (offset: number) => {
      for (const [i, row] of rows.entries()) await source.query(`INSERT INTO t VALUES (${i + offset}, ${row}, 123456789012345678901234567890.5)`);
    };
    await insert(1);
    ({ file: config, dir } = await writeConfig({
      name: "compnum",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await insert(1001);
    // a big unconstrained value written by an update of a field
    await source.query(`UPDATE t SET a.at.big = 98765432109876543210987654321.000000000000000000000000000001 WHERE id IN (1, 1001)`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("lands the composite as the source's to_jsonb, numeric fields as JSON numbers with every digit", async () => {
    const expected = await source.query<{ id: number; a: string | null }>(`SELECT id, to_jsonb(a)::text AS a FROM t ORDER BY id`);
    const actual = await target.query<{ id: number; a: string | null }>(`SELECT id, a::text AS a FROM dw.t ORDER BY id`);
    expect(actual.rows).toEqual(expected.rows);
    expect(actual.rows).toHaveLength(rows.length * 2);
    // the numbers are JSON numbers, and exact (jsonb compares numbers as numeric)
    const kinds = await target.query<{ x: string; big: string; ns: string }>(
      `SELECT jsonb_typeof(a->'at'->'x') AS x, jsonb_typeof(a->'at'->'big') AS big, jsonb_typeof(a->'ns'->0) AS ns FROM dw.t WHERE id IN (1, 1001, 2, 1002) ORDER BY id`,
    );
    expect(kinds.rows).toEqual([
      { x: "number", big: "number", ns: "null" },
      { x: "number", big: "null", ns: "number" },
      { x: "number", big: "number", ns: "null" },
      { x: "number", big: "null", ns: "number" },
    ]);
    const big = await target.query<{ big: string }>(`SELECT (a->'at'->'big')::numeric::text AS big FROM dw.t WHERE id = 1001`);
    expect(big.rows[0]?.big).toBe("98765432109876543210987654321.000000000000000000000000000001");
  });

  it("dead-letters nothing", async () => {
    const deadLetters = await readFile(join(dir, "state", "compnum.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
  });
});
