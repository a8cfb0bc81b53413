import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";
import { readIcebergByFieldId, serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";

// ALTER TABLE ... RENAME COLUMN at a PostgreSQL source, with rows present,
// followed by updates and a restart: the target holds every row's value under
// the new name and no leftover old column, and the rename was applied as a
// rename (the run's summary shows no snapshot rows for the table), not a re-read.
// Both sides are read independently of the sink: SQL for PostgreSQL, a
// field-id reader for Iceberg.
describe("zeroetl with a PostgreSQL source: a column renamed mid-stream", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let warehouse: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("colren_src");
    target = await createTestDatabase("colren_dst");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-colren-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TABLE s (id bigint PRIMARY KEY, v text, n int);
      INSERT INTO s SELECT g, 'v' || g, g FROM generate_series(1, 40) g;`);
  });

  afterAll(async () => {
    restoreFetch?.();
    await source?.drop();
    await target?.drop();
    await rm(warehouse, { recursive: true, force: true });
  });

  const sourceRows = async () => (await source.query(`SELECT id::text AS id, w, n::text AS n FROM s ORDER BY s.id`)).rows;
  const warehouseColumns = async () =>
    (
      await target.query<{ c: string }>(
        `SELECT column_name::text AS c FROM information_schema.columns WHERE table_schema = 'dw' AND table_name = 's' AND column_name NOT LIKE '\\_zeroetl%' ORDER BY ordinal_position`,
      )
    ).rows.map((r) => r.c);
  const warehouseRows = async () => (await target.query(`SELECT id::text AS id, w, n::text AS n FROM dw.s ORDER BY dw.s.id`)).rows;
  const lakeRows = async () => (await readIcebergByFieldId(join(warehouse, "lake", "s"))).sort((a, b) => Number(a.id) - Number(b.id));
  const run = async (config: string) => {
    const result = await runCli(["run", config, "--until-caught-up"]);
    expect(result.code, result.stderr).toBe(0);
    if (process.env.DEBUG_RENAME) console.log(result.stderr);
    return result.stdout;
  };

  it("renames the column in the PostgreSQL and the Iceberg target, keeping every row's value", async () => {
    const { file: toPostgres } = await writeConfig({
      name: `colren_pg_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
      log: { level: process.env.DEBUG_RENAME ? "info" : "warn" },
    });
    const { file: toIceberg } = await writeConfig({
      name: `colren_ice_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "iceberg", warehouse, namespace: "lake" },
    });
    for (const config of [toPostgres, toIceberg]) {
      const check = await runCli(["check", config, "--fix"]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(await run(config)).toMatch(/public\.s\s+40\s/);
    }

    await source.query(`
      UPDATE s SET n = -1 WHERE id = 1;
      ALTER TABLE s RENAME COLUMN v TO w;
      UPDATE s SET w = 'renamed ' || id, n = n * 10 WHERE id IN (2, 3, 40);
      INSERT INTO s VALUES (41, 'v41', 41);`);
    for (const config of [toPostgres, toIceberg]) {
      const summary = await run(config);
      // applied as a rename: the table was not read again (no snapshot rows), only its changes streamed
      expect(summary).toMatch(/public\.s\s+0\s+1\s+4\s+0/);
    }
    expect(await warehouseColumns()).toEqual(["id", "w", "n"]);
    expect(await warehouseRows()).toEqual(await sourceRows());
    const lake = await lakeRows();
    expect(Object.keys(lake[0] ?? {})).toEqual(["id", "w", "n"]);
    expect(lake).toEqual(await sourceRows());

    // a restart, and the table streams on under the new name
    await source.query(`UPDATE s SET w = 'later' WHERE id IN (4, 41); DELETE FROM s WHERE id = 5;`);
    for (const config of [toPostgres, toIceberg]) expect(await run(config)).toMatch(/public\.s\s+0\s+0\s+2\s+1/);
    expect(await warehouseColumns()).toEqual(["id", "w", "n"]);
    expect(await warehouseRows()).toEqual(await sourceRows());
    expect(await lakeRows()).toEqual(await sourceRows());
  });

  it("renames while the pipeline streams, each statement in its own transaction", async () => {
    await source.query(`CREATE TABLE live (id int PRIMARY KEY, a text, b text); INSERT INTO live SELECT g, 'a' || g, 'b' || g FROM generate_series(1, 30) g;`);
    const { file: config } = await writeConfig({
      name: `colren_live_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "lv" },
      filter: { include: ["public.live"] },
    });
    expect(await run(config)).toMatch(/public\.live\s+30\s/);
    const same = async () => {
      const columns = (await source.query<{ c: string }>(`SELECT column_name::text AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'live' ORDER BY ordinal_position`)).rows.map((r) => r.c);
      const targetColumns = (
        await target.query<{ c: string }>(`SELECT column_name::text AS c FROM information_schema.columns WHERE table_schema = 'lv' AND table_name = 'live' AND column_name NOT LIKE '\\_zeroetl%' ORDER BY ordinal_position`)
      ).rows.map((r) => r.c);
      if (columns.join() !== targetColumns.join()) return false;
      const list = columns.map((c) => `"${c}"::text`).join(", ");
      const a = (await source.query(`SELECT ${list} FROM public.live ORDER BY 1`)).rows;
      const b = (await target.query(`SELECT ${list} FROM lv.live ORDER BY 1`)).rows;
      return JSON.stringify(a) === JSON.stringify(b);
    };
    const running = startCli(["run", config]);
    let summary = "";
    try {
      await source.query(`UPDATE live SET a = 'first' WHERE id = 1`);
      await source.query(`ALTER TABLE live RENAME COLUMN a TO a2`);
      // a swap through a third name: each statement is a rename onto a name the table no longer has
      await source.query(`ALTER TABLE live RENAME COLUMN b TO tmp`);
      await source.query(`ALTER TABLE live RENAME COLUMN a2 TO b`);
      await source.query(`ALTER TABLE live RENAME COLUMN tmp TO a`);
      await source.query(`UPDATE live SET a = 'after ' || id WHERE id <= 3; INSERT INTO live VALUES (31, 'b31', 'a31');`);
      const deadline = Date.now() + 30_000;
      while (!(await same().catch(() => false))) {
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      running.kill("SIGTERM");
      summary = (await running.result).stdout;
    }
    expect(await same()).toBe(true);
    // renamed in place, not re-read: the run's summary has no snapshot rows, only the streamed changes
    expect(summary).toMatch(/public\.live\s+0\s+1\s+4\s+0/);
    // and a restart finds nothing left to do
    expect(await run(config)).not.toMatch(/public\.live\s+[1-9]/);
    expect(await same()).toBe(true);
  });
});
