import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// A resync's exact snapshot comes from a temporary logical slot, whose
// creation waits for every transaction already running at the source. With
// one held open, a re-read (here of a column added with a default) must not
// wait for it forever: after source.resyncSnapshotWaitSeconds the source
// falls back to an ordinary exported snapshot (not exact: the replay
// re-applies what the re-read holds, and says so in the log). The run
// finishes while the transaction is still open; after it commits, the next
// run lands it. Compared by plain SQL on both sides.
describe("zeroetl PostgreSQL -> PostgreSQL: a resync does not wait for a long transaction beyond its bound", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;
  let held: pg.Client | undefined;
  let second: Awaited<ReturnType<typeof runCli>>;
  let openWhileDone = false;

  beforeAll(async () => {
    source = await createTestDatabase("resync_wait_src");
    target = await createTestDatabase("resync_wait_dst");
    await source.query(`CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 30) g; CREATE TABLE busy (id int PRIMARY KEY)`);
    ({ file: config } = await writeConfig({
      name: "resync_wait",
      source: { type: "postgres", url: source.url, resyncSnapshotWaitSeconds: 1 },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    // a transaction with an xid, held open across the next run
    held = new pg.Client({ connectionString: source.url });
    await held.connect();
    await held.query(`BEGIN; INSERT INTO busy VALUES (1)`);
    const heldPid = (await held.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0]?.pid;
    // existing rows take the default, which no row event carries: t is re-read
    await source.query(`ALTER TABLE t ADD COLUMN d int DEFAULT 5`);
    await source.query(`UPDATE t SET v = 'changed' WHERE id <= 3; INSERT INTO t VALUES (31, 'v31', 7)`);
    second = await runCli(["run", config, "--until-caught-up"]);
    const open = await source.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND state = 'idle in transaction'`, [heldPid]);
    openWhileDone = open.rows[0]?.n === 1;
    await held.query(`COMMIT`);
    await held.end();
    held = undefined;
    const third = await runCli(["run", config, "--until-caught-up"]);
    expect(third.code, third.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await held?.end().catch(() => undefined);
    await source?.drop();
    await target?.drop();
  });

  it("finishes the re-read while the transaction is still open, with the fallback's warning", () => {
    expect(second.code, second.stderr).toBe(0);
    expect(openWhileDone).toBe(true);
    expect(second.stderr).toMatch(/waited 1 s for transactions running at the source/);
  });

  it("lands the re-read table and the transaction's row", async () => {
    for (const table of ["t", "busy"]) {
      const read = `SELECT * FROM ${table} ORDER BY id`;
      expect((await target.query(read.replace(table, `dw.${table}`))).rows, table).toEqual((await source.query(read)).rows);
    }
    expect((await target.query(`SELECT count(*)::int AS n FROM dw.t WHERE d = 5`)).rows).toEqual([{ n: 30 }]);
  });

  it("leaves no temporary slot behind", async () => {
    const slots = await source.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name LIKE 'zeroetl_resync_wait_resync_%'`);
    expect(slots.rows).toEqual([{ n: 0 }]);
  });
});
