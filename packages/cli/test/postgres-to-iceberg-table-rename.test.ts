import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// ALTER TABLE ... RENAME TO, PostgreSQL -> Iceberg through the CLI (found by
// the fidelity fuzzer, gate iceberg.rename-table): the lake must hold the
// table under its new name only, with every row, and no stale copy under an
// old name. Read back by the field-id reader (icebird metadata, DuckDB Parquet)
// and by listing the warehouse's namespace directory.
describe("zeroetl with PostgreSQL -> Iceberg: a table renamed", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_tren");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TABLE t (id bigint PRIMARY KEY, v text);
      CREATE TABLE u (id bigint PRIMARY KEY, v text);
      INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 5) g;
      INSERT INTO u SELECT g, 'u' || g FROM generate_series(1, 3) g;`);
    ({ file: config } = await writeConfig({
      name: "lake_table_rename",
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

  const lakeTables = async () => (await readdir(join(warehouse, "lake"))).filter((n) => !n.startsWith("_zeroetl")).sort();
  const sourceRows = async (table: string) => (await source.query(`SELECT id::text AS id, v FROM ${table} ORDER BY ${table}.id`)).rows;
  const lakeRows = async (table: string) => (await readIcebergByFieldId(join(warehouse, "lake", table))).sort((a, b) => Number(a.id) - Number(b.id));
  const run = async () => {
    const result = await runCli(["run", config, "--until-caught-up"]);
    expect(result.code, result.stderr).toBe(0);
  };

  it("leaves only the new name, with every row, across renames with and without rows in between", async () => {
    await run();
    expect(await lakeTables()).toEqual(["t", "u"]);
    // two renames in a row, the second followed by a row; u renamed with no row after it at all
    await source.query(`
      ALTER TABLE t RENAME TO t_a;
      ALTER TABLE t_a RENAME TO t_b;
      INSERT INTO t_b VALUES (6, 'v6');
      ALTER TABLE u RENAME TO u_a;`);
    await run();
    expect(await lakeTables()).toEqual(["t_b", "u_a"]);
    expect(await lakeRows("t_b")).toEqual(await sourceRows("t_b"));
    expect(await lakeRows("u_a")).toEqual(await sourceRows("u_a"));
    // and again while streaming on
    await source.query(`UPDATE t_b SET v = 'w' WHERE id = 2; ALTER TABLE t_b RENAME TO t_c; INSERT INTO t_c VALUES (7, 'v7');`);
    await run();
    expect(await lakeTables()).toEqual(["t_c", "u_a"]);
    expect(await lakeRows("t_c")).toEqual(await sourceRows("t_c"));
  });

  it("keeps a column renamed in a table renamed while the pipeline was stopped (fuzzer seed 2010)", async () => {
    await source.query(`
      INSERT INTO u_a VALUES (8, 'u8');
      ALTER TABLE u_a RENAME TO u_x;
      INSERT INTO u_x VALUES (9, 'u9');
      ALTER TABLE u_x RENAME TO u_b;
      INSERT INTO u_b VALUES (10, 'u10');
      ALTER TABLE u_b RENAME COLUMN v TO w;
      INSERT INTO u_b VALUES (11, 'u11');`);
    await run();
    expect(await lakeTables()).toEqual(["t_c", "u_b"]);
    expect(await lakeRows("u_b")).toEqual((await source.query(`SELECT id::text AS id, w FROM u_b ORDER BY u_b.id`)).rows);
  });
});
