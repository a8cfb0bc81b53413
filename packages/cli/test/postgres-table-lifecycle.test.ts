import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { icebergRead } from "icebird";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveLocalFilesToFetch } from "../../sinks/test/iceberg/iceberg-test-kit.js";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

// DDL at the source that PostgreSQL expresses without row events (rewrites,
// defaults existing rows take, renames, tables created, dropped and moved):
// after each phase, a new `run --until-caught-up` (a restart) must leave every
// target table equal to its source table, read with plain SQL on both sides.
describe("zeroetl follows table lifecycle and DDL (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("life_src");
    target = await createTestDatabase("life_dst");
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  /** A table's columns in order, without the sink's own `_zeroetl*` columns. */
  const columnsOf = async (db: TestDatabase, schema: string, table: string): Promise<string[]> =>
    (
      await db.query<{ c: string }>(
        `SELECT column_name::text AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name NOT LIKE '\\_zeroetl%' ORDER BY ordinal_position`,
        [schema, table],
      )
    ).rows.map((r) => r.c);
  const read = async (db: TestDatabase, schema: string, table: string, columns: readonly string[]) =>
    (await db.query(`SELECT ${columns.map((c) => `"${c}"::text AS "${c}"`).join(", ")} FROM "${schema}"."${table}" ORDER BY 1`)).rows;
  /** Source and target hold the same columns and the same rows. */
  const expectSame = async (sourceTable: string, targetSchema: string, sourceSchema = "public") => {
    const columns = await columnsOf(source, sourceSchema, sourceTable);
    expect(columns.length, `${sourceSchema}.${sourceTable} exists at the source`).toBeGreaterThan(0);
    expect(await columnsOf(target, targetSchema, sourceTable)).toEqual(columns);
    expect(await read(target, targetSchema, sourceTable, columns)).toEqual(await read(source, sourceSchema, sourceTable, columns));
  };
  const targetTables = async (schema: string) =>
    (
      await target.query<{ t: string }>(`SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = $1 AND table_name NOT LIKE '\\_zeroetl%' ORDER BY 1`, [
        schema,
      ])
    ).rows.map((r) => r.t);
  const waitFor = async (condition: () => Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition().catch(() => false))) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const run = async (config: string) => {
    const result = await runCli(["run", config, "--until-caught-up"]);
    expect(result.code, result.stderr).toBe(0);
    return result;
  };

  it("lands a default that existing rows take (ADD COLUMN ... DEFAULT)", async () => {
    await source.query(`
      CREATE TABLE dflt (id int PRIMARY KEY, v text);
      INSERT INTO dflt SELECT g, 'v' || g FROM generate_series(1, 20) g;`);
    const { file: config } = await writeConfig({
      name: `life_dflt_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dflt" },
      filter: { include: ["public.dflt"] },
    });
    await run(config);

    // existing rows read 42.50 (and 7) at the source without any row event; changes follow the DDL in the same run
    await source.query(`
      ALTER TABLE dflt ADD COLUMN x numeric(12,2) DEFAULT 42.50;
      INSERT INTO dflt (id, v) VALUES (21, 'new');
      ALTER TABLE dflt ADD COLUMN y int NOT NULL DEFAULT 7;
      UPDATE dflt SET v = 'changed' WHERE id = 3;
      DELETE FROM dflt WHERE id = 4;`);
    await run(config);
    await expectSame("dflt", "dflt");
    expect((await target.query(`SELECT count(*)::int AS n FROM dflt.dflt WHERE x = 42.50 AND y = 7`)).rows).toEqual([{ n: 20 }]);
    expect((await runCli(["status", config])).stdout).toMatch(/public\.dflt\s+synced/);
  });

  it("re-reads rewritten columns: dropped and added again, a type change with USING", async () => {
    await source.query(`
      CREATE TABLE rw (id int PRIMARY KEY, c int, note text);
      CREATE TABLE rt (id int PRIMARY KEY, c int);
      INSERT INTO rw VALUES (1, 10, 'a'), (2, 20, 'b');
      INSERT INTO rt VALUES (1, 10), (2, 20);`);
    const { file: config } = await writeConfig({
      name: `life_rw_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "rw" },
      filter: { include: ["public.rw", "public.rt"] },
    });
    await run(config);

    // the new c is NULL in every existing row; rewritten values land
    await source.query(`
      ALTER TABLE rw DROP COLUMN c;
      ALTER TABLE rw ADD COLUMN c int;
      INSERT INTO rw VALUES (3, 'c', 3);
      ALTER TABLE rt ALTER COLUMN c TYPE bigint USING c * 1000;
      INSERT INTO rt VALUES (3, 3);`);
    await run(config);
    await expectSame("rw", "rw");
    await expectSame("rt", "rw");
    expect((await target.query(`SELECT c FROM rw.rw ORDER BY id`)).rows).toEqual([{ c: null }, { c: null }, { c: 3 }]);
    expect((await target.query(`SELECT c::text FROM rw.rt ORDER BY id`)).rows).toEqual([{ c: "10000" }, { c: "20000" }, { c: "3" }]);
  });

  it("follows tables renamed, columns renamed, tables created, and tables dropped and created again", async () => {
    await source.query(`
      CREATE SCHEMA app;
      CREATE TABLE app.t (id int PRIMARY KEY, v text);
      CREATE TABLE app.d (k int PRIMARY KEY, n int);
      INSERT INTO app.t SELECT g, 'v' || g FROM generate_series(1, 100) g;
      INSERT INTO app.d VALUES (1, 1), (2, 2);`);
    const { file: config } = await writeConfig({
      name: `life_app_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "app" },
      filter: { include: ["app.*"] },
    });
    await run(config);
    expect(await targetTables("app")).toEqual(["d", "t"]);

    // a renamed table: no stale t beside a half-filled t2
    await source.query(`ALTER TABLE app.t RENAME TO t2; UPDATE app.t2 SET v = 'u' WHERE id <= 2;`);
    await run(config);
    expect(await targetTables("app")).toEqual(["d", "t2"]);
    await expectSame("t2", "app", "app");

    // a renamed column (w holds every value, no half-filled v beside it); a table created later, with rows;
    // a table dropped and created again (replaced, never merged with its predecessor)
    await source.query(`
      ALTER TABLE app.t2 RENAME COLUMN v TO w;
      UPDATE app.t2 SET w = 'z' WHERE id = 3;
      CREATE TABLE app.b (id int PRIMARY KEY, n int);
      INSERT INTO app.b SELECT g, g FROM generate_series(1, 50) g;
      DROP TABLE app.d;
      CREATE TABLE app.d (k text PRIMARY KEY, n numeric);
      INSERT INTO app.d VALUES ('new', 1.5);`);
    await run(config);
    await expectSame("t2", "app", "app");
    await expectSame("b", "app", "app");
    await expectSame("d", "app", "app");
    expect(await targetTables("app")).toEqual(["b", "d", "t2"]);

    // and they stream on
    await source.query(`INSERT INTO app.b VALUES (51, 51); UPDATE app.b SET n = 0 WHERE id = 1; INSERT INTO app.d VALUES ('newer', 2); UPDATE app.t2 SET w = 'y' WHERE id = 4;`);
    await run(config);
    await expectSame("t2", "app", "app");
    await expectSame("b", "app", "app");
    await expectSame("d", "app", "app");

    const status = (await runCli(["status", config])).stdout;
    expect(status).toMatch(/app\.t2\s+synced/);
    expect(status).toMatch(/app\.b\s+synced/);
    expect(status).toMatch(/app\.d\s+synced/);
    expect(status).not.toMatch(/app\.t\s+synced/);
  });

  it("follows a table created, another dropped, and a default added while the pipeline streams", async () => {
    await source.query(`CREATE SCHEMA live; CREATE TABLE live.a (id int PRIMARY KEY); INSERT INTO live.a VALUES (1);`);
    const { file: config } = await writeConfig({
      name: `life_live_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "live" },
      filter: { include: ["live.*"] },
    });
    await run(config);
    const running = startCli(["run", config]);
    try {
      await source.query(`CREATE TABLE live.c (id int PRIMARY KEY, v text); INSERT INTO live.c SELECT g, 'c' || g FROM generate_series(1, 30) g;`);
      await source.query(`INSERT INTO live.c VALUES (31, 'later'); DROP TABLE live.a;`);
      await waitFor(async () => (await targetTables("live")).join() === "c" && (await target.query(`SELECT count(*)::int AS n FROM live.c`)).rows[0]?.n === 31);
      // the re-read added c to the publication: later rows stream in; a default for existing rows re-reads it again
      await source.query(`INSERT INTO live.c VALUES (32, 'streamed'); UPDATE live.c SET v = 'updated' WHERE id = 1;`);
      await waitFor(async () => (await target.query(`SELECT count(*)::int AS n FROM live.c WHERE id = 32 OR v = 'updated'`)).rows[0]?.n === 2);
      await source.query(`ALTER TABLE live.c ADD COLUMN z int DEFAULT 9`);
      await waitFor(async () => (await target.query(`SELECT count(*)::int AS n FROM live.c WHERE z = 9`)).rows[0]?.n === 32);
    } finally {
      running.kill("SIGTERM");
      await running.result;
    }
    await expectSame("c", "live", "live");
  });

  it("follows schema moves: a renamed schema leaves the filter, a table moved out and back is re-read", async () => {
    await source.query(`
      CREATE SCHEMA s1; CREATE SCHEMA mv; CREATE SCHEMA parked;
      CREATE TABLE s1.t (id int PRIMARY KEY, v text);
      CREATE TABLE mv.a (id int PRIMARY KEY, v text);
      INSERT INTO s1.t SELECT g, 't' || g FROM generate_series(1, 10) g;
      INSERT INTO mv.a SELECT g, 'a' || g FROM generate_series(1, 10) g;`);
    // one schema per pipeline, so target tables keep the source names whatever the naming of several schemas
    const renamed = (
      await writeConfig({
        name: `life_s1_${source.name}`,
        source: { type: "postgres", url: source.url },
        target: { type: "postgres", url: target.url, schema: "moves_s1" },
        filter: { include: ["s1.*"] },
      })
    ).file;
    const moved = (
      await writeConfig({
        name: `life_mv_${source.name}`,
        source: { type: "postgres", url: source.url },
        target: { type: "postgres", url: target.url, schema: "moves_mv" },
        filter: { include: ["mv.*"] },
      })
    ).file;
    await run(renamed);
    await run(moved);
    expect(await targetTables("moves_s1")).toEqual(["t"]);

    await source.query(`
      ALTER TABLE mv.a SET SCHEMA parked;
      UPDATE parked.a SET v = 'while parked' WHERE id <= 3;
      DELETE FROM parked.a WHERE id = 4;
      INSERT INTO parked.a VALUES (11, 'added while parked');
      ALTER TABLE parked.a SET SCHEMA mv;
      UPDATE mv.a SET v = 'back' WHERE id = 5;
      ALTER SCHEMA s1 RENAME TO s2;
      UPDATE s2.t SET v = 'after the rename';`);
    await run(moved);
    await expectSame("a", "moves_mv", "mv");
    expect((await runCli(["status", moved])).stdout).toMatch(/mv\.a\s+synced/);
    // s1.t left the filter: its target table is gone and it is not reported as synced
    await run(renamed);
    expect(await targetTables("moves_s1")).toEqual([]);
    expect((await runCli(["status", renamed])).stdout).toMatch(/s1\.t\s+dropped-at-source/);
  });

  it("snapshots a table added to the filter between runs, and anew when it is removed and added back", async () => {
    await source.query(`
      CREATE SCHEMA cf;
      CREATE TABLE cf.keep (id int PRIMARY KEY);
      CREATE TABLE cf.extra (id int PRIMARY KEY, v text);
      INSERT INTO cf.keep VALUES (1);
      INSERT INTO cf.extra SELECT g, 'e' || g FROM generate_series(1, 500) g;`);
    const { file: config } = await writeConfig({
      name: `life_cf_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "cf" },
      filter: { include: ["cf.keep"] },
    });
    const original = JSON.parse(await readFile(config, "utf8")) as Record<string, unknown>;
    const include = (tables: string[]) => writeFile(config, JSON.stringify({ ...original, filter: { include: tables } }));
    await run(config);
    expect(await targetTables("cf")).toEqual(["keep"]);

    await source.query(`UPDATE cf.extra SET v = 'before selected' WHERE id = 1`);
    await include(["cf.keep", "cf.extra"]);
    await run(config);
    await expectSame("extra", "cf", "cf");

    await include(["cf.keep"]);
    await source.query(`UPDATE cf.extra SET v = 'while unselected' WHERE id <= 10; DELETE FROM cf.extra WHERE id > 490; INSERT INTO cf.keep VALUES (2);`);
    await run(config);
    await include(["cf.keep", "cf.extra"]);
    await source.query(`INSERT INTO cf.extra VALUES (1000, 'after')`);
    await run(config);
    await expectSame("extra", "cf", "cf");
    await expectSame("keep", "cf", "cf");
    expect((await runCli(["status", config])).stdout).toMatch(/cf\.extra\s+synced/);
  });

  it("re-reads into Iceberg too: a default existing rows take and a rewrite, read back with an independent reader", async () => {
    await source.query(`
      CREATE SCHEMA ice;
      CREATE TABLE ice.m (id int PRIMARY KEY, c int);
      INSERT INTO ice.m SELECT g, g FROM generate_series(1, 5) g;`);
    const warehouse = await mkdtemp(join(tmpdir(), "zetl-life-lake-"));
    const restoreFetch = serveLocalFilesToFetch();
    try {
      const { file: config } = await writeConfig({
        name: `life_ice_${source.name}`,
        source: { type: "postgres", url: source.url },
        target: { type: "iceberg", warehouse, namespace: "lake" },
        filter: { include: ["ice.*"] },
      });
      await run(config);
      await source.query(`
        ALTER TABLE ice.m ADD COLUMN x numeric(12,2) DEFAULT 42.50;
        ALTER TABLE ice.m ALTER COLUMN c TYPE bigint USING c * 1000;
        INSERT INTO ice.m (id, c) VALUES (6, 6);`);
      await run(config);
      const expected = (await source.query<{ id: number; c: string; x: string }>(`SELECT id, c::text AS c, x::text AS x FROM ice.m ORDER BY id`)).rows;
      const read = (await icebergRead({ tableUrl: join(warehouse, "lake", "m") })) as { id: unknown; c: unknown; x: unknown }[];
      const actual = read.map((r) => ({ id: Number(r.id), c: String(r.c), x: Number(r.x).toFixed(2) })).sort((a, b) => a.id - b.id);
      expect(actual).toEqual(expected);
    } finally {
      restoreFetch();
      await rm(warehouse, { recursive: true, force: true });
    }
  });
});
