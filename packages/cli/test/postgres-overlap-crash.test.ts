import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli, writeConfig } from "../../../test-support/cli.js";

// The overlapped loop (the next batch is read while the previous one's write
// and commit are in flight) and the staged apply (COPY into a temporary
// table) under SIGKILL: the pipeline is killed as soon as rows of the run
// are visible at the target, while a writer keeps committing transactions
// large enough to be staged; after the restarts the target equals the source.
describe("PostgreSQL -> PostgreSQL, overlapped and staged, killed once its rows land", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("ovl_src");
    target = await createTestDatabase("ovl_dst");
    await source.query(`CREATE TABLE items (id int PRIMARY KEY, body text NOT NULL, qty int NOT NULL)`);
    await source.query(`ALTER TABLE items ALTER COLUMN body SET STORAGE EXTERNAL`);
    await source.query(`INSERT INTO items SELECT g, repeat('b', 3000) || g, 0 FROM generate_series(1, 2000) g`);
    ({ file: config } = await writeConfig({
      name: "ovl",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "replica" },
      batch: { maxRows: 1500 },
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
    let next = 100_000;
    let round = 0;
    const writer = (async () => {
      while (writing) {
        round += 1;
        const from = next;
        next += 600;
        // 600 inserts, 600 updates that leave the TOASTed body unchanged, and deletes of some of them
        await source.query(
          `WITH i AS (INSERT INTO items SELECT g, 'new ' || g, 1 FROM generate_series($1::int, $1::int + 599) g),
                u AS (UPDATE items SET qty = qty + 1 WHERE id BETWEEN 1 AND 600 + ($2::int % 3) * 600)
           DELETE FROM items WHERE id BETWEEN $1::int - 600 AND $1::int - 500`,
          [from, round],
        );
      }
    })();
    const landed = async () => Number((await target.query(`SELECT count(*)::int AS n FROM replica.items`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0]?.n ?? 0);
    for (let kill = 0; kill < 3; kill++) {
      const before = await landed();
      const runner = startCli(["run", config]);
      // kill as soon as this run made something durable (or it ended on its own, which the expectation below reports)
      for (let waited = 0; waited < 600 && runner.exitCode === null && (await landed()) === before; waited++) await new Promise((r) => setTimeout(r, 100));
      runner.kill("SIGKILL");
      const result = await runner.result;
      expect(result.signal, result.stderr).toBe("SIGKILL");
    }
    writing = false;
    await writer;
    expect(round).toBeGreaterThan(0);
    const final = await runCli(["run", config, "--until-caught-up"]);
    expect(final.code, final.stderr).toBe(0);

    const rows = async (db: TestDatabase, table: string) => (await db.query(`SELECT id, md5(body) AS body, qty FROM ${table} ORDER BY id`)).rows;
    const expected = await rows(source, "items");
    expect(expected.length).toBeGreaterThan(2000);
    expect(await rows(target, "replica.items")).toEqual(expected);
  });
});
