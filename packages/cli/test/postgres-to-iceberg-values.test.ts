import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { openDuckDb } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// PostgreSQL values at the edges of Iceberg's types, through the CLI, by
// snapshot and by streaming. What Iceberg can hold must land (read back by
// DuckDB straight from the Parquet data files); what it cannot must reach the
// dead-letter queue with a reason naming the column and saying why.
describe("zeroetl with PostgreSQL -> Iceberg: edge values", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let dir: string;

  // id -> the column and the reason a dead letter must give (undefined: the row lands)
  const rows: readonly { id: number; values: string; rejected?: RegExp }[] = [
    { id: 1, values: `d => date '5874897-12-31'` },
    { id: 2, values: `d => date '4713-01-01 BC', ts => timestamp '4713-01-01 00:00:00 BC'` },
    { id: 3, values: `d => date '0044-03-15 BC', ts => timestamp '0044-03-15 12:30:00.000001 BC', tstz => timestamptz '0044-03-15 12:30:00+02 BC'` },
    { id: 4, values: `n => 'NaN'` },
    { id: 5, values: `ts => timestamp '294246-12-31 23:59:59.999999', tstz => timestamptz '294246-12-31 23:59:59.999999+00'` },
    { id: 6, values: `d => date '2024-02-29', ts => timestamp '2024-02-29 10:00:00.5', tstz => timestamptz '2024-02-29 10:00:00.5+05:30', n => 1234.5, t => time '23:59:59.999999', arr => '{1,NULL,3}'` },
    { id: 7, values: `ts => timestamp '294247-06-01 00:00:00'`, rejected: /column ts: .*after 294247-01-10T04:00:54\.775807.*microsecond/ },
    { id: 8, values: `tstz => timestamptz '294247-06-01 00:00:00+00'`, rejected: /column tstz: .*after 294247-01-10T04:00:54\.775807.*microsecond/ },
    // ±infinity land as the int32/int64 sentinels DuckDB itself uses, so DuckDB reads them back as infinity
    { id: 9, values: `ts => timestamp 'infinity', tstz => timestamptz 'infinity', d => date '-infinity'` },
    { id: 10, values: `ts => timestamp '-infinity', tstz => timestamptz '-infinity'` },
    { id: 11, values: `d => date 'infinity'` },
    { id: 12, values: `t => time '24:00:00'`, rejected: /column t: .*24:00:00.*iceberg time/i },
    // PostgreSQL does not type an array's dimensions: a column typed list<int> cannot take a list of lists
    { id: 13, values: `arr => '{{1,2},{3,4}}'`, rejected: /column arr: .*multidimensional/ },
  ];

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_edge");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    await source.query(`CREATE TABLE edge (id int PRIMARY KEY, d date, ts timestamp, tstz timestamptz, n numeric(10,2), t time, arr int[])`);
    ({ file: config, dir } = await writeConfig({
      name: "lake_values",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  const insert = async (offset: number) => {
    for (const row of rows) {
      const assignments = row.values.split(/,\s*(?=\w+ =>)/).map((a) => a.split(" => ") as [string, string]);
      await source.query(`INSERT INTO edge (id, ${assignments.map((a) => a[0]).join(", ")}) VALUES (${row.id + offset}, ${assignments.map((a) => a[1]).join(", ")})`);
    }
  };

  // days and microseconds since the epoch, and numerics as text: the same in both readers
  const sourceRows = async (skip: readonly number[]) =>
    (
      await source.query(`
        SELECT id, CASE WHEN isfinite(d) THEN (d - date '1970-01-01')::text ELSE d::text END AS d,
          CASE WHEN isfinite(ts) THEN (extract(epoch FROM ts - timestamp '1970-01-01') * 1000000)::numeric(30,0)::text ELSE ts::text END AS ts,
          CASE WHEN isfinite(tstz) THEN (extract(epoch FROM tstz - timestamptz '1970-01-01 00:00:00+00') * 1000000)::numeric(30,0)::text ELSE tstz::text END AS tstz,
          CASE WHEN n = 'NaN' THEN NULL ELSE n::text END AS n,
          (extract(epoch FROM t) * 1000000)::numeric(30,0)::text AS t, to_json(arr)::text AS arr
        FROM edge WHERE id <> ALL($1::int[]) ORDER BY edge.id`, [skip])
    ).rows;

  const lakeRows = async () => {
    const duck = await openDuckDb();
    try {
      const files = join(warehouse, "lake", "edge", "data", "data-*.parquet");
      const result = await duck.connection.runAndReadAll(`
        SELECT id, CASE WHEN isfinite(d) THEN (d - DATE '1970-01-01')::VARCHAR ELSE d::VARCHAR END AS d,
          CASE WHEN isfinite(ts) THEN epoch_us(ts)::VARCHAR ELSE ts::VARCHAR END AS ts,
          CASE WHEN isfinite(tstz) THEN epoch_us(tstz)::VARCHAR ELSE tstz::VARCHAR END AS tstz, n::VARCHAR AS n,
          (epoch_us(DATE '1970-01-01' + t))::VARCHAR AS t, to_json(arr)::VARCHAR AS arr
        FROM read_parquet('${files}') ORDER BY id`);
      return result.getRowObjectsJson();
    } finally {
      duck.close();
    }
  };

  const deadLetters = async () =>
    (await readFile(join(dir, "state", "lake_values.dead-letters.jsonl"), "utf8").catch(() => ""))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { key: { id: string }; reason: string });

  it("lands what Iceberg can hold and dead-letters the rest with a clear reason, by snapshot and by streaming", async () => {
    await insert(0);
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await insert(100);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const rejectedIds = new Set(rows.filter((r) => r.rejected !== undefined).flatMap((r) => [r.id, r.id + 100]));
    const expected = await sourceRows([...rejectedIds]);
    expect(await lakeRows()).toEqual(expected.map((r) => ({ ...r, id: Number(r.id) })));

    const letters = await deadLetters();
    for (const row of rows.filter((r) => r.rejected !== undefined)) {
      for (const id of [row.id, row.id + 100]) {
        const letter = letters.find((l) => l.key.id === String(id));
        expect(letter?.reason, `row ${id}`).toMatch(row.rejected as RegExp);
      }
    }
    expect(letters).toHaveLength(rejectedIds.size);
  });
});
