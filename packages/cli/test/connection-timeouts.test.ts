import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test-support/postgres.js";
import { createTestMysqlDatabase, type TestMysqlDatabase } from "../../../test-support/mysql.js";
import { runCli, startCli as startCliUntracked, writeConfig } from "../../../test-support/cli.js";

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

// A host that accepts TCP connections and then never says a word: each side
// must give up after `timeouts.connectMs` with an error naming the side and
// the host, instead of hanging for minutes.
describe("connect timeouts against a silent TCP listener", () => {
  let silent: Server;
  let port: number;
  const sockets = new Set<Socket>();
  let pgDb: TestDatabase;
  let myDb: TestMysqlDatabase;

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
    const address = silent.address();
    port = typeof address === "object" && address !== null ? address.port : 0;
    pgDb = await createTestDatabase("silent");
    myDb = await createTestMysqlDatabase("silent");
    await pgDb.query("CREATE TABLE items (id int PRIMARY KEY)");
  });

  afterAll(async () => {
    await killStarted();
    for (const socket of sockets) socket.destroy();
    await new Promise((done) => silent.close(done));
    await pgDb?.drop();
    await myDb?.drop();
  });

  const common = { timeouts: { connectMs: 1_000 }, retry: { maxElapsedMs: 0 } };

  it("names the PostgreSQL target that does not answer", async () => {
    const { file } = await writeConfig({
      name: "silent_target",
      source: { type: "postgres", url: pgDb.url },
      target: { type: "postgres", url: `postgres://u:topsecret@127.0.0.1:${port}/dw` },
      ...common,
    });
    const result = await runCli(["run", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot connect to postgresql target 127.0.0.1:${port}/dw: no answer within 1000 ms (timeouts.connectMs) [connection-failed]`);
    expect(result.stderr).not.toContain("topsecret");
  });

  it("names the PostgreSQL source that does not answer", async () => {
    const { file } = await writeConfig({
      name: "silent_pg_source",
      source: { type: "postgres", url: `postgres://u:topsecret@127.0.0.1:${port}/app` },
      target: { type: "postgres", url: pgDb.url, schema: "replica" },
      ...common,
    });
    const result = await runCli(["run", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot connect to postgres source at 127.0.0.1:${port}/app: no answer within 1000 ms (timeouts.connectMs) [connection-failed]`);
    expect(result.stderr).not.toContain("topsecret");
  });

  it("names the MySQL source that does not answer", async () => {
    const { file } = await writeConfig({
      name: "silent_my_source",
      source: { type: "mysql", url: `mysql://u:topsecret@127.0.0.1:${port}/app` },
      target: { type: "postgres", url: pgDb.url, schema: "replica_my" },
      ...common,
    });
    const result = await runCli(["run", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot connect to mysql source at 127.0.0.1:${port}/app: no answer in time (timeouts.connectMs) [connection-failed]`);
    expect(result.stderr).not.toContain("topsecret");
  });

  it("gives up on a replication stream that went silent and reconnects when the network is back", async () => {
    // a TCP proxy to the source that can freeze: connections stay open, nothing passes either way
    const upstream = new URL(pgDb.url);
    let frozen = false;
    const pairs = new Set<[Socket, Socket]>();
    const proxy = createServer((client) => {
      const server = connect(Number(upstream.port), upstream.hostname);
      const pair: [Socket, Socket] = [client, server];
      pairs.add(pair);
      client.on("error", () => {});
      server.on("error", () => {});
      client.on("close", () => server.destroy());
      server.on("close", () => client.destroy());
      client.on("data", (d: Buffer) => {
        if (!frozen) server.write(d);
      });
      server.on("data", (d: Buffer) => {
        if (!frozen) client.write(d);
      });
    });
    await new Promise<void>((done) => proxy.listen(0, "127.0.0.1", done));
    const address = proxy.address();
    const proxyPort = typeof address === "object" && address !== null ? address.port : 0;
    const sourceUrl = `postgres://postgres@127.0.0.1:${proxyPort}${upstream.pathname}`;
    try {
      const { file } = await writeConfig({
        name: "silent_stream",
        source: { type: "postgres", url: sourceUrl },
        target: { type: "postgres", url: pgDb.url, schema: "replica_stream" },
        timeouts: { connectMs: 1_000, keepaliveMs: 1_500 },
        retry: { maxElapsedMs: 60_000, baseDelayMs: 100, maxDelayMs: 500 },
        filter: { include: ["public.items"] },
        batch: { maxWaitMs: 100 },
      });
      expect((await runCli(["check", file, "--fix"])).code).toBe(0);
      const run = startCli(["run", file]);
      // streaming: the snapshot made the target table and the slot is in use by the run's replication connection
      // (the slot is also active while the snapshot is being exported, so the table is waited for too)
      for (let i = 0; i < 300; i++) {
        const state = await pgDb.query(
          "SELECT to_regclass('replica_stream.items') IS NOT NULL AS ready, (SELECT active FROM pg_replication_slots WHERE slot_name = 'zeroetl_silent_stream') AS active",
        );
        const row = state.rows[0] as { ready?: boolean; active?: boolean } | undefined;
        if (row?.ready === true && row.active === true) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      frozen = true;
      await pgDb.query("INSERT INTO items SELECT g FROM generate_series(1, 10) g");
      // well past keepaliveMs, so a busy machine still sees the stream go silent first
      await new Promise((r) => setTimeout(r, 6_000));
      // the network is back: the frozen connections die (as the server's wal_sender_timeout would end them)
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      frozen = false;
      let count = 0;
      for (let i = 0; i < 150 && count < 10; i++) {
        count = ((await pgDb.query("SELECT count(*)::int AS n FROM replica_stream.items")).rows[0] as { n: number }).n;
        await new Promise((r) => setTimeout(r, 200));
      }
      run.kill("SIGTERM");
      const result = await run.result;
      expect(count).toBe(10);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`postgres source 127.0.0.1:${proxyPort}${upstream.pathname}: nothing received on the replication connection for`);
      expect(result.stderr).toMatch(/source stream resumed/);
    } finally {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise((done) => proxy.close(done));
    }
  });

  it("rejects an invalid timeout naming the field", async () => {
    const { file } = await writeConfig({
      name: "bad_timeouts",
      source: { type: "postgres", url: pgDb.url },
      target: { type: "postgres", url: pgDb.url, schema: "replica" },
      timeouts: { connectMs: -1 },
    });
    const result = await runCli(["run", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/timeouts\.connectMs: expected/);
  });
});
