import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// Found by the fidelity fuzzer (pg.partitioned, seed 606): on a partitioned
// table, `ADD COLUMN … DEFAULT` leaves `atthasmissing` on the partitions, not
// on the root, so the rows that existed before read the default at the source
// but stayed NULL at the target. Compared with plain SQL on both sides.
describe("zeroetl on a partitioned table (PostgreSQL -> PostgreSQL, partitions: root)", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("partddl_src");
    target = await createTestDatabase("partddl_dst");
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const read = async (db: TestDatabase, table: string) =>
    (await db.query<{ r: string }>(`SELECT concat_ws('|', id, v, x::text, y::text) AS r FROM ${table} ORDER BY id`)).rows.map((row) => row.r);

  // with the DDL capture (event triggers), and without it (Relation messages and the catalog)
  it.each([
    { ddlCapture: true, table: "orders" },
    { ddlCapture: false, table: "orders_nc" },
  ])("lands a default that the existing rows of every partition take (ddlCapture $ddlCapture)", async ({ ddlCapture, table: orders }) => {
    await source.query(`
      CREATE TABLE ${orders} (id int NOT NULL, v text, PRIMARY KEY (id)) PARTITION BY HASH (id);
      CREATE TABLE ${orders}_p0 PARTITION OF ${orders} FOR VALUES WITH (MODULUS 2, REMAINDER 0);
      CREATE TABLE ${orders}_p1 PARTITION OF ${orders} FOR VALUES WITH (MODULUS 2, REMAINDER 1);
      INSERT INTO ${orders} SELECT g, 'v' || g FROM generate_series(1, 20) g;`);
    const { file } = await writeConfig({
      name: `partddl_${orders}_${source.name}`,
      source: { type: "postgres", url: source.url, ddlCapture },
      target: { type: "postgres", url: target.url, schema: orders },
      filter: { include: [`public.${orders}`] },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);

    // no row event for the 20 rows that now read 42.50 and 7; an insert after each so pgoutput sends the Relation message
    await source.query(`
      ALTER TABLE ${orders} ADD COLUMN x numeric(12,2) DEFAULT 42.50;
      INSERT INTO ${orders} (id, v) VALUES (21, 'new');
      ALTER TABLE ${orders} ADD COLUMN y int NOT NULL DEFAULT 7;
      INSERT INTO ${orders} (id, v, x) VALUES (22, 'newer', 1.5);
      UPDATE ${orders} SET v = 'changed' WHERE id IN (3, 4);`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);

    const expected = await read(source, `public.${orders}`);
    expect(expected).toContain("1|v1|42.50|7");
    expect(await read(target, `${orders}.${orders}`)).toEqual(expected);
    const tables = await target.query<{ t: string }>(`SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = $1 AND table_name NOT LIKE '\\_zeroetl%' ORDER BY 1`, [orders]);
    expect(tables.rows.map((r) => r.t)).toEqual([orders]);
  }, 300_000);

  // A rewrite of a partitioned table (ALTER COLUMN … TYPE … USING) rewrites
  // its partitions: the table_rewrite event names each partition, which
  // `partitions: root` does not select, so the root was not re-read and the
  // target kept the old values (10 instead of 10000).
  it("re-reads a partitioned table whose partitions a rewrite changed (ALTER COLUMN … TYPE … USING)", async () => {
    await source.query(`
      CREATE TABLE rw (id int NOT NULL, n int, PRIMARY KEY (id)) PARTITION BY HASH (id);
      CREATE TABLE rw_p0 PARTITION OF rw FOR VALUES WITH (MODULUS 2, REMAINDER 0);
      CREATE TABLE rw_p1 PARTITION OF rw FOR VALUES WITH (MODULUS 2, REMAINDER 1);
      INSERT INTO rw SELECT g, g * 10 FROM generate_series(1, 12) g;`);
    const { file } = await writeConfig({
      name: `partddl_rw_${source.name}`,
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "rw" },
      filter: { include: ["public.rw"] },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`
      ALTER TABLE rw ALTER COLUMN n TYPE int8 USING n::int8 * 1000;
      INSERT INTO rw VALUES (13, 5);`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    const read = async (db: TestDatabase, table: string) => (await db.query<{ r: string }>(`SELECT id || '|' || coalesce(n::text, 'null') AS r FROM ${table} ORDER BY id`)).rows.map((row) => row.r);
    const expected = await read(source, "public.rw");
    expect(expected).toContain("1|10000");
    expect(await read(target, "rw.rw")).toEqual(expected);
  }, 300_000);
});
