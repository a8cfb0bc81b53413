import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mysql from "mysql2/promise";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { runCli, startCli as startCliUntracked, writeConfig } from "../../../test-support/cli.js";
import { startThrowawayMariadb, type ThrowawayMariadb } from "../../../test-support/throwaway-mariadb.js";

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

// A MariaDB source shut down and started again under a running `zeroetl run`:
// the run must neither end (it used to exit 0, as if the stream had been
// finished) nor lose changes; it reconnects from its last checkpoint.
describe("MariaDB -> PostgreSQL: the source shuts down and comes back", () => {
  let server: ThrowawayMariadb;
  let target: TestDatabase;
  let url: string;

  beforeAll(async () => {
    server = await startThrowawayMariadb("my-outage");
    target = await createTestDatabase("my_outage");
    const conn = await mysql.createConnection({ uri: server.url });
    await conn.query("CREATE DATABASE shop");
    await conn.query("CREATE TABLE shop.items (id INT PRIMARY KEY, v INT NOT NULL)");
    await conn.query("INSERT INTO shop.items SELECT seq, 0 FROM shop.seq_1_to_300");
    await conn.end();
    url = `${server.url}shop`;
  });

  afterAll(async () => {
    await killStarted();
    await target?.drop();
    await server?.destroy();
  });

  async function sourceRows(): Promise<unknown[]> {
    const conn = await mysql.createConnection({ uri: url });
    try {
      const [rows] = await conn.query("SELECT id, v FROM items ORDER BY id");
      return rows as unknown[];
    } finally {
      await conn.end();
    }
  }

  async function write(from: number, count: number): Promise<void> {
    const conn = await mysql.createConnection({ uri: url });
    try {
      for (let i = from; i < from + count; i++) {
        await conn.query("INSERT INTO items VALUES (?, 0)", [i]);
        await conn.query("UPDATE items SET v = v + 1 WHERE id = ?", [1 + (i % 300)]);
      }
    } finally {
      await conn.end();
    }
  }

  it("keeps running through a shutdown, reconnects and ends equal", async () => {
    const { file } = await writeConfig({
      name: "mariadb_outage",
      source: { type: "mysql", url },
      target: { type: "postgres", url: target.url, schema: "replica" },
      batch: { maxRows: 200, maxWaitMs: 100 },
      retry: { maxElapsedMs: 60_000, baseDelayMs: 100, maxDelayMs: 1_000 },
      log: { level: "warn" },
    });
    const run = startCli(["run", file]);
    // the snapshot is done and the run streams
    for (let i = 0; i < 300; i++) {
      const phase = await target.query("SELECT checkpoint->>'phase' AS phase FROM replica._zeroetl_checkpoints").catch(() => ({ rows: [] }));
      if ((phase.rows[0] as { phase?: string } | undefined)?.phase === "streaming") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await write(1_000, 100);
    await server.stop();
    await new Promise((r) => setTimeout(r, 3_000));
    if (run.exitCode !== null) expect.fail(`the run ended while the source was down (exit ${run.exitCode}):\n${(await run.result).stderr}`);
    await server.start();
    await write(2_000, 100);

    let want: unknown[] = [];
    let got: unknown[] = [];
    for (let i = 0; i < 150; i++) {
      want = await sourceRows();
      got = (await target.query("SELECT id, v FROM replica.items ORDER BY id").catch(() => ({ rows: [] }))).rows;
      if (JSON.stringify(want) === JSON.stringify(got)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(run.exitCode).toBeNull();
    run.kill("SIGTERM");
    const result = await run.result;
    expect(got).toEqual(want);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /"error":"mysql source 127\.0\.0\.1:\d+\/shop: the server ended the binlog stream \(shutdown or restart\)","msg":"source stream failed, reconnecting from the last checkpoint"/,
    );
    expect(result.stderr).toMatch(/source stream resumed/);
  });
});
