import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli as startCliUntracked, writeConfig, type CliResult } from "../../../test-support/cli.js";

/** Runs started by this file; a failed test must not leave one streaming (it would outlive the databases). */
const started: ReturnType<typeof startCliUntracked>[] = [];
function startCli(...args: Parameters<typeof startCliUntracked>): ReturnType<typeof startCliUntracked> {
  const child = startCliUntracked(...args);
  started.push(child);
  return child;
}
async function killStarted(): Promise<void> {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(started.map((child) => child.result));
}

// One writer per pipeline: two `zeroetl run` of one pipeline started at the
// same moment (one refuses, touching nothing), and `zeroetl resync` beside a
// streaming run (refuses before it touches the target).
describe("PostgreSQL -> PostgreSQL: one writer per pipeline", () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let config: string;

  beforeAll(async () => {
    source = await createTestDatabase("lock_src");
    target = await createTestDatabase("lock_dst");
    await source.query("CREATE TABLE keyed (id int PRIMARY KEY, v int NOT NULL)");
    await source.query("CREATE TABLE nokey (id int NOT NULL, v int NOT NULL)");
    await source.query("ALTER TABLE nokey REPLICA IDENTITY FULL");
    await source.query("INSERT INTO keyed SELECT g, 0 FROM generate_series(1, 20000) g");
    await source.query("INSERT INTO nokey SELECT g, 0 FROM generate_series(1, 20000) g");
    ({ file: config } = await writeConfig({
      name: "single",
      source: { type: "postgres", url: source.url },
      target: { type: "postgres", url: target.url, schema: "replica" },
      batch: { maxRows: 2000, maxWaitMs: 200 },
      log: { level: "warn" },
    }));
    const check = await runCli(["check", config, "--fix"]);
    expect(check.code, check.stderr + check.stdout).toBe(0);
  });

  afterAll(async () => {
    await killStarted();
    await source?.drop();
    await target?.drop();
  });

  async function expectEqual(): Promise<void> {
    for (const table of ["keyed", "nokey"]) {
      const want = (await source.query(`SELECT id, v, count(*)::int AS n FROM ${table} GROUP BY id, v ORDER BY id, v`)).rows;
      const got = (await target.query(`SELECT id, v, count(*)::int AS n FROM replica.${table} GROUP BY id, v ORDER BY id, v`)).rows;
      expect(got.length, table).toBe(want.length);
      expect(got, table).toEqual(want);
    }
  }

  async function stop(run: ReturnType<typeof startCli>): Promise<CliResult> {
    run.kill("SIGTERM");
    return run.result;
  }

  it("lets only one of two runs started at once write; the other refuses and the target equals the source", async () => {
    const a = startCli(["run", config]);
    const b = startCli(["run", config]);
    const first = await Promise.race([a.result.then(() => "a" as const), b.result.then(() => "b" as const)]);
    const [loser, winner] = first === "a" ? [a, b] : [b, a];
    const refused = await loser.result;
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/pipeline single is already running: its writer lock in target 127\.0\.0\.1:\d+\/zetl_lock_dst_\w+ is held by server process \d+.*\[pipeline-locked\]/);
    expect(winner.exitCode).toBeNull();

    // changes while the winner streams, to both tables
    for (let round = 0; round < 20; round++) {
      await source.query("UPDATE keyed SET v = v + 1 WHERE id % 20 = $1", [round]);
      await source.query("UPDATE nokey SET v = v + 1 WHERE id % 500 = $1", [round]);
      await source.query("DELETE FROM keyed WHERE id = $1", [1000 + round]);
      await source.query("INSERT INTO nokey VALUES ($1, 7)", [50_000 + round]);
    }
    const caughtUp = await runCli(["run", config, "--until-caught-up"]);
    // the winner still holds the lock: a third run refuses too
    expect(caughtUp.code, caughtUp.stderr).toBe(3);
    const done = await stop(winner);
    expect(done.code, done.stderr).toBe(0);
    const final = await runCli(["run", config, "--until-caught-up"]);
    expect(final.code, final.stderr).toBe(0);
    await expectEqual();
  }, 120_000);

  it("refuses a resync beside a streaming run and leaves the target untouched", async () => {
    const run = startCli(["run", config]);
    // wait until the run holds the lock and streams
    for (let i = 0; i < 100; i++) {
      const held = await target.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
      if ((held.rows[0] as { n: number }).n > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = (await target.query("SELECT 'replica.keyed'::regclass::oid::int AS oid, (SELECT count(*)::int FROM replica.keyed) AS n, (SELECT xmin::text FROM replica.keyed ORDER BY id LIMIT 1) AS x")).rows[0];
    const states = (await target.query("SELECT table_name, state, updated_at::text FROM replica._zeroetl_table_state ORDER BY table_name")).rows;
    const resync = await runCli(["resync", config, "public.keyed"]);
    expect(resync.code, resync.stderr).toBe(3);
    expect(resync.stderr).toMatch(/already running.*\[pipeline-locked\]/);
    const after = (await target.query("SELECT 'replica.keyed'::regclass::oid::int AS oid, (SELECT count(*)::int FROM replica.keyed) AS n, (SELECT xmin::text FROM replica.keyed ORDER BY id LIMIT 1) AS x")).rows[0];
    expect(after).toEqual(before);
    expect((await target.query("SELECT table_name, state, updated_at::text FROM replica._zeroetl_table_state ORDER BY table_name")).rows).toEqual(states);

    await source.query("UPDATE keyed SET v = v + 100 WHERE id <= 50");
    const done = await stop(run);
    expect(done.code, done.stderr).toBe(0);
    const resynced = await runCli(["resync", config, "public.keyed"]);
    expect(resynced.code, resynced.stderr).toBe(0);
    await expectEqual();
  });
});
