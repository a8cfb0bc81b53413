import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli as startCliUntracked, writeConfig } from "../../../test-support/cli.js";
import { startThrowawayPostgres, type ThrowawayPostgres } from "../../../test-support/throwaway-postgres.js";

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

// Outages ridden out by a running `zeroetl run`: the target is down for 20 s,
// then the source restarts, both under a write load. The run stays up, says
// it is retrying, resumes by itself and the target ends equal to the source.
// A throwaway server of this file plays the target in the first test and the
// source in the second; the shared test server plays the other side.
const RETRY = { maxElapsedMs: 60_000, baseDelayMs: 100, maxDelayMs: 1_000 };

/** Inserts and updates in small transactions until stopped; reconnects when the server goes away. */
function startWriter(url: string) {
  let writing = true;
  let next = 100_000;
  let done = 0;
  const loop = (async () => {
    let client: pg.Client | undefined;
    while (writing) {
      try {
        if (client === undefined) {
          client = new pg.Client({ connectionString: url });
          client.on("error", () => {});
          await client.connect();
        }
        await client.query("BEGIN");
        await client.query("INSERT INTO items VALUES ($1, 0)", [next]);
        await client.query("UPDATE items SET v = v + 1 WHERE id = $1", [1 + (next % 500)]);
        await client.query("COMMIT");
        next += 1;
        done += 1;
      } catch {
        await client?.end().catch(() => {});
        client = undefined;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await client?.end().catch(() => {});
  })();
  return {
    async stop(): Promise<number> {
      writing = false;
      await loop;
      return done;
    },
  };
}

/** Waits until the run has finished its snapshot and streams (its checkpoint in the target says so). */
async function waitStreaming(targetUrl: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const client = new pg.Client({ connectionString: targetUrl });
    await client.connect();
    try {
      const phase = await client.query("SELECT checkpoint->>'phase' AS phase FROM replica._zeroetl_checkpoints").catch(() => ({ rows: [] }));
      if ((phase.rows[0] as { phase?: string } | undefined)?.phase === "streaming") return;
    } finally {
      await client.end();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the run did not start streaming");
}

async function rowsOf(url: string, table: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(`SELECT id, v FROM ${table} ORDER BY id`)).rows;
  } finally {
    await client.end();
  }
}

/** Waits until the target holds what the source holds (the run streams on its own). */
async function waitEqual(sourceUrl: string, targetUrl: string): Promise<void> {
  let want: unknown[] = [];
  let got: unknown[] = [];
  for (let i = 0; i < 150; i++) {
    want = await rowsOf(sourceUrl, "items");
    got = await rowsOf(targetUrl, "replica.items").catch(() => []);
    if (JSON.stringify(want) === JSON.stringify(got)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(got).toEqual(want);
}

describe("PostgreSQL -> PostgreSQL: outages of either side under a write load", () => {
  let server: ThrowawayPostgres;
  let shared: TestDatabase;

  beforeAll(async () => {
    server = await startThrowawayPostgres("outage");
    shared = await createTestDatabase("outage");
  });

  afterAll(async () => {
    await killStarted();
    await shared?.drop();
    await server?.destroy();
  });

  it("rides out a target outage of 20 s", async () => {
    await shared.query("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)");
    await shared.query("INSERT INTO items SELECT g, 0 FROM generate_series(1, 500) g");
    const { file } = await writeConfig({
      name: "target_outage",
      source: { type: "postgres", url: shared.url },
      target: { type: "postgres", url: server.url, schema: "replica" },
      batch: { maxRows: 500, maxWaitMs: 100 },
      retry: RETRY,
      log: { level: "warn" },
    });
    expect((await runCli(["check", file, "--fix"])).code).toBe(0);
    const run = startCli(["run", file]);
    const writer = startWriter(shared.url);
    await waitStreaming(server.url);
    await server.stop();
    await new Promise((r) => setTimeout(r, 15_000));
    // status says so while the target is down (it cannot read the target's checkpoint meanwhile)
    const status = await runCli(["status", file]);
    expect(status.stdout).toMatch(/^run: process \d+ started \S+, retrying since \S+ \(target: [a-z ]+, attempt \d+\): cannot connect to postgresql target 127\.0\.0\.1:\d+\/postgres/m);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(run.exitCode, "the run must not end while the target is down").toBeNull();
    await server.start();
    await new Promise((r) => setTimeout(r, 1_000));
    const writes = await writer.stop();
    expect(writes).toBeGreaterThan(100);
    await waitEqual(shared.url, server.url);
    expect(run.exitCode).toBeNull();
    run.kill("SIGTERM");
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/"side":"target".*"msg":"[a-z ]+ failed, retrying"|"msg":"[a-z ]+ failed, retrying".*"side":"target"/);
    expect(result.stderr).toMatch(/succeeded again/);
  });

  it("rides out a restart of the PostgreSQL source", async () => {
    // a database of its own: the server's `postgres` database holds the first test's target tables
    const root = new pg.Client({ connectionString: server.url });
    await root.connect();
    await root.query("CREATE DATABASE src");
    await root.end();
    const sourceUrl = server.url.replace(/\/postgres$/, "/src");
    const admin = new pg.Client({ connectionString: sourceUrl });
    await admin.connect();
    await admin.query("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)");
    await admin.query("INSERT INTO items SELECT g, 0 FROM generate_series(1, 500) g");
    await admin.end();
    const { file } = await writeConfig({
      name: "source_restart",
      source: { type: "postgres", url: sourceUrl },
      target: { type: "postgres", url: shared.url, schema: "replica" },
      batch: { maxRows: 500, maxWaitMs: 100 },
      retry: RETRY,
      log: { level: "warn" },
    });
    expect((await runCli(["check", file, "--fix"])).code).toBe(0);
    const run = startCli(["run", file]);
    const writer = startWriter(sourceUrl);
    await waitStreaming(shared.url);
    await server.stop();
    await new Promise((r) => setTimeout(r, 3_000));
    if (run.exitCode !== null) expect.fail(`the run ended while the source was down:\n${(await run.result).stderr}`);
    await server.start();
    await new Promise((r) => setTimeout(r, 2_000));
    const writes = await writer.stop();
    expect(writes).toBeGreaterThan(100);
    await waitEqual(sourceUrl, shared.url).catch(async (error: unknown) => {
      run.kill("SIGTERM");
      expect.fail(`${String(error)}\n${(await run.result).stderr}`);
    });
    expect(run.exitCode).toBeNull();
    run.kill("SIGTERM");
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/source stream failed, reconnecting from the last checkpoint/);
    expect(result.stderr).toMatch(/source stream resumed/);
    expect(result.stderr).toMatch(/lost the connection to postgres source at 127\.0\.0\.1:\d+\/src|cannot connect to postgres source at 127\.0\.0\.1:\d+\/src/);
  });

  it("rides out a restart of the PostgreSQL source during the initial snapshot", async () => {
    const root = new pg.Client({ connectionString: server.url });
    await root.connect();
    await root.query("CREATE DATABASE big");
    await root.end();
    const sourceUrl = server.url.replace(/\/postgres$/, "/big");
    const admin = new pg.Client({ connectionString: sourceUrl });
    await admin.connect();
    await admin.query("CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, pad text)");
    await admin.query("INSERT INTO items SELECT g, 0, repeat('p', 200) FROM generate_series(1, 200000) g");
    await admin.end();
    const { file } = await writeConfig({
      name: "snapshot_restart",
      source: { type: "postgres", url: sourceUrl, snapshotChunkRows: 1_000 },
      target: { type: "postgres", url: shared.url, schema: "replica_big" },
      batch: { maxRows: 1_000, maxWaitMs: 100 },
      retry: RETRY,
      log: { level: "warn" },
    });
    const run = startCli(["run", file]);
    // some of the snapshot is in the target, not all of it
    let phase: string | undefined;
    for (let i = 0; i < 600; i++) {
      const row = (await shared.query("SELECT checkpoint->>'phase' AS phase FROM replica_big._zeroetl_checkpoints").catch(() => ({ rows: [] }))).rows[0] as { phase?: string } | undefined;
      phase = row?.phase;
      if (phase !== undefined) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(phase, "the restart must land inside the snapshot").toBe("snapshot");
    await server.stop();
    await new Promise((r) => setTimeout(r, 2_000));
    if (run.exitCode !== null) expect.fail(`the run ended while the source was down:\n${(await run.result).stderr}`);
    await server.start();
    const writer = startWriter(sourceUrl);
    await new Promise((r) => setTimeout(r, 1_000));
    await writer.stop();
    let want: unknown[] = [];
    let got: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      want = await rowsOf(sourceUrl, "items");
      got = await rowsOf(shared.url, "replica_big.items").catch(() => []);
      if (want.length === got.length && JSON.stringify(want) === JSON.stringify(got)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    run.kill("SIGTERM");
    const result = await run.result;
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/source failed during the snapshot, starting the snapshot again/);
  }, 120_000);
});
