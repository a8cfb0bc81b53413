import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// `run` must never make a statement of the application fail at the source,
// must skip what PostgreSQL cannot publish, must key tables by their replica
// identity, and must replicate a partitioned table as one table named after
// its root. Source and target are compared with plain SQL on both sides.
describe("zeroetl keeps the PostgreSQL source safe (PostgreSQL -> PostgreSQL)", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("safe_src");
    target = await createTestDatabase("safe_dst");
    await source.query(`
      CREATE TABLE t (id int PRIMARY KEY, v text);
      CREATE TABLE k (a int, v text);
      CREATE UNLOGGED TABLE ul (id int PRIMARY KEY, v text);
      CREATE TABLE a (id int PRIMARY KEY, u int NOT NULL, v text);
      CREATE UNIQUE INDEX a_u_key ON a (u);
      ALTER TABLE a REPLICA IDENTITY USING INDEX a_u_key;
      CREATE TABLE b (u int NOT NULL, v text);
      CREATE UNIQUE INDEX b_u_key ON b (u);
      ALTER TABLE b REPLICA IDENTITY USING INDEX b_u_key;
      CREATE TABLE orders (id int NOT NULL, created date NOT NULL, amount numeric(12,2), PRIMARY KEY (id, created)) PARTITION BY RANGE (created);
      CREATE TABLE orders_2025 PARTITION OF orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE orders_2026 PARTITION OF orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      CREATE TABLE ev (at date NOT NULL, v text) PARTITION BY RANGE (at);
      CREATE TABLE ev_2026 PARTITION OF ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO ev VALUES ('2026-01-01', 'e1'), ('2026-02-01', 'e2');
      INSERT INTO t VALUES (1, 'one'), (2, 'two');
      INSERT INTO k VALUES (1, 'one'), (2, 'two');
      INSERT INTO ul VALUES (1, 'one');
      INSERT INTO a SELECT g, 100 + g, 'a' || g FROM generate_series(1, 5) g;
      INSERT INTO b SELECT 100 + g, 'b' || g FROM generate_series(1, 5) g;
      INSERT INTO orders VALUES (1, '2025-03-01', 10), (2, '2025-06-01', 20), (3, '2026-02-01', 30);
      -- as an earlier version left it: the keyless table published, which already breaks the application
      CREATE PUBLICATION zeroetl_safe FOR TABLE t, k;`);
    await expect(source.query(`UPDATE k SET v = 'blocked' WHERE a = 1`)).rejects.toThrow(/does not have a replica identity/);
    ({ file: config } = await writeConfig({
      name: "safe",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const same = async (table: string, columns: string, order: string): Promise<void> => {
    const expected = (await source.query(`SELECT ${columns} FROM ${table} ORDER BY ${order}`)).rows;
    const actual = (await target.query(`SELECT ${columns} FROM dw.${table} ORDER BY ${order}`)).rows;
    expect(actual, table).toEqual(expected);
  };
  const targetTables = async (): Promise<string[]> =>
    (await target.query<{ t: string }>(`SELECT tablename::text AS t FROM pg_tables WHERE schemaname = 'dw' AND tablename NOT LIKE '\\_zeroetl%' ORDER BY 1`)).rows.map((r) => r.t);

  it("leaves unpublishable tables out, says so, and the application's updates still succeed", async () => {
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/public\.k/);
    expect(run.stderr).toMatch(/public\.ul/);
    // the application's statements on the keyless table still work at the source
    await source.query(`UPDATE k SET v = 'changed' WHERE a = 1`);
    await source.query(`DELETE FROM k WHERE a = 2`);
    expect((await source.query(`SELECT a, v FROM k ORDER BY a`)).rows).toEqual([{ a: 1, v: "changed" }]);
    await source.query(`UPDATE ul SET v = 'changed'`);
    await source.query(`UPDATE ev SET v = 'changed' WHERE at = '2026-01-01'`);
    await same("t", "id, v", "id");
    expect(await targetTables()).not.toContain("k");
    expect(await targetTables()).not.toContain("ul");
    expect(await targetTables()).not.toContain("ev");

    const check = await runCli(["check", config]);
    expect(check.stdout).toMatch(/postgres\.replica_identity.*public\.ev, public\.k/);
    expect(check.stdout).toMatch(/postgres\.unpublishable.*public\.ul/);
    const status = await runCli(["status", config]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/postgres\.replica_identity.*public\.k/);
    expect(status.stdout).toMatch(/postgres\.unpublishable.*public\.ul/);
  });

  it("keys tables by a replica identity index: deletes and key changes land", async () => {
    await same("a", "id, u, v", "id");
    await same("b", "u, v", "u");
    await source.query(`
      DELETE FROM a WHERE id = 1;
      UPDATE a SET id = 20 WHERE id = 2;
      UPDATE a SET u = 300, v = 'moved' WHERE id = 3;
      UPDATE a SET v = 'plain' WHERE id = 4;
      INSERT INTO a VALUES (6, 106, 'a6');
      DELETE FROM b WHERE u = 101;
      UPDATE b SET v = 'changed' WHERE u = 102;
      UPDATE b SET u = 303 WHERE u = 103;
      INSERT INTO b VALUES (106, 'b6');`);
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    await same("a", "id, u, v", "id");
    await same("b", "u, v", "u");
  });

  it("after check --fix the keyless table is published, snapshotted and streamed", async () => {
    const fixed = await runCli(["check", config, "--fix"]);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).toMatch(/fixed\s+postgres\.replica_identity.*REPLICA IDENTITY FULL/);
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    await same("k", "a, v", "a");
    await same("ev", "at::text AS at, v", "at");
    await source.query(`INSERT INTO k VALUES (3, 'three'); UPDATE k SET v = 'again' WHERE a = 1; UPDATE ev SET v = 'again' WHERE at = '2026-02-01';`);
    const again = await runCli(["run", config, "--until-caught-up"]);
    expect(again.code, again.stderr).toBe(0);
    await same("k", "a, v", "a");
    await same("ev", "at::text AS at, v", "at");
  });

  it("replicates a partitioned table as one table named after its root", async () => {
    await source.query(`
      INSERT INTO orders VALUES (4, '2026-05-01', 40);
      UPDATE orders SET amount = 11 WHERE id = 1;
      UPDATE orders SET created = '2026-07-01' WHERE id = 2;
      DELETE FROM orders WHERE id = 3;`);
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    await same("orders", "id, created::text AS created, amount::text AS amount", "id");
    const tables = await targetTables();
    expect(tables).toContain("orders");
    expect(tables).not.toContain("orders_2025");
    expect(tables).not.toContain("orders_2026");
  });

  it("reads the root again when the publication did not publish through it (as earlier versions made it)", async () => {
    await source.query(`ALTER PUBLICATION zeroetl_safe SET (publish_via_partition_root = false)`);
    await source.query(`UPDATE orders SET amount = 99 WHERE id = 1; INSERT INTO orders VALUES (6, '2026-10-01', 60);`);
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    await same("orders", "id, created::text AS created, amount::text AS amount", "id");
    await source.query(`UPDATE orders SET amount = 100 WHERE id = 6;`);
    const again = await runCli(["run", config, "--until-caught-up"]);
    expect(again.code, again.stderr).toBe(0);
    await same("orders", "id, created::text AS created, amount::text AS amount", "id");
  });

  it("with partitions: leaves, replicates each partition as a table of its own and not the root", async () => {
    const { file } = await writeConfig({
      name: "safe_leaves",
      source: { type: "postgres", url: source.url, partitions: "leaves" },
      target: { type: "postgres", url: target.url, schema: "lv" },
      filter: { include: ["public.orders*"] },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    await source.query(`UPDATE orders SET created = '2025-08-01' WHERE id = 4; INSERT INTO orders VALUES (5, '2025-09-01', 50);`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    for (const leaf of ["orders_2025", "orders_2026"]) {
      const expected = (await source.query(`SELECT id, created::text AS created, amount::text AS amount FROM ${leaf} ORDER BY id`)).rows;
      expect((await target.query(`SELECT id, created::text AS created, amount::text AS amount FROM lv.${leaf} ORDER BY id`)).rows, leaf).toEqual(expected);
    }
    expect((await target.query(`SELECT to_regclass('lv.orders') IS NULL AS absent`)).rows).toEqual([{ absent: true }]);
  });
});
