import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { openDuckDb, readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// Multidimensional PostgreSQL arrays land in Iceberg as nested lists (issue
// 19.4, brief ice-types item 1). PostgreSQL does not type dimensions (an
// `int4[]` column holds `{{1,2},{3,4}}` as readily as `{1,2}`), so the sink
// types such a column by its first non-empty value while the table is empty;
// later values of other dimensions go to the dead-letter queue with the
// reason. They were all dead-lettered before. Read back by DuckDB over the
// data and delete files (by field id), compared with PostgreSQL's to_json.
describe("zeroetl with PostgreSQL -> Iceberg: multidimensional arrays", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let dir: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    restoreFetch = serveLocalFilesToFetch();
    source = await createTestDatabase("cli_ice_mdarr");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    await source.query(`
      CREATE TABLE m (id int PRIMARY KEY, ai int4[], at text[], an numeric(10,2)[], a3 int4[], a1 int4[]);
      INSERT INTO m VALUES
        (1, '{{1,2},{3,4}}', '{{"a","b"},{"c d",NULL}}', '{{1.5,NULL},{2.25,3}}', '{{{1,2}},{{3,4}}}', '{5,NULL,6}'),
        (2, '{{NULL,NULL}}', '{}', NULL, '{}', '{}'),
        (3, '{}', '{{"x"}}', '{{0.01}}', NULL, NULL),
        (4, NULL, NULL, '{{-99999999.99,0}}', '{{{NULL}}}', '{7}'),
        (5, '[0:1][1:2]={{7,8},{9,10}}', '{{"é","😀"},{"",""}}', '{}', '{{{1}},{{2}}}', '{8,9}');`);
    ({ file: config, dir } = await writeConfig({
      name: "lake_multidim_arrays",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    }));
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  const columns = ["ai", "at", "an", "a3", "a1"] as const;
  const parse = (text: string | null | undefined): unknown => (text === null || text === undefined ? null : JSON.parse(text));
  const sourceRows = async (skip: readonly number[]) =>
    (await source.query<Record<string, string | null>>(`SELECT id::text AS id, ${columns.map((c) => `to_json(${c})::text AS ${c}`).join(", ")} FROM m WHERE id <> ALL($1::int[]) ORDER BY m.id`, [skip])).rows.map((r) =>
      Object.fromEntries([["id", r.id], ...columns.map((c) => [c, parse(r[c])])]),
    );
  const lakeRows = async () =>
    (await readIcebergByFieldId(join(warehouse, "lake", "m"), { json: true }))
      .map((r) => Object.fromEntries([["id", r.id], ...columns.map((c) => [c, parse(r[c])])]))
      .sort((a, b) => Number(a.id) - Number(b.id));
  const deadLetters = async () =>
    (await readFile(join(dir, "state", "lake_multidim_arrays.dead-letters.jsonl"), "utf8").catch(() => ""))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { key: { id: string }; reason: string });

  it("lands them as lists of lists, typed by the first value, by snapshot and by streaming", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);

    await source.query(`
      INSERT INTO m VALUES (10, '{{11,12,13},{14,15,NULL}}', '{{"p"}}', '{{4.5}}', '{{{5,6}}}', '{1}');
      UPDATE m SET ai = '{{21},{22}}', an = '{{7.25,8}}' WHERE id = 2;
      UPDATE m SET ai = '{1,2}' WHERE id = 3;
      INSERT INTO m (id, a3) VALUES (11, '{{1,2}}');
      INSERT INTO m (id, a1) VALUES (12, '{{1,2}}');`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    // the Iceberg types, as the schema says and as DuckDB reads the files
    const duck = await openDuckDb();
    try {
      const types = await duck.connection.runAndReadAll(
        `SELECT DISTINCT typeof(ai) AS ai, typeof("at") AS "at", typeof(an) AS an, typeof(a3) AS a3, typeof(a1) AS a1 FROM read_parquet('${join(warehouse, "lake", "m", "data", "data-*.parquet")}')`,
      );
      expect(types.getRowObjectsJson()).toEqual([{ ai: "INTEGER[][]", at: "VARCHAR[][]", an: "DECIMAL(10,2)[][]", a3: "INTEGER[][][]", a1: "INTEGER[]" }]);
    } finally {
      duck.close();
    }

    // a value with fewer or more dimensions than its column: dead-lettered, saying so
    const letters = await deadLetters();
    expect(letters.map((l) => l.key.id).sort()).toEqual(["11", "12", "3"]);
    expect(letters.find((l) => l.key.id === "3")?.reason).toMatch(/column ai: .*1-dimensional array in a column typed with 2 list levels/);
    expect(letters.find((l) => l.key.id === "11")?.reason).toMatch(/column a3: .*2-dimensional array in a column typed with 3 list levels/);
    expect(letters.find((l) => l.key.id === "12")?.reason).toMatch(/column a1: .*2-dimensional array in a column typed with 1 list level\b/);

    // row 3's update was dead-lettered: the lake keeps its previous image, so compare it apart
    const lake = await lakeRows();
    const expected = await sourceRows([3, 11, 12]);
    expect(lake.filter((r) => r.id !== "3")).toEqual(expected);
    expect(lake.find((r) => r.id === "3")).toEqual({ id: "3", ai: [], at: [["x"]], an: [[0.01]], a3: null, a1: null });
  });
});
