import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// Stored generated columns, PostgreSQL -> Iceberg through the CLI (issue 16.6,
// fuzzer gate iceberg.generated-column): pgoutput does not send them and the
// lake cannot compute them, so the source reads them in the snapshot and
// evaluates their expressions for streamed rows. Read back by the field-id
// reader (icebird metadata, DuckDB on the Parquet files), compared with plain
// SQL at the source.
describe("zeroetl with PostgreSQL -> Iceberg: stored generated columns", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_gen");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TABLE g (
        id int PRIMARY KEY,
        gbase int,
        tags text[],
        at timestamptz,
        body text,
        g_int8 int8 GENERATED ALWAYS AS (gbase::int8 * 2) STORED,
        g_text text GENERATED ALWAYS AS ('g' || gbase::text) STORED,
        g_num numeric(20,4) GENERATED ALWAYS AS (gbase::numeric / 8) STORED,
        g_tags int GENERATED ALWAYS AS (cardinality(tags)) STORED,
        g_day date GENERATED ALWAYS AS ((at AT TIME ZONE 'UTC')::date) STORED,
        g_body int GENERATED ALWAYS AS (length(body)) STORED);
      ALTER TABLE g ALTER COLUMN body SET STORAGE EXTERNAL;
      INSERT INTO g (id, gbase, tags, at, body)
        SELECT i, i * 7 - 20, ARRAY['a', NULL, 'c' || i], timestamptz '2026-12-31 23:30:00+00' + i * interval '1 hour', repeat('b', 3000 + i)
          FROM generate_series(1, 4) i;
      INSERT INTO g (id, gbase, tags, at, body) VALUES (5, NULL, NULL, NULL, NULL);`);
    ({ file: config } = await writeConfig({
      name: "lake_generated",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  async function run(): Promise<void> {
    const result = await runCli(["run", config, "--until-caught-up"]);
    expect(result.code, result.stderr).toBe(0);
  }
  const columns = ["id", "gbase", "g_int8", "g_text", "g_num", "g_tags", "g_day", "g_body"] as const;
  const sourceRows = async () =>
    (await source.query(`SELECT ${columns.map((c) => `${c}::text AS ${c}`).join(", ")} FROM g ORDER BY g.id`)).rows as Record<string, string | null>[];
  const lakeRows = async () =>
    (await readIcebergByFieldId(join(warehouse, "lake", "g")))
      // DuckDB prints a BC date as `4713-01-01 (BC)`, PostgreSQL as `4713-01-01 BC`
      .map((row) => Object.fromEntries(columns.map((c) => [c, row[c]?.replace(" (BC)", " BC") ?? null])))
      .sort((a, b) => Number(a.id) - Number(b.id));

  it("lands their values by snapshot and by streaming, inserts and updates, beside an unchanged TOAST value", async () => {
    await run();
    expect(await lakeRows()).toEqual(await sourceRows());
    // one transaction per statement, then several in one
    await source.query(`INSERT INTO g (id, gbase, tags, at, body) VALUES (6, 2147483647, ARRAY[]::text[], '4713-01-01 00:00:00+00 BC', 'short')`);
    await source.query(`UPDATE g SET gbase = -3 WHERE id = 2`);
    // body is left out of the stream (unchanged TOAST): g_body keeps its value, the others follow gbase and tags
    await source.query(`UPDATE g SET gbase = gbase + 1, tags = ARRAY['x'] WHERE id IN (3, 4)`);
    await source.query(`UPDATE g SET body = repeat('z', 5000) WHERE id = 1`);
    await source.query(`
      BEGIN;
      INSERT INTO g (id, gbase, tags, at, body) SELECT i, -i, ARRAY[i::text], now(), NULL FROM generate_series(7, 40) i;
      UPDATE g SET gbase = 11, at = '2027-06-01 12:00:00+00' WHERE id = 5;
      DELETE FROM g WHERE id = 8;
      COMMIT;`);
    await run();
    expect(await lakeRows()).toEqual(await sourceRows());
  });
});
