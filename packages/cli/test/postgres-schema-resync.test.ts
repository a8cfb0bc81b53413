import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalObjectStore, readIcebergTable } from "@zero-etl/sinks/iceberg";
import { serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A column retyped in a way the warehouse cannot follow in place (numeric ->
// boolean): the table is set aside as resync-required while the others go
// on, then a resync drops and recreates its target table, by hand or,
// with autoResync, on its own.
describe("zeroetl with a refused schema change (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let warehouse: string;
  let restoreFetch: () => void;

  beforeAll(async () => {
    source = await createTestDatabase("rs_src");
    target = await createTestDatabase("rs_dst");
    warehouse = await mkdtemp(join(tmpdir(), "zetl-rs-lake-"));
    restoreFetch = serveLocalFilesToFetch();
    await source.query(`
      CREATE TABLE prices (id int PRIMARY KEY, v numeric(10,2));
      CREATE TABLE other (id int PRIMARY KEY, note text);
      INSERT INTO prices VALUES (1, 0.5), (2, 2.5);
      INSERT INTO other VALUES (1, 'x');`);
  });

  afterAll(async () => {
    restoreFetch?.();
    if (warehouse !== undefined) await rm(warehouse, { recursive: true, force: true });
    await source?.drop();
    await target?.drop();
  });

  // ddlCapture: false, because with the PostgreSQL source's DDL capture the rewrite (ALTER ... USING) is re-read at once
  // (postgres-table-lifecycle.test.ts); without it, the change the target refuses sets the table aside, as here
  const config = async (name: string, autoResync: boolean) =>
    (await writeConfig({ name, source: { type: "postgres", url: source.url, ddlCapture: false }, target: { type: "postgres", url: target.url, schema: name }, autoResync })).file;
  const rows = async (db: TestDatabase, table: string) => (await db.query(`SELECT id, v::text AS v FROM ${table} ORDER BY id`)).rows;

  it("sets the table aside, then resyncs it by hand or automatically", async () => {
    const manual = await config("rs_manual", false);
    const automatic = await config("rs_auto", true);
    const lake = (await writeConfig({ name: "rs_lake", source: { type: "postgres", url: source.url, ddlCapture: false }, target: { type: "iceberg", warehouse, namespace: "lake" }, autoResync: true })).file;
    for (const file of [manual, automatic, lake]) expect((await runCli(["run", file, "--until-caught-up"])).code).toBe(0);

    await source.query(`
      ALTER TABLE prices ALTER COLUMN v TYPE boolean USING v > 1;
      INSERT INTO prices VALUES (3, true);
      INSERT INTO other VALUES (2, 'y');`);

    const setAside = await runCli(["run", manual, "--until-caught-up"]);
    expect(setAside.code, setAside.stderr).toBe(1);
    expect(setAside.stderr).toMatch(/set aside.*public\.prices \(resync-required\)/);
    const status = await runCli(["status", manual]);
    expect(status.stdout).toMatch(/public\.prices\s+resync-required/);
    expect((await target.query(`SELECT id, note FROM rs_manual.other ORDER BY id`)).rows).toEqual([{ id: 1, note: "x" }, { id: 2, note: "y" }]);
    expect(await rows(target, "rs_manual.prices")).toEqual([{ id: 1, v: "0.50" }, { id: 2, v: "2.50" }]);

    const resync = await runCli(["resync", manual, "public.prices"]);
    expect(resync.code, resync.stderr).toBe(0);
    expect(await rows(target, "rs_manual.prices")).toEqual(await rows(source, "prices"));

    const auto = await runCli(["run", automatic, "--until-caught-up"]);
    expect(auto.code, auto.stderr).toBe(0);
    expect(await rows(target, "rs_auto.prices")).toEqual(await rows(source, "prices"));
    expect((await runCli(["status", automatic])).stdout).toMatch(/public\.prices\s+synced/);

    // the Iceberg table gets a replacing schema (fresh field ids) and is rewritten
    const iceberg = await runCli(["run", lake, "--until-caught-up"]);
    expect(iceberg.code, iceberg.stderr).toBe(0);
    const location = join(warehouse, "lake", "prices");
    const ours = (await readIcebergTable({ store: createLocalObjectStore(), location })).rows.map((r) => ({ id: r.id, v: r.v })).sort((a, b) => Number(a.id) - Number(b.id));
    expect(ours).toEqual([{ id: 1, v: false }, { id: 2, v: true }, { id: 3, v: true }]);
    const independent = (await icebergRead({ tableUrl: location })) as { id: unknown; v: unknown }[];
    expect(independent.map((r) => [Number(r.id), r.v]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([[1, false], [2, true], [3, true]]);
  });
});
