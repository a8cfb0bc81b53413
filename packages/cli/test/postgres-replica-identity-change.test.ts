import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, writeConfig } from "../../../test-support/cli.js";

// Found by the fidelity fuzzer (pg.replica-identity-change, seed 603): a
// replicated table whose replica identity changes (`USING INDEX` on a unique
// index, then back to `DEFAULT`) is identified by other columns from then on.
// The target keyed by the old columns cannot be re-keyed in place: the run
// exited 1 with `primary key (uid) differs from the target's (id); the
// target's is kept` and the table was set aside. Now the change re-reads the
// table under its new key. Both sides are read with plain SQL.
describe("zeroetl with a PostgreSQL source: a replica identity changed mid-stream", () => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase("ridchg_src");
    target = await createTestDatabase("ridchg_dst");
    await source.query(`
      CREATE TABLE t (id int PRIMARY KEY, uid int NOT NULL, v text);
      CREATE UNIQUE INDEX t_uid ON t (uid);
      INSERT INTO t SELECT g, 1000 + g, 'v' || g FROM generate_series(1, 20) g;`);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const rows = async (db: TestDatabase, sql: string) => (await db.query(sql)).rows;
  const targetKey = async () =>
    (
      await target.query<{ c: string }>(
        `SELECT a.attname::text AS c FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
          WHERE i.indrelid = 'dw.t'::regclass AND i.indisprimary ORDER BY a.attnum`,
      )
    ).rows.map((r) => r.c);

  it("re-reads the table under its new key, in one run and across restarts", async () => {
    const { file, dir } = await writeConfig({
      name: "ridchg",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
      filter: { include: ["public.t"] },
    });
    const first = await runCli(["run", file, "--until-caught-up"]);
    expect(first.code, first.stderr).toBe(0);
    expect(await targetKey()).toEqual(["id"]);

    // while stopped: identity by the unique index, then changes keyed by it
    await source.query(`
      ALTER TABLE t REPLICA IDENTITY USING INDEX t_uid;
      UPDATE t SET uid = uid + 100 WHERE id <= 5;
      UPDATE t SET v = 'changed' WHERE id BETWEEN 6 AND 10;
      DELETE FROM t WHERE id = 11;
      INSERT INTO t VALUES (21, 2021, 'new');`);
    const second = await runCli(["run", file, "--until-caught-up"]);
    expect(second.code, second.stderr).toBe(0);
    expect(await targetKey()).toEqual(["uid"]);
    const all = "SELECT id, uid, v FROM %s ORDER BY id";
    expect(await rows(target, all.replace("%s", "dw.t"))).toEqual(await rows(source, all.replace("%s", "public.t")));

    // back to the primary key, with a key change by it
    await source.query(`
      ALTER TABLE t REPLICA IDENTITY DEFAULT;
      UPDATE t SET id = id + 100 WHERE id <= 3;
      DELETE FROM t WHERE id = 12;`);
    const third = await runCli(["run", file, "--until-caught-up"]);
    expect(third.code, third.stderr).toBe(0);
    expect(await targetKey()).toEqual(["id"]);
    expect(await rows(target, all.replace("%s", "dw.t"))).toEqual(await rows(source, all.replace("%s", "public.t")));
    const deadLetters = await readFile(join(dir, "state", "ridchg.dead-letters.jsonl"), "utf8").catch(() => "");
    expect(deadLetters).toBe("");
  }, 300_000);
});
