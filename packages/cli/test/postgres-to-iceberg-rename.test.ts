import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// ALTER TABLE ... RENAME COLUMN mid-stream, PostgreSQL -> Iceberg through the
// CLI: rows written before the rename must read back under the new name (no
// NULL new column beside a leftover old one), read back by an independent
// reader that maps columns by field id (icebird's metadata, DuckDB's Parquet).
describe("zeroetl with PostgreSQL -> Iceberg: a column renamed mid-stream", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_ren");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TABLE s (id bigint PRIMARY KEY, old_name text, n int);
      INSERT INTO s SELECT g, 'v' || g, g FROM generate_series(1, 5) g;`);
    ({ file: config } = await writeConfig({
      name: "lake_rename",
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

  const sourceRows = async () => (await source.query(`SELECT id::text AS id, new_name, n::text AS n FROM s ORDER BY s.id`)).rows;
  const lakeRows = async () => (await readIcebergByFieldId(join(warehouse, "lake", "s"))).sort((a, b) => Number(a.id) - Number(b.id));

  it("keeps every row's value under the new name", async () => {
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`
      INSERT INTO s VALUES (6, 'v6', 6);
      ALTER TABLE s RENAME COLUMN old_name TO new_name;
      INSERT INTO s VALUES (7, 'v7', 7);
      UPDATE s SET n = n * 10 WHERE id IN (2, 7);`);
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const expected = await sourceRows();
    expect(await lakeRows()).toEqual(expected);
    // the table reads back with exactly the source's columns
    expect(Object.keys((await lakeRows())[0] ?? {})).toEqual(["id", "new_name", "n"]);
  });
});
