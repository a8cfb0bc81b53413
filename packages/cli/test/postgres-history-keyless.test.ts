import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// History mode for every table (`"*"`) with one table that has no primary
// key: that table is set aside with the reason, the keyed tables replicate
// (snapshot and changes), and later runs do not die on the keyless table.
describe("PostgreSQL -> PostgreSQL history mode with a keyless table", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("hist_nokey_src");
    target = await createTestDatabase("hist_nokey_dst");
    await source.query("CREATE TABLE keyed (id int PRIMARY KEY, v int NOT NULL)");
    await source.query("CREATE TABLE t_nokey (a int, b text)");
    await source.query("ALTER TABLE t_nokey REPLICA IDENTITY FULL");
    await source.query("INSERT INTO keyed SELECT g, 0 FROM generate_series(1, 50) g");
    await source.query("INSERT INTO t_nokey SELECT g, 'x' FROM generate_series(1, 50) g");
    ({ file: config } = await writeConfig({
      name: "hist_nokey",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "replica", history: { tables: ["*"] } },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stderr + check.stdout).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("sets the keyless table aside and replicates the keyed one", async () => {
    // the run completes; --until-caught-up says with exit 1 that a table is set aside
    const first = await runCli(["run", config, "--until-caught-up"]);
    expect(first.stderr).toContain("1 table(s) set aside, their changes are not applied until a resync: public.t_nokey (resync-required)");
    expect(first.stderr).not.toContain("[internal]");
    expect(first.code, first.stderr).toBe(1);
    await source.query("UPDATE keyed SET v = 1 WHERE id <= 10");
    await source.query("INSERT INTO t_nokey VALUES (99, 'y')");
    const second = await runCli(["run", config, "--until-caught-up"]);
    expect(second.stderr).not.toContain("[internal]");
    expect(second.code, second.stderr).toBe(1);

    const current = (await target.query("SELECT id, v FROM replica.keyed WHERE _zeroetl_is_current ORDER BY id")).rows;
    expect(current).toEqual((await source.query("SELECT id, v FROM keyed ORDER BY id")).rows);
    const versions = (await target.query("SELECT count(*)::int AS n FROM replica.keyed")).rows[0] as { n: number };
    expect(versions.n).toBe(60);
    const state = (await target.query("SELECT table_name, state, last_error FROM replica._zeroetl_table_state ORDER BY table_name")).rows as {
      table_name: string;
      state: string;
      last_error: string | null;
    }[];
    expect(state.map((s) => [s.table_name, s.state])).toEqual([
      ["public.keyed", "synced"],
      ["public.t_nokey", "resync-required"],
    ]);
    expect(state[1]?.last_error).toMatch(/public\.t_nokey has no primary key and cannot be replicated in history mode/);
    const status = await runCli(["status", config]);
    expect(status.stdout).toMatch(/public\.t_nokey\s+resync-required/);
  });
});
