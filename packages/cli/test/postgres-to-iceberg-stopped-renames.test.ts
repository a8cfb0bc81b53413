import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// Table changes made while the pipeline is stopped, PostgreSQL -> Iceberg
// through the CLI (found by the fidelity fuzzer). Each statement is its own
// transaction, as in the fuzzer's workloads: the re-read of the changed table
// then holds rows whose inserts the stream replays afterwards in an older
// shape, and an Iceberg upsert replaces the whole row, so replaying them
// would null a column the older shape lacks. Read back by the field-id reader
// (icebird metadata and manifests, DuckDB on the Parquet files), compared
// with plain SQL at the source.
describe("zeroetl with PostgreSQL -> Iceberg: tables changed while the pipeline is stopped", () => {
  let source: TestDatabase;
  let warehouse: string;
  let config: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("cli_ice_stopren");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-cli-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE SCHEMA s2;
      CREATE TABLE t (id bigint PRIMARY KEY, a bigint, f float8);
      INSERT INTO t SELECT g, g * 10, g / 4.0 FROM generate_series(1, 5) g;
      CREATE TABLE w (k0 int NOT NULL, k1 numeric(20,4) NOT NULL, tags text[] NOT NULL, n numeric(33,10) NOT NULL, PRIMARY KEY (k0, k1));
      INSERT INTO w SELECT g, g + 0.0015, ARRAY['x' || g, NULL], g * 1.5 FROM generate_series(1, 5) g;
      CREATE TABLE m (id int PRIMARY KEY, v text, n numeric(5,2)) PARTITION BY HASH (id);
      CREATE TABLE m_p0 PARTITION OF m FOR VALUES WITH (MODULUS 2, REMAINDER 0);
      CREATE TABLE m_p1 PARTITION OF m FOR VALUES WITH (MODULUS 2, REMAINDER 1);
      INSERT INTO m SELECT g, 'm' || g, g FROM generate_series(1, 4) g;`);
    ({ file: config } = await writeConfig({
      name: "lake_stopped_renames",
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
      filter: { include: ["public.*", "s2.*"] },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    await run();
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
  /** One transaction per statement. */
  async function each(...statements: string[]): Promise<void> {
    for (const statement of statements) await source.query(statement);
  }
  const lakeTables = async () => (await readdir(join(warehouse, "lake"))).filter((n) => !n.startsWith("_zeroetl")).sort();
  const lakeRows = async (table: string, order: (row: Record<string, string | null>) => number) => (await readIcebergByFieldId(join(warehouse, "lake", table))).sort((a, b) => order(a) - order(b));

  it("keeps a column renamed in a table renamed twice, with rows between the renames (seed 2010)", async () => {
    await each(
      "INSERT INTO t VALUES (6, 60, 1.5)",
      "ALTER TABLE t RENAME TO t_r1",
      "INSERT INTO t_r1 VALUES (7, 70, 1.75)",
      "ALTER TABLE t_r1 RENAME TO t_r2",
      "INSERT INTO t_r2 VALUES (8, -9223372036854775808, 2)",
      "INSERT INTO t_r2 VALUES (9, 0, 2.25)",
      "ALTER TABLE t_r2 RENAME COLUMN a TO a_r",
      "INSERT INTO t_r2 VALUES (10, 100, 2.5)",
    );
    await run();
    // doubles compared as numbers (DuckDB prints 2.0 where PostgreSQL prints 2)
    const asNumber = (r: Record<string, unknown>) => ({ ...r, f: r.f === null ? null : Number(r.f) });
    const expected = (await source.query(`SELECT id::text AS id, a_r::text AS a_r, f::text AS f FROM t_r2 ORDER BY t_r2.id`)).rows;
    expect((await lakeRows("t_r2", (r) => Number(r.id))).map(asNumber)).toEqual(expected.map(asNumber));
    expect(await lakeTables()).toContain("t_r2");
    expect(await lakeTables()).not.toContain("t");
  });

  it("keeps a text[] column renamed after a type change and a NOT NULL DEFAULT column (seed 1051)", async () => {
    await each(
      "ALTER TABLE w ALTER COLUMN n TYPE numeric(38,10)",
      "INSERT INTO w VALUES (6, 6.0015, ARRAY['y6'], 9)",
      "DELETE FROM w WHERE k0 = 2",
      "ALTER TABLE w ADD COLUMN d int4 NOT NULL DEFAULT -2147483648",
      "INSERT INTO w VALUES (7, 7.0015, ARRAY[]::text[], 10, 7)",
      "ALTER TABLE w RENAME COLUMN tags TO tags_r",
      "INSERT INTO w VALUES (8, 8.0015, ARRAY['z', NULL], 11, 8)",
    );
    await run();
    const expected = (await source.query(`SELECT k0::text AS k0, k1::text AS k1, array_to_json(tags_r)::text AS tags_r, n::text AS n, d::text AS d FROM w ORDER BY w.k0`)).rows;
    const lake = (await lakeRows("w", (r) => Number(r.k0))).map((r) => ({ ...r, tags_r: typeof r.tags_r === "string" ? JSON.stringify(parseDuckList(r.tags_r)) : null }));
    expect(lake).toEqual(expected.map((r) => ({ ...r, tags_r: JSON.stringify(JSON.parse(String(r.tags_r))) })));
  });

  it("keeps a table moved to another schema under the same name, after a type change and a column rename (seed 2010 with the current generator)", async () => {
    await each(
      "ALTER TABLE m ALTER COLUMN n TYPE numeric(10,2)",
      "INSERT INTO m VALUES (5, 'm5', 432.95)",
      "ALTER TABLE m RENAME COLUMN v TO v_r",
      "INSERT INTO m VALUES (6, 'm6', 6)",
      "ALTER TABLE m SET SCHEMA s2",
      "INSERT INTO s2.m VALUES (7, 'm7', 99999.99)",
    );
    await run();
    const expected = (await source.query(`SELECT id::text AS id, v_r, n::text AS n FROM s2.m ORDER BY m.id`)).rows;
    expect(await lakeRows("m", (r) => Number(r.id))).toEqual(expected);
  });
});

/** DuckDB's VARCHAR rendering of a list of strings (`[a, NULL, b]`) as an array; the test's values hold no comma or bracket. */
function parseDuckList(text: string): (string | null)[] {
  const inner = text.slice(1, -1).trim();
  if (inner === "") return [];
  return inner.split(", ").map((s) => (s === "NULL" ? null : s));
}
