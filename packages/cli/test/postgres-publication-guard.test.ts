import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

// A published table that loses its replica identity while `run` streams
// (its primary key dropped) would make every UPDATE of the application fail
// for as long as it stays published: the running pipeline takes it out of
// the publication, stops calling it synced, and brings it back once fixed.
describe("zeroetl while streaming from PostgreSQL: a table losing its replica identity", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("guard_src");
    target = await createTestDatabase("guard_dst");
    await source.query(`
      CREATE TABLE t (id int PRIMARY KEY, v text);
      CREATE TABLE g (id int CONSTRAINT g_pkey PRIMARY KEY, v text);
      INSERT INTO t VALUES (1, 'one');
      INSERT INTO g VALUES (1, 'one'), (2, 'two');`);
    ({ file: config } = await writeConfig({
      name: "guard",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "dw" },
    }));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  const until = async (what: string, probe: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 300; i++) {
      if (await probe()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`gave up waiting: ${what}`);
  };

  it("takes the table out of the publication so the application's updates work again, and resumes it after the fix", async () => {
    const snapshot = await runCli(["run", config, "--until-caught-up"]);
    expect(snapshot.code, snapshot.stderr).toBe(0);
    const run = startCli(["run", config]);
    try {
      await source.query(`INSERT INTO g VALUES (3, 'three')`);
      await until("row 3 in the target", async () => (await target.query(`SELECT count(*)::int AS n FROM dw.g WHERE id = 3`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0]?.n === 1);
      await source.query(`ALTER TABLE g DROP CONSTRAINT g_pkey`);
      await expect(source.query(`UPDATE g SET v = 'blocked' WHERE id = 1`)).rejects.toThrow(/does not have a replica identity/);
      await until("the application's update to succeed", async () =>
        source.query(`UPDATE g SET v = 'works' WHERE id = 1`).then(
          () => true,
          () => false,
        ),
      );
      await source.query(`INSERT INTO t VALUES (2, 'two')`);
      await until("t to keep streaming", async () => (await target.query(`SELECT count(*)::int AS n FROM dw.t`)).rows[0]?.n === 2);
    } finally {
      run.kill("SIGTERM");
    }
    const stopped = await run.result;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toMatch(/taken out of the publication.*public\.g/);
    const status = await runCli(["status", config]);
    expect(status.stdout).toMatch(/public\.g\s+dropped-at-source/);
    expect(status.stdout).toMatch(/postgres\.replica_identity.*public\.g/);

    const fixed = await runCli(["check", config, "--fix"]);
    expect(fixed.code, fixed.stdout).toBe(0);
    const again = await runCli(["run", config, "--until-caught-up"]);
    expect(again.code, again.stderr).toBe(0);
    const expected = (await source.query(`SELECT id, v FROM g ORDER BY id`)).rows;
    expect((await target.query(`SELECT id, v FROM dw.g ORDER BY id`)).rows).toEqual(expected);
    expect(expected).toContainEqual({ id: 1, v: "works" });
  }, 120_000);

  it("a table that lost its replica identity while the pipeline was stopped leaves the publication when the stream starts", async () => {
    await source.query(`ALTER TABLE g REPLICA IDENTITY NOTHING`);
    await expect(source.query(`UPDATE g SET v = 'blocked' WHERE id = 2`)).rejects.toThrow(/does not have a replica identity/);
    const run = await runCli(["run", config, "--until-caught-up"]);
    expect(run.code, run.stderr).toBe(0);
    await source.query(`UPDATE g SET v = 'works again' WHERE id = 2`);
    const status = await runCli(["status", config]);
    expect(status.stdout).not.toMatch(/public\.g\s+synced/);
    expect(status.stdout).toMatch(/postgres\.replica_identity.*public\.g/);
  });
});
