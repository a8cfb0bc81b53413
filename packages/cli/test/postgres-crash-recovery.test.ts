import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

// A PostgreSQL -> PostgreSQL pipeline is killed with SIGKILL at random points
// while a writer keeps changing the source; after each kill it is restarted.
// In the end the target must equal the source: nothing lost, nothing doubled.
describe("PostgreSQL -> PostgreSQL through the CLI, killed with SIGKILL and restarted", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("crash_src");
    target = await createTestDatabase("crash_dst");
    await source.query(`CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(20,2) NOT NULL, version int NOT NULL)`);
    await source.query(`INSERT INTO accounts SELECT g, 'owner ' || g, g * 10, 0 FROM generate_series(1, 5000) g`);
    ({ file: config } = await writeConfig({
      name: "crash",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "replica" },
      batch: { maxRows: 500, maxWaitMs: 200 },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stderr + check.stdout).toBe(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it("ends with the target equal to the source", async () => {
    let writing = true;
    let nextId = 100_000;
    const writer = (async () => {
      let round = 0;
      while (writing) {
        round += 1;
        // one transaction: an insert, an update of a random account, and a delete every few rounds
        await source.query(
          `WITH i AS (INSERT INTO accounts VALUES ($1::int, 'new ' || $1::int, 1, 0)),
                u AS (UPDATE accounts SET balance = balance + 1, version = version + 1 WHERE id = $2::int)
           DELETE FROM accounts WHERE id = $3::int AND $4::bool`,
          [nextId++, 1 + (round * 7919) % 5000, 1 + (round * 104729) % 5000, round % 5 === 0],
        );
      }
    })();

    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const landedRows = async (): Promise<number> =>
      (await target.query(`SELECT count(*)::int AS n FROM replica.accounts`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0]?.n ?? 0;
    for (let kill = 0; kill < 4; kill++) {
      const before = await landedRows();
      const runner = startCli(["run", config]);
      // each run is killed after it has landed something (so at a point inside its work, however slow the
      // machine is), at a random moment up to 2.5 s later
      for (const deadline = Date.now() + 60_000; (await landedRows()) <= before && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, random() * 2500));
      runner.kill("SIGKILL");
      const result = await runner.result;
      expect(result.signal, result.stderr).toBe("SIGKILL");
    }
    writing = false;
    await writer;
    // the killed runs did make progress, so the kills landed mid-work
    const landed = await target.query(`SELECT count(*)::int AS n FROM replica.accounts`).catch(() => ({ rows: [{ n: 0 }] }));
    expect(landed.rows[0]?.n).toBeGreaterThan(0);
    const final = await runCli(["run", config, "--until-caught-up"]);
    expect(final.code, final.stderr).toBe(0);

    const rows = async (db: TestDatabase, table: string) =>
      (await db.query(`SELECT id, owner, balance::text AS balance, version FROM ${table} ORDER BY id`)).rows;
    const expected = await rows(source, "accounts");
    const actual = await rows(target, "replica.accounts");
    expect(actual.length).toBe(expected.length);
    expect(actual).toEqual(expected);
    const state = await target.query(`SELECT state FROM replica._zeroetl_table_state WHERE pipeline = 'crash'`);
    expect(state.rows.map((r) => r.state)).toEqual(["synced"]);
  });
});
