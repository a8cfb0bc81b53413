import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A table renamed while the pipeline streams, and a kill -9 at the exact
// point found by the fidelity fuzzer (pg-pg seed 76): the rename's batch has
// rows pending, so the runtime makes them durable (a checkpoint after the
// rename) before it drops the old target table; a kill between that
// checkpoint and the drop left the old target table behind for good, since
// the replay starts after the rename. The kill is placed with the CLI's
// test-only kill switch (ZEROETL_TEST_KILL_AFTER) right where the runtime
// reports the table gone, before the sink drops it. Compared by plain SQL on
// both sides: the target has the new name with every row, and not the old.
describe("zeroetl PostgreSQL -> PostgreSQL: a rename survives a kill -9 between its checkpoint and the drop of the old target table", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;
  let killed: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    source = await createTestDatabase("rename_kill_src");
    target = await createTestDatabase("rename_kill_dst");
    await source.query(`CREATE TABLE t2 (id int PRIMARY KEY, v text); INSERT INTO t2 SELECT g, 'v' || g FROM generate_series(1, 20) g`);
    await source.query(`CREATE TABLE other (id int PRIMARY KEY, n int); INSERT INTO other VALUES (1, 0)`);
    ({ file: config } = await writeConfig({
      name: "rename_kill",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    // rows in the rename's own transaction: pending when the runtime meets the drop of t2
    await source.query(`BEGIN; UPDATE other SET n = n + 1; INSERT INTO t2 VALUES (21, 'v21'); ALTER TABLE t2 RENAME TO t2_r22; COMMIT`);
    await source.query(`INSERT INTO t2_r22 VALUES (22, 'v22'); UPDATE t2_r22 SET v = 'changed' WHERE id <= 3; UPDATE other SET n = n + 1`);
    killed = await runCli(["run", config, "--until-caught-up"], { ZEROETL_TEST_KILL_AFTER: "table-state:table=public.t2,state=dropped-at-source" });
    const last = await runCli(["run", config, "--until-caught-up"]);
    expect(last.code, last.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("was killed where the runtime reports the old table gone", () => {
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
  });

  it("leaves the target with the new table only, holding every row", async () => {
    const tables = async (db: TestDatabase, schema: string) =>
      (await db.query<{ t: string }>(`SELECT tablename::text AS t FROM pg_tables WHERE schemaname = $1 AND tablename NOT LIKE '\\_zeroetl%' ORDER BY 1`, [schema])).rows.map((r) => r.t);
    expect(await tables(target, "dw")).toEqual(await tables(source, "public"));
    expect(await tables(target, "dw")).toEqual(["other", "t2_r22"]);
    for (const table of ["t2_r22", "other"]) {
      const read = `SELECT * FROM ${table} ORDER BY id`;
      expect((await target.query(read.replace(table, `dw.${table}`))).rows, table).toEqual((await source.query(read)).rows);
    }
  });
});
